"""Column headers: the names HIS exports use (Chinese or English) mapped to our fields, plus a
hospital's own mapping for exports that name things their own way."""
import re
import unicodedata

from .errors import N_, FileError

# field → the header texts that mean it (compared after normalise_header).
FIELD_ALIASES = {
    "inpatient_no": ["住院号", "住院号码", "住院流水号", "病案号", "inpatient_no", "inpatient number", "visit number", "mrn"],
    "name": ["姓名", "患者姓名", "病人姓名", "name", "patient name"],
    "sex": ["性别", "sex", "gender"],
    "birth_date": ["出生日期", "出生年月日", "birth_date", "date of birth", "dob", "birthdate"],
    "id_type": ["证件类型", "id_type", "id document type"],
    "id_number": ["身份证号", "身份证号码", "证件号码", "证件号", "id_number", "id number", "resident id"],
    "phone": ["联系电话", "电话", "手机", "手机号", "手机号码", "联系方式", "联系人电话", "phone", "telephone", "mobile"],
    "admission_date": ["入院日期", "入院时间", "admission_date", "admission date", "admitted"],
    "discharge_at": ["出院日期", "出院时间", "discharge_date", "discharge date", "discharge_at", "discharged"],
    "ward": ["出院科室", "科室", "出院病区", "病区", "ward", "department", "discharge ward"],
    "diagnosis_code": ["出院诊断编码", "主要诊断编码", "诊断编码", "icd10", "icd-10", "diagnosis_code", "diagnosis code"],
    "diagnosis_name": ["出院诊断", "主要诊断", "诊断", "diagnosis", "diagnosis_name"],
    "disposition": ["离院方式", "disposition", "discharge disposition"],
    "attending_doctor": ["主治医师", "主治医生", "attending_doctor", "attending doctor", "physician"],
    "medicines": ["出院带药", "medicines", "discharge medication", "medication"],
    "rehab_instructions": ["康复指导", "出院医嘱", "rehab_instructions", "rehabilitation", "instructions"],
}
FIELDS = tuple(FIELD_ALIASES)
REQUIRED_COLUMNS = ("inpatient_no", "name", "discharge_at", "ward", "phone", "disposition")
# Several columns may hold phone numbers (patient, relative); their numbers are pooled.
MULTI_COLUMN_FIELDS = {"phone"}

_SPACES = re.compile(r"[\s_]+")


def normalise_header(text: str) -> str:
    """Full-width forms, spaces (姓　名), underscores, BOMs, '*required' marks and case do not matter."""
    text = unicodedata.normalize("NFKC", str(text or "")).replace("\ufeff", "").strip().strip("*")
    return _SPACES.sub("", text).lower()


_LOOKUP = {normalise_header(alias): field for field, aliases in FIELD_ALIASES.items() for alias in aliases}


class ColumnMap:
    """Which source columns feed which field, for one file."""

    def __init__(self, headers: list[str], custom: dict[str, str] | None = None):
        lookup = dict(_LOOKUP)
        for source, field in (custom or {}).items():
            if field not in FIELD_ALIASES:
                raise ValueError(f"unknown field {field!r} in the column mapping")
            lookup[normalise_header(source)] = field
        self.headers = [str(h or "").strip() for h in headers]
        self.columns: dict[str, list[int]] = {}
        seen: dict[str, int] = {}
        for i, header in enumerate(self.headers):
            key = normalise_header(header)
            if not key:
                continue
            if key in seen:
                raise FileError(N_("column “%(header)s” appears twice (columns %(first)d and %(second)d)"),
                                header=header, first=seen[key] + 1, second=i + 1)
            seen[key] = i
            field = lookup.get(key)
            if field is None:
                continue  # an extra column: kept in the original row, otherwise ignored
            if field in self.columns and field not in MULTI_COLUMN_FIELDS:
                first = self.headers[self.columns[field][0]]
                raise FileError(N_("columns “%(first)s” and “%(second)s” both mean %(field)s"), first=first, second=header,
                                field=FIELD_ALIASES[field][0])
            self.columns.setdefault(field, []).append(i)
        missing = [f for f in REQUIRED_COLUMNS if f not in self.columns]
        if missing:
            raise FileError(N_("missing required columns: %(columns)s"),
                            columns="、".join(FIELD_ALIASES[f][0] for f in missing))

    def extract(self, values: list) -> tuple[dict, list[tuple[str, str]]]:
        """One row's values → ({field: raw value}, [(field, reason)] for cells unusable as typed)."""
        record, problems = {}, []
        if len(values) != len(self.headers):
            problems.append(("_row", f"expected {len(self.headers)} columns, found {len(values)}"))
        for field, idx in self.columns.items():
            cells = [values[i] if i < len(values) else None for i in idx]
            if field in ("phone", "id_number") and any(isinstance(c, (int, float)) and not isinstance(c, bool)
                                                      for c in cells):
                problems.append((field, N_("stored as an Excel number, which loses digits; format the column as text")))
                continue
            if field == "phone":
                record[field] = ",".join(str(c).strip() for c in cells if c not in (None, ""))
            else:
                record[field] = _cell_text(cells[0])
        return record, problems

    def extract_text(self, values: list[str]) -> tuple[dict, list[tuple[str, str]]]:
        """`extract` for a CSV row (every cell text, as many cells as headers): same result, a
        third of the time, which matters at a million rows."""
        if len(values) != len(self.headers):
            return self.extract(values)
        record = {}
        for field, idx in self.columns.items():
            if field == "phone":
                record[field] = ",".join(values[i].strip() for i in idx if values[i] != "")
                continue
            text = values[idx[0]].strip()
            if text.startswith('="') and text.endswith('"'):
                text = text[2:-1].strip()
            record[field] = text
        return record, []

    def original(self, values: list) -> dict:
        """The row as the file had it, header → text (for the rejected-rows download)."""
        out = {}
        for i, value in enumerate(values):
            header = self.headers[i] if i < len(self.headers) and self.headers[i] else f"column {i + 1}"
            text = _cell_text(value)
            out[header] = text.isoformat(sep=" ") if hasattr(text, "isoformat") else text
        return out


def _cell_text(value):
    """Dates from Excel stay dates (the row schema reads them); integers lose no '.0'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    if hasattr(value, "isoformat"):
        return value
    text = str(value).strip()
    if text.startswith('="') and text.endswith('"'):  # Excel's ="0123" keeps leading zeros
        return text[2:-1].strip()
    return text

"""The import template a hospital admin downloads: the importer's own column names (the first
name of each field in headers.FIELD_ALIASES, required ones marked *, which the reader ignores),
one example row that imports as it is, and the code lists (离院方式, 性别, 证件类型)."""
from datetime import date, timedelta

from ..models.discharge import DISPOSITIONS, SEXES
from .headers import FIELD_ALIASES, FIELDS, REQUIRED_COLUMNS
from .values import ID_TYPES

REQUIRED_MARK = "*"
# The example: a made-up patient. The ID number is GB 11643's own published example (its check
# digit is right); the phone is a number reserved for examples in common Chinese usage.
EXAMPLE = {"inpatient_no": "ZY0000001", "name": "王芳", "sex": "女", "birth_date": "1949-12-31",
           "id_type": "居民身份证", "id_number": "11010519491231002X", "phone": "13800138000",
           "diagnosis_code": "I10.x00", "diagnosis_name": "高血压", "disposition": "1",
           "attending_doctor": "王医生", "medicines": "硝苯地平控释片 30mg 每日一次",
           "rehab_instructions": "低盐饮食，每日测量血压"}


def columns() -> list[str]:
    """Required fields first, then the others, each by the name the importer knows it by first."""
    return [*REQUIRED_COLUMNS, *(f for f in FIELDS if f not in REQUIRED_COLUMNS)]


def header() -> list[str]:
    return [FIELD_ALIASES[f][0] + (REQUIRED_MARK if f in REQUIRED_COLUMNS else "") for f in columns()]


def example_row(ward_name: str, today: date) -> list[str]:
    """One row that imports: discharged yesterday from `ward_name` (one of the hospital's wards),
    admitted a week before."""
    values = {**EXAMPLE, "ward": ward_name, "discharge_at": (today - timedelta(days=1)).isoformat(),
              "admission_date": (today - timedelta(days=8)).isoformat()}
    return [values.get(f, "") for f in columns()]


def code_lists() -> list[tuple[str, list[tuple[str, str]]]]:
    """(column, [(code, meaning)]) for the coded columns: what the importer accepts (the code or
    the meaning; a hospital's own codes are mapped under HIS integration)."""
    # 证件类型 by its numeric codes where it has them (居民身份证 1 or 01), else by its name
    id_types = [("、".join(a for a in aliases if a.isdigit()), next(a for a in aliases if not a.isdigit()))
                for aliases in ID_TYPES.values()]
    return [(FIELD_ALIASES["disposition"][0], list(DISPOSITIONS.items())),
            (FIELD_ALIASES["sex"][0], list(SEXES.items())),
            (FIELD_ALIASES["id_type"][0], id_types)]


def example_ward(hospital_id: int) -> str:
    """A clinical ward of the hospital for the example row (so it imports), by name."""
    from sqlalchemy import select

    from ..extensions import db
    from ..models import Ward
    return db.session.scalar(select(Ward.name).where(Ward.hospital_id == hospital_id, Ward.kind == "clinical")
                             .order_by(Ward.id).limit(1)) or "心内科"


def template_file(fmt: str, hospital_id: int, today: date, notes: list[str], titles: dict) -> bytes:
    """The template as CSV (header and example only: every line of a CSV is read as a row) or
    .xlsx (the same on the first sheet, which is the one imported; the notes and code lists on a
    second). `notes` and `titles` come translated from the page."""
    from ..reports.spreadsheet import Sheet, to_csv, to_xlsx
    rows = [example_row(example_ward(hospital_id), today)]
    if fmt == "csv":
        return to_csv(header(), rows)
    guide = [[n, ""] for n in notes] + [["", ""]]
    for column, codes in code_lists():
        guide += [[column, ""]] + [[code, meaning] for code, meaning in codes] + [["", ""]]
    return to_xlsx([Sheet(titles["data"], header(), rows, widths=[14] * len(header())),
                    Sheet(titles["guide"], [titles["guide"], ""], guide, widths=[60, 40])])

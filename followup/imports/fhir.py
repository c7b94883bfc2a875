"""FHIR R4 (R4B models of fhir.resources) Bundle of Patient and Encounter → discharge records.

Encounter.period.end is the discharge time, Encounter.hospitalization.dischargeDisposition the
离院方式 (the hospital's own code map, else the FHIR discharge-disposition codes, else one of
ours), Encounter.identifier the 住院号, Encounter.serviceType/location the ward,
Encounter.diagnosis → a Condition in the bundle or its display. Patient.identifier with a
type code of NNCHN/RIC is the resident ID number."""
import io
import json
import sqlite3
from typing import BinaryIO

import ijson
from ijson.common import ObjectBuilder
from pydantic import ValidationError

from .errors import N_, FileError, Reason
from .tables import detect_encoding

# http://terminology.hl7.org/CodeSystem/discharge-disposition → 离院方式 (applied by the source's
# decoder, after the hospital's own code map).
FHIR_DISPOSITION = {"home": "1", "alt-home": "1", "other-hcf": "2", "hosp": "2", "long": "3",
                    "rehab": "3", "snf": "3", "aadvice": "4", "exp": "5", "oth": "9", "psy": "2"}
SEX = {"male": "1", "female": "2", "unknown": "0", "other": "9"}
ID_TYPE_CODES = {"NNCHN", "RIC", "ID", "NI"}
# A FHIR Bundle nests about ten deep; JSON much deeper is not FHIR (and would exhaust the stack
# of any recursive parser or validator).
MAX_DEPTH = 64

TOO_DEEP = N_("the JSON nests deeper than %(limit)s levels: not a FHIR Bundle")
NOT_JSON = N_("not valid JSON (%(detail)s)")
NOT_BUNDLE = N_("not a FHIR R4 Bundle (resourceType is not Bundle)")
NO_ENCOUNTER = N_("the Bundle holds no Encounter")
INVALID_RESOURCE = N_("not a valid FHIR %(type)s: %(detail)s")


class StreamedBundle:
    """A Bundle read entry by entry with ijson, twice: the first pass checks the whole (JSON,
    depth, resourceType), counts the Encounters and keeps the few fields we need of each Patient
    and Condition (an Encounter may come before its Patient); the second yields the Encounters.
    Each entry is validated on its own with fhir.resources, so memory holds one entry at a time."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.encoding = detect_encoding(stream)
        # Reference → the kept fields, in a private temporary database on disk (sqlite3's ""),
        # so that even a Bundle of a hundred thousand patients needs no memory for them.
        self.kept = sqlite3.connect("")
        self.kept.execute("CREATE TABLE kept (ref TEXT PRIMARY KEY, fields TEXT)")
        self.encounters = 0
        for _pos, url, res in self._entries(check=True):
            kind = res.get("resourceType")
            if kind == "Encounter":
                self.encounters += 1
            elif kind in ("Patient", "Condition"):
                fields = json.dumps(_summary(kind, res), ensure_ascii=False)
                self.kept.executemany("INSERT OR REPLACE INTO kept VALUES (?, ?)",
                                      [(ref, fields) for ref in _refs(kind, res, url)])
        if not self.encounters:
            self.close()
            raise FileError(NO_ENCOUNTER)

    def _kept(self, reference):
        if not reference:
            return None
        found = self.kept.execute("SELECT fields FROM kept WHERE ref = ?", (reference,)).fetchone()
        return json.loads(found[0]) if found else None

    def close(self):
        self.kept.close()

    def _entries(self, check=False):
        """(position in Bundle.entry, fullUrl, resource as a dict) per entry with a resource."""
        self.stream.seek(0)
        text = None
        if self.encoding == "utf-8-sig":
            if self.stream.read(3) != b"\xef\xbb\xbf":
                self.stream.seek(0)
            reader = self.stream
        else:  # GB18030 or UTF-16: ijson reads text too
            reader = text = io.TextIOWrapper(self.stream, encoding=self.encoding)
        try:
            yield from self._parse(reader, check)
        finally:
            if text is not None:
                text.detach()  # the payload stays open for the next pass

    def _parse(self, reader, check):
        # basic_parse, not parse: parse builds each event's dotted path, which for JSON nested a
        # hundred thousand deep is quadratic (a minute of CPU before the first event).
        names, keys = [], []  # per open container: its name (key in its parent, or "item"); the map's current key
        pos, builder, top_type = 0, None, None
        try:
            for event, value in ijson.basic_parse(reader, use_float=True):
                if event in ("start_map", "start_array"):
                    names.append(keys[-1] if keys and keys[-1] is not None else "item")
                    if len(names) > MAX_DEPTH:
                        raise FileError(TOO_DEEP, limit=MAX_DEPTH)
                    keys.append(None if event == "start_array" else "")
                    if builder is None and event == "start_map" and names[1:] == ["entry", "item"]:
                        builder, pos = ObjectBuilder(), pos + 1
                elif event in ("end_map", "end_array"):
                    names.pop()
                    keys.pop()
                elif event == "map_key":
                    keys[-1] = value
                elif len(names) == 1 and keys[-1] == "resourceType" and event == "string":
                    top_type = value
                if builder is None:
                    continue
                builder.event(event, value)
                if len(names) == 2 and event == "end_map":  # back in the entry array
                    entry, builder = builder.value, None
                    if isinstance(entry.get("resource"), dict):
                        yield pos, entry.get("fullUrl"), entry["resource"]
        except ijson.JSONError as exc:
            raise FileError(NOT_JSON, detail=" ".join(str(exc).split())[:200]) from None
        if check and top_type != "Bundle":
            raise FileError(NOT_BUNDLE)

    def encounter_records(self):
        """(position, record, original, problems) per Encounter, in Bundle order."""
        from fhir.resources.R4B.encounter import Encounter
        for pos, _url, res in self._entries():
            if res.get("resourceType") != "Encounter":
                continue
            try:
                enc = Encounter.model_validate(res)
            except (ValidationError, ValueError, TypeError) as exc:
                original = {"id": str(res.get("id", ""))[:64]}
                yield pos, {}, original, [("_message", _invalid("Encounter", exc))]
                continue
            record = _encounter(enc, self._kept)
            patient = self._kept(enc.subject.reference) if enc.subject else None
            problems = []
            if patient is not None and "_invalid" in patient:
                problems.append(("_message", Reason(INVALID_RESOURCE, **patient["_invalid"])))
            elif patient:
                record.update(patient)
            yield pos, record, {k: str(v) for k, v in record.items()}, problems


def _invalid(kind: str, exc: Exception) -> Reason:
    detail = " ".join(line.strip() for line in str(exc).splitlines()[:3])
    return Reason(INVALID_RESOURCE, type=kind, detail=detail[:300])


def _refs(kind: str, res: dict, url) -> list[str]:
    refs = [f"{kind}/{res['id']}"] if res.get("id") else []
    return refs + [url] if isinstance(url, str) and url else refs


def _summary(kind: str, res: dict):
    """The fields we keep of a Patient (a record fragment) or a Condition ((code, name))."""
    from fhir.resources.R4B.condition import Condition
    from fhir.resources.R4B.patient import Patient
    try:
        resource = (Patient if kind == "Patient" else Condition).model_validate(res)
    except (ValidationError, ValueError, TypeError) as exc:
        return {"_invalid": _invalid(kind, exc).params} if kind == "Patient" else ("", "")
    if kind == "Patient":
        return _patient(resource)
    if not resource.code:
        return "", ""
    return (next((c.code for c in resource.code.coding or [] if c.code), ""),
            resource.code.text or next((c.display for c in resource.code.coding or [] if c.display), ""))


def _code(concept) -> str:
    if not concept:
        return ""
    for coding in concept.coding or []:
        if coding.code:
            return coding.code
    return concept.text or ""


def _encounter(enc, kept) -> dict:
    disp = _code(enc.hospitalization.dischargeDisposition) if enc.hospitalization else ""
    ward = ""
    for loc in enc.location or []:
        ward = loc.location.display or ward
    if not ward and enc.serviceType:
        ward = enc.serviceType.text or _code(enc.serviceType)
    code = name = ""
    for dx in enc.diagnosis or []:
        cond = kept(dx.condition.reference) if dx.condition else None
        if cond is not None and any(cond):
            code, name = cond
        elif dx.condition and dx.condition.display:
            name = dx.condition.display
        break
    doctor = ""
    for p in enc.participant or []:
        if p.individual and p.individual.display:
            doctor = p.individual.display
            break
    period = enc.period
    return {
        "inpatient_no": next((i.value for i in enc.identifier or [] if i.value), enc.id or ""),
        "admission_date": period.start.isoformat() if period and period.start else "",
        "discharge_at": period.end.isoformat() if period and period.end else "",
        "disposition": disp,
        "ward": ward,
        "diagnosis_code": code,
        "diagnosis_name": name,
        "attending_doctor": doctor,
    }


def _patient(p) -> dict:
    name = ""
    for n in p.name or []:
        name = n.text or ((n.family or "") + "".join(n.given or []))
        if name:
            break
    id_number = ""
    for ident in p.identifier or []:
        if ident.type and _code(ident.type).upper() in ID_TYPE_CODES:
            id_number = ident.value or ""
    phones = [t.value for t in p.telecom or [] if t.system == "phone" and t.value]
    return {
        "name": name,
        "sex": SEX.get(p.gender or "", "0"),
        "birth_date": p.birthDate.isoformat() if p.birthDate else "",
        "id_number": id_number,
        "phone": ",".join(phones),
    }

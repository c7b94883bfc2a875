"""FHIR R4 (R4B models of fhir.resources) Bundle of Patient and Encounter → discharge records.

Encounter.period.end is the discharge time, Encounter.hospitalization.dischargeDisposition the
离院方式 (its coding's code when it is one of ours, else mapped from the FHIR discharge-disposition
codes), Encounter.identifier the 住院号, Encounter.serviceType/location the ward,
Encounter.diagnosis → a Condition in the bundle or its display. Patient.identifier with a
type code of NNCHN/RIC is the resident ID number."""
import json

from fhir.resources.R4B.bundle import Bundle

from .errors import FileError

# http://terminology.hl7.org/CodeSystem/discharge-disposition → 离院方式
FHIR_DISPOSITION = {"home": "1", "alt-home": "1", "other-hcf": "2", "hosp": "2", "long": "3",
                    "rehab": "3", "snf": "3", "aadvice": "4", "exp": "5", "oth": "9", "psy": "2"}
SEX = {"male": "1", "female": "2", "unknown": "0", "other": "9"}
ID_TYPE_CODES = {"NNCHN", "RIC", "ID", "NI"}


def read_bundle(raw: bytes | str) -> list[tuple[int, dict, dict]]:
    """→ [(position of the Encounter in the bundle, record, original)]. FileError if no Bundle."""
    try:
        data = json.loads(raw)
        bundle = Bundle.model_validate(data)
    except (ValueError, TypeError) as exc:
        detail = " ".join(line.strip() for line in str(exc).splitlines()[:3])
        raise FileError(f"not a valid FHIR R4 Bundle: {detail[:300]}") from None
    by_ref = {}
    for entry in bundle.entry or []:
        res = entry.resource
        if res is None:
            continue
        by_ref[f"{res.get_resource_type()}/{res.id}"] = res
        if entry.fullUrl:
            by_ref[entry.fullUrl] = res
    out = []
    for pos, entry in enumerate(bundle.entry or [], start=1):
        res = entry.resource
        if res is None or res.get_resource_type() != "Encounter":
            continue
        patient = by_ref.get(res.subject.reference) if res.subject and res.subject.reference else None
        record = _encounter(res, by_ref)
        record.update(_patient(patient) if patient else {})
        out.append((pos, record, {k: str(v) for k, v in record.items()}))
    if not out:
        raise FileError("the Bundle holds no Encounter")
    return out


def _code(concept) -> str:
    if not concept:
        return ""
    for coding in concept.coding or []:
        if coding.code:
            return coding.code
    return concept.text or ""


def _encounter(enc, by_ref) -> dict:
    disp = _code(enc.hospitalization.dischargeDisposition) if enc.hospitalization else ""
    ward = ""
    for loc in enc.location or []:
        ward = loc.location.display or ward
    if not ward and enc.serviceType:
        ward = enc.serviceType.text or _code(enc.serviceType)
    code = name = ""
    for dx in enc.diagnosis or []:
        cond = by_ref.get(dx.condition.reference) if dx.condition and dx.condition.reference else None
        if cond is not None and cond.code:
            code = next((c.code for c in cond.code.coding or [] if c.code), "")
            name = cond.code.text or next((c.display for c in cond.code.coding or [] if c.display), "")
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
        "disposition": FHIR_DISPOSITION.get(disp, disp),
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

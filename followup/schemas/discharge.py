"""Discharge output shapes. Masking happens here, on the server, according to the viewer's role."""
from datetime import timedelta

from marshmallow import Schema, fields

from ..core.access import mask_name, mask_phone, may_see_name
from ..core.clock import local


class TaskBrief(Schema):
    id = fields.Int()
    level = fields.Str()
    status = fields.Str()
    due_at = fields.Function(lambda t: local(t.due_at).isoformat())
    # The last local day on which the call is on time (due_at is the midnight after it).
    last_day = fields.Function(lambda t: local(t.due_at - timedelta(microseconds=1)).date().isoformat())
    close_reason = fields.Str(allow_none=True)


class DischargeOut(Schema):
    """What any role allowed to open a discharge sees: the name masked unless the role calls
    or audits patients; the phone always masked (revealing it is a separate, logged action)."""

    id = fields.Int()
    hospital_id = fields.Int()
    hospital = fields.Function(lambda d: d.hospital.name)
    ward_id = fields.Int()
    ward = fields.Function(lambda d: d.ward.name)
    inpatient_no = fields.Str()
    patient_name = fields.Method("_name")
    sex = fields.Function(lambda d: d.patient.sex)
    age = fields.Method("_age")
    phone_masked = fields.Function(lambda d: d.patient.phone_masked or mask_phone(None))
    admission_date = fields.Date(allow_none=True)
    discharge_date = fields.Date()
    discharge_at = fields.Function(lambda d: local(d.discharge_at).isoformat())
    disposition = fields.Str()
    disposition_label = fields.Str()
    diagnosis_code = fields.Str()
    diagnosis_name = fields.Str()
    attending_doctor = fields.Str()
    medicines = fields.Function(lambda d: d.medicine_list)
    rehab_instructions = fields.Str()
    tasks = fields.List(fields.Nested(TaskBrief))

    def _name(self, d):
        viewer = self.context_user
        return d.patient.name if viewer is not None and may_see_name(viewer) else mask_name(d.patient.name)

    def _age(self, d):
        b = d.patient.birth_date
        if not b:
            return None
        dd = d.discharge_date
        return dd.year - b.year - ((dd.month, dd.day) < (b.month, b.day))


def dump_discharge(d, viewer, many=False):
    schema = DischargeOut(many=many)
    schema.context_user = viewer  # marshmallow 4 has no context: pass the viewer explicitly
    return schema.dump(d)

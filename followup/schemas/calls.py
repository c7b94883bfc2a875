"""Output shapes of the queue and the ward board: the patient masked (name and phone), since
these lists are not the call screen. The call screen reads the claimed task itself."""
from marshmallow import Schema, fields

from ..core.access import mask_name


class QueueRow(Schema):
    id = fields.Int()
    level = fields.Str()
    status = fields.Str()
    due_at = fields.Raw()  # aware datetimes; templates format them with |localdt
    next_attempt_at = fields.Raw()
    callback_at = fields.Raw()
    assigned_to_id = fields.Int(allow_none=True)
    claimed_by_id = fields.Int(allow_none=True)
    needs_data = fields.Str(allow_none=True)  # due but not callable until the ward completes it
    patient = fields.Function(lambda t: mask_name(t.discharge.patient.name))
    phone = fields.Function(lambda t: t.discharge.patient.phone_masked or "")
    ward = fields.Function(lambda t: t.discharge.ward.name)
    inpatient_no = fields.Function(lambda t: t.discharge.inpatient_no)
    discharge_date = fields.Function(lambda t: t.discharge.discharge_date)
    diagnosis = fields.Function(lambda t: t.discharge.diagnosis_name)


def queue_rows(tasks, now, at_risk) -> list[dict]:
    """Rows with the urgency a list shows: overdue, or due within the at-risk window."""
    rows = QueueRow(many=True).dump(tasks)
    for row in rows:
        row["overdue"] = row["due_at"] <= now
        row["at_risk"] = now < row["due_at"] <= now + at_risk
    return rows

"""JSON API shapes of the call queue (routes/api_calls.py). Queue rows carry masked names and
numbers only; the full name and numbers are in ClaimedTaskOut, returned to the claimer alone
(and audited by the route)."""
from marshmallow import RAISE, Schema, fields, validate

from ..core.access import mask_name
from ..calls import policy
from ..calls.queueing import phone_numbers
from ..core.clock import local
from ..models.call import Outcome


def _local(dt):
    return local(dt).isoformat() if dt else None


class _In(Schema):
    class Meta:
        unknown = RAISE


class QueueArgs(_In):
    limit = fields.Int(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Int(load_default=0, validate=validate.Range(0, 1_000_000))


class VersionIn(_In):
    version = fields.Int(required=True, metadata={"description": "the task version you hold (409 if stale)"})


class AttemptIn(VersionIn):
    outcome = fields.Str(required=True, validate=validate.OneOf([o.value for o in Outcome]))
    callback_at = fields.AwareDateTime(load_default=None, allow_none=True,
                                       metadata={"description": "for outcome 'callback': when to call back"})
    note = fields.Str(load_default="", validate=validate.Length(max=2000))
    number_index = fields.Int(load_default=0, validate=validate.Range(0, 9),
                              metadata={"description": "0 = primary number, 1.. = the others"})
    refuse_all = fields.Bool(load_default=False, metadata={
        "description": "with outcome 'refused': the patient refuses all follow-up (拒绝所有随访): "
                       "marked do-not-call in this hospital, the other open tasks closed"})


class AssignIn(VersionIn):
    caller_id = fields.Int(required=True, allow_none=True,
                           metadata={"description": "a caller of the same queue; null unassigns"})


class CountsOut(Schema):
    open = fields.Int()
    due_today = fields.Int()
    at_risk_24h = fields.Int()
    overdue = fields.Int()
    done_today = fields.Int()


class TaskRowOut(Schema):
    """A queue row: masked."""
    id = fields.Int()
    version = fields.Int()
    level = fields.Str()
    status = fields.Str()
    discharge_id = fields.Int()
    ward_id = fields.Int()
    ward = fields.Function(lambda t: t.discharge.ward.name)
    inpatient_no = fields.Function(lambda t: t.discharge.inpatient_no)
    discharge_date = fields.Function(lambda t: t.discharge.discharge_date.isoformat())
    patient_name_masked = fields.Function(lambda t: mask_name(t.discharge.patient.name))
    phone_masked = fields.Function(lambda t: t.discharge.patient.phone_masked or "")
    due_at = fields.Function(lambda t: _local(t.due_at))
    next_attempt_at = fields.Function(lambda t: _local(t.next_attempt_at))
    callback_at = fields.Function(lambda t: _local(t.callback_at))
    assigned_to_id = fields.Int(allow_none=True)
    claimed_by_id = fields.Int(allow_none=True)
    close_reason = fields.Str(allow_none=True)


class QueueOut(Schema):
    counts = fields.Nested(CountsOut)
    tasks = fields.List(fields.Nested(TaskRowOut))


class ClaimedTaskOut(TaskRowOut):
    """For the claimer: who to call and why. Audited when returned."""
    patient_name = fields.Function(lambda t: t.discharge.patient.name)
    phones = fields.Function(phone_numbers)
    claimed_at = fields.Function(lambda t: _local(t.claimed_at))
    claim_expires_at = fields.Function(
        lambda t: _local(t.claimed_at + policy.default().claim_timeout) if t.claimed_at else None)
    diagnosis_name = fields.Function(lambda t: t.discharge.diagnosis_name)
    attending_doctor = fields.Function(lambda t: t.discharge.attending_doctor)
    medicines = fields.Function(lambda t: t.discharge.medicine_list)


class NextOut(Schema):
    task = fields.Nested(ClaimedTaskOut, allow_none=True,
                         metadata={"description": "null: nothing callable now"})


class AttemptOut(Schema):
    id = fields.Int()
    outcome = fields.Str()
    at = fields.Function(lambda a: _local(a.at))
    callback_at = fields.Function(lambda a: _local(a.callback_at))
    number_index = fields.Int()
    task = fields.Nested(TaskRowOut)


class CallErrorOut(Schema):
    """flask-smorest's error shape, plus what a caller needs to act on the error: the field at
    fault (422) or the task's current version (409, to reload and retry)."""

    code = fields.Int()
    status = fields.Str()
    message = fields.Str()
    errors = fields.Dict()
    field = fields.Str()
    version = fields.Int()
    held_by = fields.Str(metadata={"description": "409: the colleague on this patient right now"})
    held_until = fields.Str(metadata={"description": "409: when that claim ends (ISO 8601)"})
    callable_at = fields.DateTime(metadata={"description": "409 on claim: when the task may be called "
                                                           "(calling hours, retry spacing, callback time)"})

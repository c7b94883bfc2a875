"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""
from .audit import AuditEvent
from .discharge import DISPOSITIONS, Discharge, Patient
from .job import JobState, OutboxJob
from .org import Hospital, Region, Ward
from .task import FollowupTask, Level, TaskStatus
from .user import Role, User

__all__ = [
    "AuditEvent", "DISPOSITIONS", "Discharge", "Patient", "JobState", "OutboxJob",
    "Hospital", "Region", "Ward", "FollowupTask", "Level", "TaskStatus", "Role", "User",
]

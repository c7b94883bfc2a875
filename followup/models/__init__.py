"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""
from .audit import AuditEvent
from .discharge import DISPOSITIONS, Discharge, Patient
from .job import JobState, OutboxJob
from .org import Hospital, Region, Ward
from .task import FollowupTask, Level, TaskStatus
from .user import Role, User

# Every module in this package is imported, so each feature's models join the metadata
# (and Alembic sees them) without editing this file.
import importlib as _importlib
import pkgutil as _pkgutil

for _m in _pkgutil.iter_modules(__path__):
    _importlib.import_module(f"{__name__}.{_m.name}")

__all__ = [
    "AuditEvent", "DISPOSITIONS", "Discharge", "Patient", "JobState", "OutboxJob",
    "Hospital", "Region", "Ward", "FollowupTask", "Level", "TaskStatus", "Role", "User",
]

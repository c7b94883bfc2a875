"""Daily housekeeping of files beside the database: evidence files that no row names (a request
rolled back after writing its file, a write cut short, an item deleted) are removed once a day
old. An entry point only (the rule is in followup/rectification/complaints.py)."""
from ..core.clock import utcnow
from ..rectification.complaints import evidence_root, sweep_orphan_files
from . import job
from .maintenance import PERIODIC, Periodic


@job("evidence_sweep")
def evidence_sweep():
    sweep_orphan_files(evidence_root(), utcnow())


PERIODIC.append(Periodic(id="evidence-sweep", job="evidence_sweep", period="day"))

"""Jobs used by the worker tests: they open a patient's personal data, as real jobs do, and one
of them fails. Imported by the test and by the subprocess worker's app (worker_app.py)."""
import logging

from followup import jobs
from followup.extensions import db
from followup.models import Discharge

log = logging.getLogger("followup.jobs.probe")


@jobs.job("test_pii_probe")
def pii_probe(discharge_id: int):
    d = db.session.get(Discharge, discharge_id)
    assert d.patient.phone and d.patient.name  # decrypts personal data inside the job
    log.info("probed discharge %s", discharge_id)


@jobs.job("test_pii_probe_fails")
def pii_probe_fails(discharge_id: int):
    d = db.session.get(Discharge, discharge_id)
    assert d.patient.phone
    raise RuntimeError(f"probe failed for discharge {discharge_id}")  # ids only, never the data

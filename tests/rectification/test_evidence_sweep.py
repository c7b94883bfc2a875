"""Evidence files are whole or absent under their key, and files no row names (a request rolled
back after its file was written, a write cut short) are swept once a day old, by a daily job."""
import io
import os
from datetime import timedelta
from pathlib import Path

import pytest

from sqlalchemy import select

from followup.core.clock import utcnow
from followup.jobs import _load_job_modules, run_outbox, submit
from followup.models.opinion import ItemEvidence
from followup.rectification import complaints as C
from tests.rectification.conftest import PDF, stay


def _item(w, db):
    d = stay(w, inpatient_no="ZY778001")
    item = C.register(w.qa, discharge=d, channel="hotline_12345", text="多收费", category="cost",
                      ward_id=w.cashier.id, urgent=False, now=utcnow())
    db.session.commit()
    return item


def _age(path: Path, days: float):
    t = (utcnow() - timedelta(days=days)).timestamp()
    os.utime(path, (t, t))


def test_a_rolled_back_upload_leaves_a_file_that_the_sweep_removes_once_a_day_old(depts, db, frozen):
    w = depts
    item = _item(w, db)
    root = C.evidence_root()
    kept = C.store_evidence_file(item, io.BytesIO(PDF), "凭证.pdf", root=root, max_bytes=1 << 20, user=w.qa,
                                 now=utcnow())
    db.session.commit()
    lost = C.store_evidence_file(item, io.BytesIO(PDF), "凭证2.pdf", root=root, max_bytes=1 << 20, user=w.qa,
                                 now=utcnow())
    lost_key = lost.storage_key
    db.session.rollback()  # the request failed after writing its file
    assert (root / lost_key).read_bytes() == PDF and not db.session.scalars(
        select(ItemEvidence).where(ItemEvidence.storage_key == lost_key)).first()
    assert not list(root.glob("*" + C.PARTIAL))  # written aside, then renamed whole
    cut_short = root / ("f" * 32 + C.PARTIAL)  # a write the process never finished
    cut_short.write_bytes(PDF[:5])

    assert C.sweep_orphan_files(root, utcnow()) == []  # all of it is fresh: a transaction may still be open
    for p in root.iterdir():
        _age(p, 2)
    assert C.sweep_orphan_files(root, utcnow()) == sorted([lost_key, cut_short.name])
    assert sorted(p.name for p in root.iterdir()) == [kept.storage_key]  # the named file stays, however old
    assert (root / kept.storage_key).read_bytes() == PDF


def test_the_sweep_is_a_daily_periodic_job_that_runs_through_the_outbox(depts, db, frozen):
    w = depts
    item = _item(w, db)
    root = C.evidence_root()
    C.store_evidence_file(item, io.BytesIO(PDF), "凭证.pdf", root=root, max_bytes=1 << 20, user=w.qa, now=utcnow())
    db.session.rollback()
    (orphan,) = list(root.iterdir())
    _age(orphan, 2)
    _load_job_modules()
    from followup.jobs.maintenance import PERIODIC
    assert any(p.job == "evidence_sweep" and p.period == "day" for p in PERIODIC)
    row = submit("evidence_sweep")
    db.session.commit()
    run_outbox(row.id)
    assert not orphan.exists()


def test_no_evidence_directory_is_nothing_to_sweep(app, db, tmp_path):
    assert C.sweep_orphan_files(tmp_path / "never-made", utcnow()) == []


def test_a_write_cut_short_never_leaves_a_file_under_a_key(depts, db, frozen, monkeypatch):
    item = _item(depts, db)
    root = C.evidence_root()

    def crash(*_a):
        raise OSError("disk gone")
    monkeypatch.setattr(C.os, "replace", crash)  # the process dies between writing and renaming
    with pytest.raises(OSError):  # the upload fails with it
        C.store_evidence_file(item, io.BytesIO(PDF), "凭证.pdf", root=root, max_bytes=1 << 20, user=depts.qa,
                              now=utcnow())
    assert [p.suffix for p in root.iterdir()] == [C.PARTIAL]  # only the partial file, which the sweep removes

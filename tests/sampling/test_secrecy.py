"""Hospitals cannot learn who is sampled: every GET URL of the app (pages and API), as every
hospital role, answers byte for byte the same before and after a draw, and none of the queries
behind those answers touches a sampling table (so neither counts nor timing depend on it)."""
import itertools
import re
from datetime import date, datetime, timezone

import time_machine
from sqlalchemy import event, select

from followup.extensions import db
from followup.models import FollowupTask
from followup.models.sample import SampledRecord

HOSPITAL_ROLES = ["nurse", "ortho_nurse", "nurse_b", "centre", "centre_b", "qa", "hospital_admin", "responder"]
SAMPLING_TABLES = re.compile(r"\b(audit_sample|sample_stratum|sampled_record|sample_call_attempt|sample_check)\b")
CSRF = re.compile(r'(csrf_token" value="|X-CSRFToken": ")[^"]+')
# Values that differ on every request whatever the data (a new TOTP secret and its QR code on an
# enrolment page): they cannot carry membership, and would make the comparison flaky.
PER_REQUEST = re.compile(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+|\b[A-Z2-7]{16,}\b")


def _urls(app, ids: list[int]) -> list[str]:
    """Every GET rule, its int arguments filled with each id of interest; other converters skipped."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.endpoint.endswith("static"):
            continue
        args = sorted(rule.arguments - set(rule.defaults or {}))
        if any(type(rule._converters[a]).__name__ != "IntegerConverter" for a in args):
            continue
        for combo in itertools.product(ids, repeat=len(args)):
            with app.test_request_context():
                urls.append(app.url_for(rule.endpoint, **dict(zip(args, combo))))
    return sorted(set(urls))


def _walk(clients, urls):
    out = {}
    for who, client in clients.items():
        for url in urls:
            resp = client.get(url)
            body = CSRF.sub(r"\1…", resp.get_data(as_text=True))
            out[(who, url)] = (resp.status_code, PER_REQUEST.sub("…", body))
    return out


def test_no_hospital_role_can_tell_sampled_patients_from_others(app, world, as_user, draw):
    with time_machine.travel(datetime(2026, 11, 20, 3, tzinfo=timezone.utc), tick=False):
        discharges = [world.discharge(w, discharged=date(2026, 10, 2 + i % 20))
                      for i, w in enumerate([world.cardiology, world.orthopaedics] * 30 + [world.ward_b] * 5)]
        ids = sorted({d.id for d in discharges})
        # Learn who will be sampled (the fixed test seed makes the draw repeatable), then undo it,
        # so the walk before the draw already asks about exactly those patients and their tasks.
        draw(world.county_a, rate="0.05", commit=False)
        sampled = sorted(db.session.scalars(select(SampledRecord.discharge_id)))
        db.session.rollback()
        assert sampled and set(sampled) < set(ids)
        unsampled = [i for i in ids if i not in sampled][:2]
        task_ids = db.session.scalars(select(FollowupTask.id).where(
            FollowupTask.discharge_id.in_(sampled[:1] + unsampled[:1]))).all()
        probe = sorted(set(sampled + unsampled + task_ids + [1, 2, 3]))
        urls = _urls(app, probe)
        assert len(urls) > 50 and any(u.startswith("/sampling") for u in urls)
        clients = {who: as_user(getattr(world, who)) for who in HOSPITAL_ROLES}
        before = _walk(clients, urls)

        sample = draw(world.county_a, rate="0.05")
        assert sorted(db.session.scalars(select(SampledRecord.discharge_id))) == sampled
        statements = []

        def _log(conn, cursor, statement, *a):
            statements.append(statement)
        event.listen(db.engine, "before_cursor_execute", _log)
        try:
            after = _walk(clients, urls)
        finally:
            event.remove(db.engine, "before_cursor_execute", _log)

    changed = [k for k in before if before[k] != after[k]]
    assert changed == [], f"responses changed after the draw for {changed[:5]}"
    assert not [s for s in statements if SAMPLING_TABLES.search(s)], "a hospital request read a sampling table"
    for (who, url), (status, _body) in after.items():
        if url.startswith("/sampling"):
            assert status == 404, (who, url)
    assert sample.sample_size == 3

"""Separation of duties (三员分立) and the audit log's protection: the audit admin searches the
log (and that search is audited), the security admin sets policy, the system admin manages
accounts; the chain verifies, retention never goes below 180 days, the log is append-only."""
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from attack_data import SQLI_PAYLOADS
from followup.core import audit
from followup.core.clock import utcnow
from followup.jobs import registered
from followup.jobs.maintenance import PERIODIC
from followup.models import AuditEvent, User
from followup.models.security import AuditAnchor, SecurityPolicy
from followup.security.retention import RetentionError, purge_audit


def test_audit_admin_searches_by_user_action_object_and_date_and_the_search_is_audited(world, as_user, db):
    audit.record("discharge.view", user=world.nurse, object_type="discharge", object_id=42)
    audit.record("discharge.view", user=world.centre, object_type="discharge", object_id=43)
    audit.record("auth.login", user=world.nurse, now=utcnow() - timedelta(days=40))
    db.session.commit()
    client = as_user(world.audit_admin)
    page = client.get("/audit/?user=nurse_a&action=discharge.&object_type=discharge&object_id=42").get_data(as_text=True)
    assert "#42" in page and "#43" not in page
    today = utcnow().date().isoformat()
    page = client.get(f"/audit/?user=nurse_a&action=auth.&from={today}&to={today}").get_data(as_text=True)
    assert "auth.login" not in page.split("<tbody>")[1]  # the 40-day-old sign-in is outside the range
    searches = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.search")).all()
    assert len(searches) == 2 and searches[0].username == "auditadmin"
    assert searches[0].detail["filters"]["object_id"] == "42"


def test_audit_log_pages_and_exports_csv(world, as_user, db):
    for i in range(120):
        audit.record("test.event", object_id=i)
    db.session.commit()
    client = as_user(world.audit_admin)
    assert "#69" in client.get("/audit/?action=test.&page=2").get_data(as_text=True)
    resp = client.get("/audit/?action=test.&format=csv")
    assert resp.status_code == 200 and resp.data.startswith(b"\xef\xbb\xbf")
    assert resp.data.count(b"test.event") == 120
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "audit.export"))


@pytest.mark.parametrize("payload", SQLI_PAYLOADS)
def test_audit_search_parameters_reject_or_neutralise_sql_injection(payload, world, as_user):
    client = as_user(world.audit_admin)
    for name in ("user", "action", "object_type", "object_id", "from", "to", "page", "format"):
        resp = client.get("/audit/", query_string={name: payload})
        assert resp.status_code in (200, 400), (name, payload, resp.status_code)
        assert "$argon2" not in resp.get_data(as_text=True)  # no other table's data
    assert client.get("/audit/", query_string={"sort": payload}).status_code == 400  # unknown: refused


def test_system_admin_manages_accounts_but_sees_no_audit_log_or_patients(world, as_user, db):
    world.discharge()
    admin = as_user(world.sys_admin)
    assert admin.get("/audit/").status_code == 404
    assert admin.get("/discharges/").status_code == 404
    assert admin.get("/security/policy").status_code == 404
    resp = admin.post("/admin/users", data={"username": "new_nurse", "display_name": "王护士",
                                            "password": "weakpassword", "role": "nurse",
                                            "hospital": world.hospital_a.id, "wards": [world.cardiology.id]})
    assert "密码须满足" in resp.get_data(as_text=True)
    resp = admin.post("/admin/users", data={"username": "new_nurse", "display_name": "王护士",
                                            "password": "Strong-Pass-2026", "role": "nurse",
                                            "hospital": world.hospital_a.id, "wards": [world.cardiology.id]})
    assert resp.status_code == 302
    created = db.session.scalar(select(User).where(User.username == "new_nurse"))
    assert created.ward_ids == [world.cardiology.id]
    assert admin.post(f"/admin/users/{world.sys_admin.id}/disable").status_code == 400  # not oneself
    assert admin.post("/admin/organisations", data={"hospital": world.hospital_a.id, "code": "ICU", "name": "重症医学科"}).status_code == 302


def test_audit_admin_and_security_admin_cannot_manage_users(world, as_user):
    for user in (world.audit_admin, world.security_admin):
        client = as_user(user)
        assert client.get("/admin/users").status_code == 404
        assert client.post(f"/admin/users/{world.nurse.id}/disable").status_code == 404


def test_security_admin_saves_a_policy_within_bounds_and_the_change_is_audited(world, as_user, db):
    client = as_user(world.security_admin)
    form = {"password_min_length": "12", "password_min_classes": "3", "password_max_age_days": "90",
            "lockout_threshold": "5", "account_lockout_threshold": "20", "lockout_minutes": "15",
            "idle_timeout_minutes": "15", "absolute_timeout_hours": "8", "audit_retention_days": "1095",
            "mfa_roles": ["nurse", "sys_admin"]}
    assert client.post("/security/policy", data=form).status_code == 302
    policy = db.session.get(SecurityPolicy, 1)
    assert policy.password_min_length == 12 and policy.mfa_roles == ["nurse", "sys_admin"]
    change = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "security.policy_change"))
    assert change.detail["changed"]["password_min_length"][1] == 12
    for bad in ({"audit_retention_days": "90"}, {"idle_timeout_minutes": "0"}, {"mfa_roles": ["root"]},
                {"lockout_threshold": "abc"}):
        resp = client.post("/security/policy", data={**form, **bad})
        assert resp.status_code == 400, bad
    assert db.session.get(SecurityPolicy, 1).audit_retention_days == 1095


@pytest.mark.breaks_audit_chain
def test_verify_audit_command_exits_non_zero_on_a_broken_chain(world, runner, db):
    result = runner.invoke(args=["followup", "verify-audit"])
    assert result.exit_code == 0 and "verified" in result.output
    victim = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id).offset(2).limit(1))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))  # a superuser's edit
    db.session.execute(text("UPDATE audit_event SET action = 'x' WHERE id = :i"), {"i": victim})
    db.session.commit()
    result = runner.invoke(args=["followup", "verify-audit"])
    assert result.exit_code != 0 and f"broken at event {victim}" in result.output


def test_retention_never_purges_younger_than_180_days(world, app, db, runner):
    for days in (30, 179):
        with pytest.raises(RetentionError):
            purge_audit(now=utcnow(), days=days)
    result = runner.invoke(args=["followup", "purge-audit", "--days", "90"])
    assert result.exit_code != 0 and "floor" in result.output
    app.config["AUDIT_RETENTION_DAYS"] = 30  # a misconfigured deployment: the job refuses
    with pytest.raises(RetentionError):
        purge_audit(now=utcnow())
    registered()  # job modules add their periodic entries on import
    assert any(p.job == "audit_retention" and p.period == "day" for p in PERIODIC)


def test_purge_removes_old_events_leaves_an_anchor_and_the_chain_still_verifies(db):
    now = utcnow()
    for i in range(3):
        audit.record("old.event", object_id=i, now=now - timedelta(days=400 - i))
    audit.record("recent.event", now=now - timedelta(days=10))
    audit.record("older.but.after.a.recent.one", now=now - timedelta(days=500))
    db.session.commit()
    assert purge_audit(now=now, days=365) == 3
    db.session.commit()
    left = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert left == ["recent.event", "older.but.after.a.recent.one", "audit.purge"]  # a prefix only
    anchor = db.session.scalar(select(AuditAnchor))
    assert anchor.purged == 3
    ok, checked, bad = audit.verify_chain()
    assert ok and bad is None and checked == 3
    assert purge_audit(now=now, days=365) == 0


@pytest.mark.breaks_audit_chain
def test_audit_events_cannot_be_changed_unnoticed(world, db):
    """PostgreSQL refuses UPDATE and DELETE outright (a trigger; deployments also REVOKE them
    from the app role). The embedded SQLite mode has no such guard: there the hash chain is
    what catches an edit."""
    audit.record("x.event")
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        for sql in ("UPDATE audit_event SET action = 'y'", "DELETE FROM audit_event"):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(sql))
            db.session.rollback()
        # Even the purge path cannot reach rows younger than the legal floor.
        db.session.execute(text("SELECT set_config('followup.audit_purge', 'on', true)"))
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text("DELETE FROM audit_event"))
        db.session.rollback()
        assert audit.verify_chain()[0]
    else:
        db.session.execute(text("UPDATE audit_event SET action = 'y' WHERE action = 'x.event'"))
        db.session.commit()
        assert not audit.verify_chain()[0]


def test_log_injection_in_a_username_stays_one_escaped_field(world, app, as_user, db):
    forged = "x\r\nauth.login admin OK\u202e\x1b[31m"
    app.test_client().post("/login", data={"username": forged, "password": "whatever-123"})
    row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.login_failed"))
    assert row.detail["username"] == forged[:64] and row.username == ""
    page = as_user(world.audit_admin).get("/audit/?action=auth.login_failed").get_data(as_text=True)
    assert "\\r\\nauth.login admin OK" in page and "x\r\nauth.login" not in page  # JSON-escaped, one cell

"""Sign-in as an attacker would try it: session fixation, replayed cookies, revocation, idle and
absolute timeouts, lockout per (username, address), and ways around the second factor."""
import re
from datetime import timedelta

import time_machine
from sqlalchemy import select, text

from attack_data import current_totp
from followup.core.clock import utcnow
from followup.models import AuditEvent, Role, User
from followup.models.security import RecoveryCode, UserMfa, UserSession


def _login(client, user, password="correct-horse-battery", ip="10.0.0.1"):
    return client.post("/login", data={"username": user.username, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def _cookie(client):
    c = client.get_cookie("followup_session")
    return c.value if c else None


def test_session_id_is_new_at_sign_in_and_a_planted_session_is_not_adopted(world, app, db):
    attacker = app.test_client()
    attacker.get("/login")
    with attacker.session_transaction() as s:
        s["sid"] = "planted-by-attacker"
        s["marker"] = "x"
    planted = _cookie(attacker)
    victim = app.test_client()
    victim.set_cookie("followup_session", planted)  # the attacker fixed the victim's cookie
    assert _login(victim, world.nurse).status_code == 302
    with victim.session_transaction() as s:
        assert "marker" not in s and s["sid"] != "planted-by-attacker"
    assert _cookie(victim) != planted
    attacker.set_cookie("followup_session", planted)
    assert attacker.get("/").status_code == 302  # the planted cookie got nothing


def test_a_cookie_captured_before_sign_out_is_dead_after_it(world, as_user, app):
    client = as_user(world.nurse)
    stolen = _cookie(client)
    client.post("/logout")
    thief = app.test_client()
    thief.set_cookie("followup_session", stolen)
    assert thief.get("/").status_code == 302
    assert thief.get("/api/v1/me").status_code == 401


def test_sign_out_everywhere_ends_the_other_browsers(world, as_user):
    phone, desk = as_user(world.nurse), as_user(world.nurse)
    assert phone.get("/").status_code == 200
    desk.post("/account/sign-out-everywhere")
    assert phone.get("/").status_code == 302 and desk.get("/").status_code == 302


def test_disable_role_change_and_password_change_end_sessions(world, as_user, db):
    admin = as_user(world.sys_admin)
    victim = as_user(world.nurse)
    admin.post(f"/admin/users/{world.nurse.id}", data={"role": "qa", "hospital": world.hospital_a.id})
    assert victim.get("/").status_code == 302
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.role_change")).detail == \
        {"from": "nurse", "to": "qa"}
    other = as_user(world.centre)
    admin.post(f"/admin/users/{world.centre.id}/disable")
    assert other.get("/").status_code == 302
    me, elsewhere = as_user(world.qa), as_user(world.qa)
    resp = me.post("/account/", data={"current": world.PASSWORD, "new": "Another-Pass-2026",
                                      "confirm": "Another-Pass-2026"})
    assert resp.status_code == 302
    assert me.get("/").status_code == 200          # this browser got a fresh session
    assert elsewhere.get("/").status_code == 302   # every other one ended


def test_weak_new_password_is_refused_by_policy(world, as_user):
    me = as_user(world.qa)
    resp = me.post("/account/", data={"current": world.PASSWORD, "new": "alllowercase", "confirm": "alllowercase"})
    assert resp.status_code == 200 and "密码须满足" in resp.get_data(as_text=True)  # said in Chinese


def test_idle_and_absolute_timeouts_end_a_session(world, as_user, set_policy):
    set_policy(idle_timeout_minutes=15, absolute_timeout_hours=8)
    start = utcnow()
    with time_machine.travel(start, tick=False) as clock:
        client = as_user(world.nurse)
        clock.shift(timedelta(minutes=14))
        assert client.get("/").status_code == 200
        clock.shift(timedelta(minutes=16))
        assert client.get("/").status_code == 302  # idle
    with time_machine.travel(start, tick=False) as clock:
        client = as_user(world.nurse)
        for _ in range(8 * 6):  # active every 10 minutes for 8 hours
            clock.shift(timedelta(minutes=10))
            status = client.get("/").status_code
        assert status == 302  # absolute


def test_lockout_is_per_username_and_address(world, app, db):
    office = app.test_client()
    for _ in range(5):
        assert _login(office, world.nurse, "wrong-password!", ip="10.1.1.1").status_code == 401
    # Locked at that address even with the right password ...
    assert _login(office, world.nurse, ip="10.1.1.1").status_code == 401
    # ... but a colleague behind the same NAT address signs in, and so does the nurse elsewhere.
    assert _login(app.test_client(), world.ortho_nurse, ip="10.1.1.1").status_code == 302
    assert _login(app.test_client(), world.nurse, ip="10.9.9.9").status_code == 302


def test_many_addresses_lock_the_account_everywhere(world, app, set_policy):
    set_policy(lockout_threshold=5, account_lockout_threshold=8)
    for i in range(8):
        _login(app.test_client(), world.nurse, "wrong-password!", ip=f"10.2.0.{i}")
    assert _login(app.test_client(), world.nurse, ip="10.3.3.3").status_code == 401


def test_every_sign_in_success_and_failure_is_audited_with_address(world, app, db):
    _login(app.test_client(), world.nurse, "nope-nope-nope", ip="10.4.4.4")
    _login(app.test_client(), world.nurse, ip="10.4.4.4")
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("auth.login%"))
                              .order_by(AuditEvent.id)).all()
    assert [(r.action, r.ip, r.username) for r in rows] == [
        ("auth.login_failed", "10.4.4.4", "nurse_a"), ("auth.login", "10.4.4.4", "nurse_a")]


# --- the second factor -----------------------------------------------------------------------

def _enrol(client, db, user):
    """Go through first sign-in enrolment; returns (secret, recovery codes)."""
    resp = _login(client, user)
    assert resp.headers["Location"].endswith("/login/verify")
    assert client.get("/login/verify").headers["Location"].endswith("/login/enrol")
    page = client.get("/login/enrol").get_data(as_text=True)
    assert "data:image/svg+xml;base64," in page  # the QR code, drawn locally
    secret = db.session.get(UserMfa, user.id).secret
    resp = client.post("/login/enrol", data={"code": current_totp(secret)})
    assert resp.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", resp.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def test_policy_requires_totp_and_the_pre_auth_state_grants_nothing(world, app, db, set_policy):
    set_policy(mfa_roles=[Role.NURSE.value])
    client = app.test_client()
    world.discharge()
    assert _login(client, world.nurse).headers["Location"].endswith("/login/verify")
    for path in ("/", "/discharges/", "/calls/", "/account/", "/api/v1/me"):
        resp = client.get(path)
        assert resp.status_code in (302, 401, 404), path
        assert "张三" not in resp.get_data(as_text=True)
    assert client.post("/logout").status_code in (302, 401)
    secret, _ = _enrol(client, db, world.nurse)
    assert client.get("/").status_code == 200
    raw = db.session.execute(text("SELECT secret FROM user_mfa WHERE user_id = :u"), {"u": world.nurse.id}).scalar()
    assert secret.encode() not in bytes(raw)  # the TOTP secret is encrypted at rest
    hashes = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(hashes) == 10 and all(len(h) == 64 for h in hashes)


def test_a_used_totp_code_is_refused_the_second_time(world, app, db, set_policy):
    set_policy(mfa_roles=[Role.NURSE.value])
    now = utcnow()
    with time_machine.travel(now, tick=False) as clock:
        secret, _ = _enrol(app.test_client(), db, world.nurse)
        clock.shift(timedelta(seconds=31))
        code = current_totp(secret)
        first, second = app.test_client(), app.test_client()
        _login(first, world.nurse)
        assert first.post("/login/verify", data={"code": code}).status_code == 302
        _login(second, world.nurse)
        assert second.post("/login/verify", data={"code": code}).status_code == 401  # replay
        assert second.get("/").status_code == 302
        clock.shift(timedelta(seconds=30))
        assert second.post("/login/verify", data={"code": current_totp(secret)}).status_code == 302


def test_recovery_code_works_once(world, app, db, set_policy):
    set_policy(mfa_roles=[Role.NURSE.value])
    _, codes = _enrol(app.test_client(), db, world.nurse)
    c1 = app.test_client()
    _login(c1, world.nurse)
    assert c1.post("/login/verify", data={"code": codes[0].upper()}).status_code == 302
    c2 = app.test_client()
    _login(c2, world.nurse)
    assert c2.post("/login/verify", data={"code": codes[0]}).status_code == 401


def test_second_factor_bypass_attempts_fail(world, app, db, set_policy):
    set_policy(mfa_roles=[Role.NURSE.value])
    secret, _ = _enrol(app.test_client(), db, world.nurse)
    # No password step: the second-factor pages do not exist for this browser.
    stranger = app.test_client()
    assert stranger.get("/login/verify").status_code == 404
    assert stranger.post("/login/verify", data={"code": current_totp(secret)}).status_code == 404
    # A forged pre-auth marker needs the secret key; a marker for a user whose sessions were
    # revoked since is refused.
    client = app.test_client()
    _login(client, world.nurse)
    user = db.session.get(User, world.nurse.id)
    user.revoke_sessions()
    db.session.commit()
    assert client.post("/login/verify", data={"code": current_totp(secret)}).status_code == 404
    # Guessing: five wrong codes drop the pre-auth state and count as failures.
    guesser = app.test_client()
    _login(guesser, world.nurse, ip="10.5.5.5")
    for code in ("000000", "123456", "999999", "abcdef", "111111"):
        guesser.post("/login/verify", data={"code": code}, environ_base={"REMOTE_ADDR": "10.5.5.5"})
    assert guesser.get("/login/verify").status_code == 404
    assert _login(app.test_client(), world.nurse, ip="10.5.5.5").status_code == 401  # locked there
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "auth.mfa_failed"))
    # Enrolment cannot be redone by someone holding only the password.
    intruder = app.test_client()
    _login(intruder, world.nurse, ip="10.6.6.6")
    assert intruder.get("/login/enrol").headers["Location"].endswith("/login/verify")


def test_pre_auth_state_expires(world, app, db, set_policy):
    set_policy(mfa_roles=[Role.NURSE.value])
    secret, _ = _enrol(app.test_client(), db, world.nurse)
    now = utcnow()
    with time_machine.travel(now, tick=False) as clock:
        client = app.test_client()
        _login(client, world.nurse)
        clock.shift(timedelta(minutes=6))
        resp = client.post("/login/verify", data={"code": current_totp(secret)})
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
        assert client.get("/").status_code == 302


def test_sessions_are_stored_hashed_on_the_server(world, as_user, db):
    client = as_user(world.nurse)
    with client.session_transaction() as s:
        token = s["sid"]
    stored = db.session.scalars(select(UserSession.token_hash)).all()
    assert token not in stored and len(stored) == 1


def test_an_expired_password_must_be_changed_before_anything_else(world, app, db, set_policy):
    set_policy(password_max_age_days=90)
    user = db.session.get(User, world.nurse.id)
    user.password_changed_at = utcnow() - timedelta(days=91)
    db.session.commit()
    client = app.test_client()
    assert _login(client, world.nurse).headers["Location"].endswith("/account/")
    assert client.get("/discharges/").headers["Location"].endswith("/account/")
    assert client.get("/api/v1/me").status_code == 403
    client.post("/account/", data={"current": world.PASSWORD, "new": "Fresh-Pass-2026", "confirm": "Fresh-Pass-2026"})
    assert client.get("/discharges/").status_code == 200


def test_password_age_is_off_by_default(world, app, db):
    user = db.session.get(User, world.nurse.id)
    user.password_changed_at = utcnow() - timedelta(days=900)
    db.session.commit()
    client = app.test_client()
    assert _login(client, world.nurse).headers["Location"] == "/"


def test_over_https_the_session_cookie_is_host_bound(make_app, world):
    app = make_app(SESSION_COOKIE_SECURE=True)
    resp = app.test_client().post("/login", data={"username": "nurse_a", "password": world.PASSWORD},
                                  base_url="https://localhost")
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("__Host-followup_session=") and "Path=/" in cookie and "Domain" not in cookie
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie

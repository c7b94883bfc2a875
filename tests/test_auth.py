"""Sign-in: hashed passwords, lockout, fresh sessions, revocation, CSRF."""
from datetime import timedelta

from sqlalchemy import select

from followup.security.auth import LoginRefused, authenticate
from followup.core.clock import utcnow
from followup.models import AuditEvent, User


def test_passwords_are_stored_as_argon2id(world):
    assert world.nurse.password_hash.startswith("$argon2id$")
    assert world.PASSWORD not in world.nurse.password_hash


def test_sign_in_and_out(world, client, login):
    assert client.get("/").status_code == 302  # to the login page
    login(client, world.nurse)
    assert client.get("/").status_code == 200
    assert client.get("/logout").status_code == 405  # sign-out is POST only
    client.post("/logout")
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_and_logged(world, client, db):
    resp = client.post("/login", data={"username": "nurse_a", "password": "nope-nope-nope"})
    assert resp.status_code == 401
    resp = client.post("/login", data={"username": "nobody", "password": "nope-nope-nope"})
    assert resp.status_code == 401
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("auth.login_failed") == 2


def test_sixth_attempt_is_locked_even_with_the_right_password(world, app):
    now = utcnow()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        try:
            authenticate("nurse_a", "wrong-password", now=now)
        except LoginRefused:
            pass
    try:
        authenticate("nurse_a", world.PASSWORD, now=now + timedelta(minutes=1))
        raise AssertionError("locked account signed in")
    except LoginRefused as refused:
        assert refused.reason == "locked"
    later = now + timedelta(minutes=app.config["LOGIN_LOCK_MINUTES"] + 1)
    assert authenticate("nurse_a", world.PASSWORD, now=later).username == "nurse_a"


def test_revoking_sessions_ends_an_existing_cookie(world, as_user, db):
    client = as_user(world.nurse)
    assert client.get("/").status_code == 200
    user = db.session.get(User, world.nurse.id)
    user.revoke_sessions()
    db.session.commit()
    assert client.get("/").status_code == 302


def test_disabled_user_cannot_sign_in(world, client, db):
    world.nurse.active = False
    db.session.commit()
    resp = client.post("/login", data={"username": "nurse_a", "password": world.PASSWORD})
    assert resp.status_code == 401


def test_login_form_needs_the_csrf_token(make_app, world):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    resp = client.post("/login", data={"username": "nurse_a", "password": world.PASSWORD})
    assert resp.status_code == 400  # CSRFProtect refuses the POST before the view runs
    assert client.get("/").status_code == 302


def test_open_redirect_after_login_is_refused(world, client):
    resp = client.post("/login?next=//evil.example/x", data={"username": "nurse_a", "password": world.PASSWORD})
    assert resp.headers["Location"] == "/"


def test_session_cookie_flags(make_app, world):
    app = make_app(SESSION_COOKIE_SECURE=True)
    resp = app.test_client().post("/login", data={"username": "nurse_a", "password": world.PASSWORD},
                                  base_url="https://localhost")
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie

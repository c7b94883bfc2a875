"""Test fixtures: an app on SQLite or PostgreSQL (TEST_DATABASE_URL), the schema built by the
migrations, a clean database per test, a small named world, and signed-in clients per role.

bin/test runs the suite twice: once on SQLite, once on PostgreSQL. Redis-backed tests use
TEST_REDIS_URL (default db 15) and fail, never skip, when Redis is not there."""
import base64
import os
from datetime import date, datetime, time

import flask_babel
import pytest
from flask import g
from sqlalchemy import text
from sqlalchemy.engine import make_url

from followup import create_app
from followup.core.clock import LOCAL_TZ
from followup.extensions import db as _db

TEST_KEYS = {
    "FIELD_KEY": base64.b64encode(b"k" * 32).decode(),
    "INDEX_KEY": base64.b64encode(b"i" * 32).decode(),
}


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    _ensure_pg_database(url)
    return url


def _ensure_pg_database(url: str) -> None:
    import psycopg
    u = make_url(url)
    admin = u.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (u.database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{u.database}"')


def base_config(database_url: str) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key",
        "JOBS_INLINE_MODE": "sync",
        "REDIS_URL": None,
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "WTF_CSRF_ENABLED": False,
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_KIB": 64,
        # The signed-in fixtures use passwords only; tests of the second factor set a policy.
        "MFA_ROLES": "",
        **TEST_KEYS,
    }


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = _database_url(tmp_path_factory)
    app = create_app(base_config(url))
    with app.app_context():
        if _db.engine.dialect.name == "postgresql":
            with _db.engine.begin() as conn:  # start from empty: the migrations build everything
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        from flask_migrate import upgrade
        upgrade(revision="heads")
        _db.engine.dispose()
    return url


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build an app with config overrides (e.g. make_app(WTF_CSRF_ENABLED=True))."""
    def factory(**overrides):
        cfg = {**base_config(database_url), "AUDIT_CHECKPOINT_PATH": str(tmp_path / "audit-checkpoints.jsonl")}
        app = create_app({**cfg, **overrides})
        # Tests keep an app context pushed, which requests then share (Flask reuses it), so
        # per-request caches (Flask-Login's user, Flask-Babel's locale) would leak between clients.
        @app.teardown_request
        def _forget_request_caches(_exc):
            g.pop("_login_user", None)
            flask_babel.refresh()
        return app
    return factory


@pytest.fixture
def app(make_app, request):
    marker = request.node.get_closest_marker("app_config")  # @pytest.mark.app_config(KEY=value)
    app = make_app(**(marker.kwargs if marker else {}))
    with app.app_context():
        yield app
        _db.session.remove()
        try:
            _audit_chain_still_verifies(request)
        finally:
            _db.session.remove()
            _truncate_all()
            _db.engine.dispose()


def _audit_chain_still_verifies(request):
    """After every test the audit chain verifies (with a checkpoint of its head written first, so
    the checkpoint code runs too), unless the test broke it on purpose (marker `breaks_audit_chain`)."""
    if request.node.get_closest_marker("breaks_audit_chain"):
        return
    from followup.core import audit
    from followup.core.clock import utcnow
    audit.write_checkpoint(utcnow())
    ok, checked, bad = audit.verify_chain()
    assert ok, f"the audit chain no longer verifies after this test: broken at event {bad} after {checked}"


def _truncate_all():
    existing = set(_db.inspect(_db.engine).get_table_names())
    tables = [t for t in reversed(_db.metadata.sorted_tables) if t.name in existing]
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def redis_url():
    """A real Redis for integration tests. Missing Redis is a failure, not a skip."""
    import redis
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    conn = redis.Redis.from_url(url)
    try:
        conn.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(f"Redis is required at {url} (start it: see bin/test): {exc}")
    conn.flushdb()
    yield url
    conn.flushdb()


# --- a small named world -------------------------------------------------------------------

class World:
    """One city with two counties, a 市直 hospital and two county hospitals, wards, and one user
    per role (password: PASSWORD). Attribute names say what each thing is."""

    PASSWORD = "correct-horse-battery"

    def __init__(self):
        from followup.models import Hospital, Region, Role, Ward
        from followup.security.users import create_user
        s = _db.session
        self.city = Region(code="371500", name="聊城市", level="city")
        self.county_a = Region(code="371502", name="东昌府区", level="county", parent=self.city)
        self.county_b = Region(code="371521", name="阳谷县", level="county", parent=self.city)
        self.city_hospital = Hospital(code="HC", name="聊城市人民医院", grade="三级甲等", region=self.city)
        self.hospital_a = Hospital(code="HA", name="东昌府区人民医院", grade="二级甲等", region=self.county_a)
        self.hospital_b = Hospital(code="HB", name="阳谷县人民医院", grade="二级甲等", region=self.county_b)
        s.add_all([self.city, self.county_a, self.county_b, self.city_hospital, self.hospital_a, self.hospital_b])
        s.flush()
        self.cardiology = Ward(hospital=self.hospital_a, code="XNK", name="心内科")
        self.orthopaedics = Ward(hospital=self.hospital_a, code="GK", name="骨科")
        self.ward_b = Ward(hospital=self.hospital_b, code="XNK", name="心内科")
        self.ward_city = Ward(hospital=self.city_hospital, code="XNK", name="心内科")
        s.add_all([self.cardiology, self.orthopaedics, self.ward_b, self.ward_city])
        s.flush()

        def user(name, role, **scope):
            return create_user(name, self.PASSWORD, role, **scope)

        self.nurse = user("nurse_a", Role.NURSE, hospital_code="HA", ward_codes=["XNK"])
        self.ortho_nurse = user("nurse_a_gk", Role.NURSE, hospital_code="HA", ward_codes=["GK"])
        self.nurse_b = user("nurse_b", Role.NURSE, hospital_code="HB", ward_codes=["XNK"])
        self.centre = user("centre_a", Role.CENTRE_STAFF, hospital_code="HA")
        self.centre_b = user("centre_b", Role.CENTRE_STAFF, hospital_code="HB")
        self.qa = user("qa_a", Role.QA, hospital_code="HA")
        self.hospital_admin = user("admin_a", Role.HOSPITAL_ADMIN, hospital_code="HA")
        self.responder = user("responder_a", Role.DEPT_RESPONDER, hospital_code="HA", ward_codes=["XNK"])
        self.county_auditor = user("county_a", Role.COUNTY_AUDITOR, region_code="371502")
        self.city_auditor = user("city", Role.CITY_AUDITOR, region_code="371500")
        self.sys_admin = user("sysadmin", Role.SYS_ADMIN)
        self.security_admin = user("secadmin", Role.SECURITY_ADMIN)
        self.audit_admin = user("auditadmin", Role.AUDIT_ADMIN)
        s.commit()

    def discharge(self, ward=None, *, discharged: date | datetime = date(2026, 11, 20), disposition="1",
                  inpatient_no=None, name="张三", phone="+8613812345678", tasks=True, **fields):
        """Add one discharge (with its tasks unless tasks=False) and commit."""
        from followup.models import Discharge, Patient
        from followup.patients.identity import set_name, set_phones
        from followup.calls.scheduling import create_tasks
        ward = ward or self.cardiology
        at = discharged if isinstance(discharged, datetime) else datetime.combine(discharged, time(10), LOCAL_TZ)
        self._seq = getattr(self, "_seq", 0) + 1
        p = Patient(hospital_id=ward.hospital_id, sex="1", birth_date=date(1960, 5, 1))
        set_name(p, name)
        set_phones(p, [phone] if phone else [])
        d = Discharge(hospital_id=ward.hospital_id, ward=ward, patient=p,
                      inpatient_no=inpatient_no or f"ZY{self._seq:06d}", discharge_at=at,
                      discharge_date=at.astimezone(LOCAL_TZ).date(), disposition=disposition,
                      diagnosis_code="I10.x00", diagnosis_name="高血压病", **fields)
        _db.session.add(d)
        _db.session.flush()
        if tasks:
            create_tasks(d)
        _db.session.commit()
        return d


@pytest.fixture
def world(app):
    return World()


@pytest.fixture
def login(app):
    """login(client, user): sign a test client in as user, through the real login form."""
    def do(client, user, password=World.PASSWORD):
        resp = client.post("/login", data={"username": user.username, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return client
    return do


@pytest.fixture
def as_user(app, login):
    """as_user(user) → a new test client signed in as that user."""
    def do(user):
        return login(app.test_client(), user)
    return do

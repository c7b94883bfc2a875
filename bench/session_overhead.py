"""What the security layer costs a nurse: password hashing at the configured argon2 cost, the
second-factor check, and the per-request server-side session check (signed-in page vs an
unauthenticated one). Prints figures; run: .venv/bin/python bench/session_overhead.py [N]"""
import base64
import os
import sys
import tempfile
import time

sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # not bench/: bench/queue.py would shadow the stdlib

from followup import create_app  # noqa: E402


def per_call_ms(fn, n):
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) * 1000 / n


def main(n=300):
    db_path = os.path.join(tempfile.mkdtemp(), "bench.sqlite")
    key = base64.b64encode(os.urandom(32)).decode()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}", "SECRET_KEY": "bench",
                      "FIELD_KEY": key, "INDEX_KEY": key, "SESSION_COOKIE_SECURE": False,
                      "WTF_CSRF_ENABLED": False, "MFA_ROLES": "", "JOBS_INLINE_MODE": "sync"})
    with app.app_context():
        from flask_migrate import upgrade
        from followup.security.auth import check_password, hash_password
        from followup.extensions import db
        from followup.models import Role
        from followup.security import mfa
        from followup.security.users import create_user
        upgrade(revision="heads")
        user = create_user("bench_admin", "Bench-Pass-2026", Role.SYS_ADMIN)
        db.session.commit()
        cfg = app.config
        print(f"argon2id t={cfg['ARGON2_TIME_COST']} m={cfg['ARGON2_MEMORY_KIB']} KiB p=1")
        print(f"  hash   {per_call_ms(lambda: hash_password('Bench-Pass-2026'), 10):7.1f} ms")
        print(f"  verify {per_call_ms(lambda: check_password(user, 'Bench-Pass-2026'), 10):7.1f} ms  (once per sign-in)")
        mfa.begin_enrolment(user)
        from followup.core.clock import utcnow
        print(f"TOTP check {per_call_ms(lambda: mfa.verify_totp(user, '000000', now=utcnow()), 200):6.3f} ms  (once per sign-in)")
        db.session.rollback()
    client = app.test_client()
    client.post("/login", data={"username": "bench_admin", "password": "Bench-Pass-2026"})
    anon = app.test_client()
    assert client.get("/api/v1/me").status_code == 200 and anon.get("/api/v1/me").status_code == 401
    signed = per_call_ms(lambda: client.get("/api/v1/me"), n)
    bare = per_call_ms(lambda: anon.get("/api/v1/me"), n)
    health = per_call_ms(lambda: anon.get("/healthz"), n)
    print(f"requests (n={n}, SQLite, in-process):")
    print(f"  GET /healthz                              {health:6.2f} ms")
    print(f"  GET /api/v1/me, no cookie (401)           {bare:6.2f} ms")
    print(f"  GET /api/v1/me, server-side session (200) {signed:6.2f} ms"
          f"  -> session check + user + policy + JSON: +{signed - bare:.2f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)

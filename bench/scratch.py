"""A benchmark's own PostgreSQL database and the app on it (bench/summary.py, bench/partitions.py)."""
import base64


def scratch_app(url: str, *, fresh: bool, key: bytes = b"b", revision: str = "heads"):
    """The followup app on `url`, a scratch database: created if missing, dropped and created
    again when `fresh`, migrated to `revision`. Jobs run inline (no Redis); the field and index
    keys are fixed, so a database kept between runs stays readable by the next one."""
    import psycopg
    from sqlalchemy.engine import make_url
    u = make_url(url)
    with psycopg.connect(u.set(database="postgres").render_as_string(hide_password=False), autocommit=True) as c:
        if fresh:
            c.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (u.database,)).fetchone():
            c.execute(f'CREATE DATABASE "{u.database}"')
    from followup import create_app
    k = base64.b64encode(key * 32).decode()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://", 1),
                      "SECRET_KEY": "bench", "FIELD_KEY": k, "INDEX_KEY": k, "REDIS_URL": None,
                      "JOBS_INLINE_MODE": "sync"})
    with app.app_context():
        from flask_migrate import upgrade
        from followup.extensions import db
        upgrade(revision=revision)
        db.engine.dispose()
    return app

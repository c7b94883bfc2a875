"""Settings from the environment: one class, defaults for the embedded (SQLite, no Redis) mode."""
import os
from datetime import timedelta


def _env(name, default=None):
    return os.environ.get(f"FOLLOWUP_{name}", default)


def _flag(name, default):
    return _env(name, "1" if default else "0").lower() in ("1", "true", "yes", "on")


class Config:
    # The embedded default: a SQLite file under instance/ (filled in by create_app).
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")
    # hide_parameters: a database error's message (and so any traceback in a log) shows the SQL
    # but never the bound values: session token hashes, blind indexes, ciphertexts.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
    REDIS_URL = os.environ.get("REDIS_URL")  # None: jobs run in-process
    SECRET_KEY = _env("SECRET_KEY") or os.environ.get("SECRET_KEY")
    # Field encryption key for phone numbers and the HMAC key for blind indexes (base64, 32 bytes).
    FIELD_KEY = _env("FIELD_KEY")
    INDEX_KEY = _env("INDEX_KEY")
    # HMAC key of the audit chain and its checkpoints (base64, 32 bytes; derived from INDEX_KEY
    # when unset). Keep it out of the database and away from database administrators.
    AUDIT_KEY = _env("AUDIT_KEY")
    # Signed checkpoints of the audit chain's head, appended outside the database by the cron
    # process (default: instance/audit-checkpoints.jsonl). Ship this file off the box.
    AUDIT_CHECKPOINT_PATH = _env("AUDIT_CHECKPOINT_PATH")

    TIMEZONE = "Asia/Shanghai"
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ["zh_CN", "en"]

    # Sessions and cookies. Secure cookies unless explicitly running plain-http locally.
    SESSION_COOKIE_NAME = "followup_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _flag("SECURE_COOKIES", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_HTTPONLY = True
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    MAX_CONTENT_LENGTH = int(_env("MAX_UPLOAD_MB", "50")) * 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None  # tied to the session, which expires on its own

    # Login throttling defaults until the security admin saves a policy (security_policy):
    # lock a (username, address) pair after this many failures, for this long.
    LOGIN_MAX_FAILURES = int(_env("LOGIN_MAX_FAILURES", "5"))
    LOGIN_LOCK_MINUTES = int(_env("LOGIN_LOCK_MINUTES", "15"))
    # argon2id cost; tests lower it.
    ARGON2_TIME_COST = int(_env("ARGON2_TIME_COST", "2"))
    ARGON2_MEMORY_KIB = int(_env("ARGON2_MEMORY_KIB", "19456"))
    # Roles that must sign in with TOTP until the security admin saves a policy: a comma list
    # of role values, or "all" (what an MLPS level 3 deployment sets).
    MFA_ROLES = _env("MFA_ROLES", "sys_admin,security_admin,audit_admin")
    # Audit records are kept this long (the policy may change it, never below 180 days).
    AUDIT_RETENTION_DAYS = int(_env("AUDIT_RETENTION_DAYS", "1095"))

    # Logs: JSON lines on stderr with request ids (production); off keeps Python's default.
    LOG_JSON = _flag("LOG_JSON", False)
    LOG_LEVEL = _env("LOG_LEVEL", "INFO")
    # Exports of months with more discharges than this run as jobs (the page polls progress).
    EXPORT_INLINE_MAX_DISCHARGES = int(_env("EXPORT_INLINE_MAX_DISCHARGES", "20000"))

    # Background jobs. "thread" runs in-process without Redis; "sync" runs at once (tests).
    JOBS_INLINE_MODE = _env("JOBS_INLINE_MODE", "thread")
    JOB_TIMEOUT = int(_env("JOB_TIMEOUT", "1800"))
    # A failed rq job keeps only an outbox id, but Redis is no archive: drop it after a day (the
    # outbox row keeps the error for the reconciler and the admins).
    JOB_FAILURE_TTL = int(_env("JOB_FAILURE_TTL", str(24 * 3600)))
    JOB_RESULT_TTL = int(_env("JOB_RESULT_TTL", "3600"))
    # A running job holds a lease of this length, renewed by a heartbeat every third of it; the
    # reconciler (every CRON_INTERVAL seconds) re-drives a job whose lease lapsed, or whose rq job
    # Redis no longer has. Recovery after a lost worker ≤ lease + interval + queue wait.
    JOB_LEASE_SECONDS = float(_env("JOB_LEASE_SECONDS", "30"))
    CRON_INTERVAL = float(_env("CRON_INTERVAL", "10"))
    REDIS_SOCKET_TIMEOUT = float(_env("REDIS_SOCKET_TIMEOUT", "2"))

    # The 7-day rule (出院7日内电话回访).
    FOLLOWUP_DEADLINE_DAYS = int(_env("DEADLINE_DAYS", "7"))

    # Call queues (followup/calls/policy.py reads these; every call rule lives there).
    # Calling hours, local time: "HH:MM-HH:MM" windows, comma-separated.
    FOLLOWUP_CALLING_HOURS = _env("CALLING_HOURS", "08:30-11:30,14:00-20:00")
    # Local clock times where one part of the day ends and the next begins (morning|afternoon|evening).
    FOLLOWUP_DAY_PARTS = _env("DAY_PARTS", "12:00,17:00")
    FOLLOWUP_RETRY_MINUTES = int(_env("RETRY_MINUTES", "120"))
    FOLLOWUP_MAX_ATTEMPTS_PER_DAY = int(_env("MAX_ATTEMPTS_PER_DAY", "3"))
    FOLLOWUP_LOST_MIN_ATTEMPTS = int(_env("LOST_MIN_ATTEMPTS", "5"))
    FOLLOWUP_LOST_MIN_DAYS = int(_env("LOST_MIN_DAYS", "3"))
    FOLLOWUP_CLAIM_MINUTES = int(_env("CLAIM_MINUTES", "15"))
    FOLLOWUP_AT_RISK_HOURS = int(_env("AT_RISK_HOURS", "24"))
    FOLLOWUP_CALLBACK_MAX_DAYS = int(_env("CALLBACK_MAX_DAYS", "14"))
    # How long after the patient's "call me at" time it still overrides calling hours.
    FOLLOWUP_CALLBACK_GRACE_MINUTES = int(_env("CALLBACK_GRACE_MINUTES", "60"))

    # Imports: rows per committed chunk, the run lease, and the largest file accepted (rows).
    IMPORT_CHUNK_ROWS = int(_env("IMPORT_CHUNK_ROWS", "5000"))
    # The batch lease is renewed with every chunk (5,000 rows take a few seconds): short, so a
    # batch whose runner died is taken over well inside a minute.
    IMPORT_LEASE_SECONDS = int(_env("IMPORT_LEASE_SECONDS", "30"))
    IMPORT_MAX_ROWS = int(_env("IMPORT_MAX_ROWS", "1000000"))
    # Worker processes preparing rows (validation, encryption) for files of at least
    # IMPORT_POOL_MIN_ROWS rows; 0 prepares them in the importing process. One CPU is left to
    # the writer and PostgreSQL: on 2 cores one worker imports as fast as two (bench/import.py).
    IMPORT_PROCESSES = int(_env("IMPORT_PROCESSES", str(max(1, (os.cpu_count() or 2) - 1))))
    IMPORT_POOL_MIN_ROWS = int(_env("IMPORT_POOL_MIN_ROWS", "20000"))

    # Evidence attached to ledger items: a directory outside static/ (default: instance/evidence),
    # and the largest file accepted.
    EVIDENCE_DIR = _env("EVIDENCE_DIR")
    EVIDENCE_MAX_MB = int(_env("EVIDENCE_MAX_MB", "10"))
    # Days a commission finding may stay open unless the auditor sets its own deadline.
    FINDING_DUE_DAYS = int(_env("FINDING_DUE_DAYS", "15"))

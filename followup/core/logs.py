"""Structured logs: JSON lines (Chinese kept as is), a request id bound per web request and
carried into the jobs it caused, phones and ID numbers masked in every field.

Existing `logging.getLogger(__name__)` calls go through the same processors, so one handler on
the root logger writes every line of the process (web, worker, cron) in one shape."""
import logging
import re
import sys
import uuid

import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars, clear_contextvars, get_contextvars

# A request id from the proxy (nginx $request_id) is kept only if it looks like one.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Mainland mobiles (optionally +86/0086), 18-digit resident ID numbers and 15-digit old ones.
# Digits around them must not be digits: an order number that contains 11 digits is not a phone.
_PHONE = re.compile(r"(?<![0-9])(?:\+?86[- ]?|0086[- ]?)?(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")
_ID18 = re.compile(r"(?<![0-9A-Za-z])([1-9][0-9]{5})[0-9]{8}[0-9]{3}[0-9Xx](?![0-9A-Za-z])")
_ID15 = re.compile(r"(?<![0-9])([1-9][0-9]{5})[0-9]{9}(?![0-9])")


def mask_text(s: str) -> str:
    """138****5678 for a mobile; the region code and asterisks for an ID number."""
    s = _ID18.sub(lambda m: m.group(1) + "*" * 12, s)
    s = _ID15.sub(lambda m: m.group(1) + "*" * 9, s)
    return _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", s)


def _mask(value):
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask(v) for v in value]
    return value


def mask_personal_data(_logger, _method, event_dict):
    """The one masking processor: every string value, whatever its key (the event text, an
    exception's message, an argument someone logged by mistake)."""
    return {k: _mask(v) for k, v in event_dict.items()}


def _render_exception_then_mask(logger, method, event_dict):
    # Tracebacks carry messages with data in them: render first so the mask sees them.
    return mask_personal_data(logger, method, structlog.processors.format_exc_info(logger, method, event_dict))


SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def handler(stream=None, json: bool = True) -> logging.Handler:
    """A root handler whose lines are rendered by structlog (JSON or, for a terminal, console)."""
    renderer = (structlog.processors.JSONRenderer(ensure_ascii=False) if json
                else structlog.dev.ConsoleRenderer(colors=False))
    h = logging.StreamHandler(stream or sys.stderr)
    h.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    _render_exception_then_mask, renderer]))
    h._followup = True
    return h


def configure(level: str = "INFO", json: bool = True, stream=None) -> None:
    """Once per process (create_app calls it when FOLLOWUP_LOG_JSON is on). Replaces only the
    handler this module installed, so calling it again (tests, several apps) adds no duplicate."""
    structlog.configure(
        processors=[*SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True)
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, "_followup", False)]:
        root.removeHandler(h)
    root.addHandler(handler(stream, json))
    root.setLevel(level)
    # Alembic's fileConfig (flask db upgrade in the same process) disables loggers made before it.
    for name, logger in logging.root.manager.loggerDict.items():
        if name.startswith(("followup", "rq")) and isinstance(logger, logging.Logger):
            logger.disabled = False


def new_request_id(incoming: str | None) -> str:
    return incoming if incoming and _REQUEST_ID.match(incoming) else uuid.uuid4().hex


def bind_request(request_id: str, **fields) -> None:
    """Start a request's (or a job's) log context: nothing of the previous one survives."""
    clear_contextvars()
    bind_contextvars(request_id=request_id, **fields)


def current_request_id() -> str | None:
    return get_contextvars().get("request_id")


def job_context(outbox_row):
    """Log fields for one job run, restored afterwards (an inline job runs inside a request)."""
    return bound_contextvars(request_id=outbox_row.request_id or f"outbox-{outbox_row.id}",
                             outbox_id=outbox_row.id, job=outbox_row.name, attempt=outbox_row.attempts)


def init_app(app) -> None:
    """Bind a request id at the start of each request and echo it in X-Request-ID."""
    from flask import g, request

    if app.config.get("LOG_JSON"):
        configure(app.config.get("LOG_LEVEL", "INFO"), json=True)

    @app.before_request
    def _bind_request_id():
        g.request_id = new_request_id(request.headers.get("X-Request-ID"))
        bind_request(g.request_id, method=request.method, path=request.path)

    @app.after_request
    def _echo_request_id(resp):
        if getattr(g, "request_id", None):
            resp.headers["X-Request-ID"] = g.request_id
        return resp

    @app.teardown_request
    def _unbind(_exc):
        clear_contextvars()

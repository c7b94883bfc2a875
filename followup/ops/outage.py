"""A database that is down, restarting or read-only is an outage, not a bug: requests that hit
one answer 503 with Retry-After (JSON on the API, a page elsewhere) instead of a 500."""
from flask import jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError

from ..extensions import db

RETRY_AFTER = "10"


def _is_outage(exc: DBAPIError) -> bool:
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        return True
    try:
        from psycopg import errors
    except ImportError:  # SQLite-only install
        return False
    return isinstance(exc.orig, (errors.ReadOnlySqlTransaction, errors.AdminShutdown,
                                 errors.CannotConnectNow))


def init_app(app) -> None:
    @app.errorhandler(DBAPIError)
    def _database_unavailable(exc):
        try:
            db.session.rollback()
        except DBAPIError:  # the connection is gone; the pool replaces it
            db.session.remove()
        if not _is_outage(exc):
            raise exc
        app.logger.warning("database unavailable: %s", type(exc.orig).__name__)
        if request.path.startswith("/api/"):
            resp = jsonify({"code": 503, "status": "Service Unavailable",
                            "message": "the database is unavailable; try again shortly"})
        else:
            resp = app.make_response((render_template("errors/503.html"), 503))
        resp.status_code = 503
        resp.headers["Retry-After"] = RETRY_AFTER
        return resp

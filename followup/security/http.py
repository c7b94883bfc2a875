"""Request guards for every route: input the databases cannot take (NUL characters, integers
beyond their column range) is refused as a client error before or when it reaches the database,
never as a 500, wherever a view forgot a bound."""
import re

from flask import abort, jsonify, render_template, request
from sqlalchemy.exc import DataError

from ..extensions import db

_HUGE_INT = re.compile(r"\s*[-+]?\d{19,}\s*")  # beyond 64 bits: SQLite cannot even bind it
_INT_SEGMENT = re.compile(r"/(\d{10,})(?=/|\.|$)")
MAX_ID = 2**31 - 1  # ids are 32-bit integer columns on PostgreSQL


def _has_nul(multidict) -> bool:
    return any("\x00" in k or any("\x00" in v for v in vs) for k, vs in multidict.lists())


def init_app(app) -> None:
    @app.before_request
    def _refuse_unstorable_input():
        if "\x00" in request.path or _has_nul(request.args):
            abort(400)
        if any(int(m) > MAX_ID for m in _INT_SEGMENT.findall(request.path)):
            abort(404)  # no row has such an id
        if any(_HUGE_INT.fullmatch(v) for vs in request.args.listvalues() for v in vs):
            abort(400)
        if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
                "application/x-www-form-urlencoded", "multipart/form-data"):
            if request.mimetype == "application/x-www-form-urlencoded":
                # Keep the raw body: `curl --data-binary @file.csv` sends a file under this type,
                # and parsing the form would consume it (the import API reads it with get_data).
                request.get_data(cache=True)
            if _has_nul(request.form):
                abort(400)

    @app.errorhandler(DataError)
    def _value_the_database_refused(_exc):
        """E.g. a filter number beyond the column's range: the request was wrong, not the server."""
        db.session.rollback()
        if request.path.startswith("/api/"):
            return jsonify({"code": 400, "status": "Bad Request",
                            "message": "a value is out of range or not storable"}), 400
        return render_template("errors/400.html"), 400

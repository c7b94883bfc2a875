"""Request guards for every route: input the databases cannot take (NUL characters, integers
beyond 64 bits) is refused with 400 before any view sees it, instead of surfacing as a database
error (500) wherever a view forgot a bound."""
import re

from flask import abort, request

_HUGE_INT = re.compile(r"\s*[-+]?\d{19,}\s*")
_HUGE_ID = re.compile(r"/\d{19,}(/|\.|$)")


def _has_nul(multidict) -> bool:
    return any("\x00" in k or any("\x00" in v for v in vs) for k, vs in multidict.lists())


def init_app(app) -> None:
    @app.before_request
    def _refuse_nul_bytes():
        if "\x00" in request.path or _has_nul(request.args):
            abort(400)
        if _HUGE_ID.search(request.path):
            abort(404)  # no row has such an id
        if any(_HUGE_INT.fullmatch(v) for vs in request.args.listvalues() for v in vs):
            abort(400)
        if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
                "application/x-www-form-urlencoded", "multipart/form-data") and _has_nul(request.form):
            abort(400)

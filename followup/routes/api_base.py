"""The JSON API: flask-smorest with a vendored Swagger UI, one JSON error shape, and the
authentication decorator shared by API modules (session cookie + CSRF header)."""
from functools import wraps

from flask import current_app, jsonify, request
from flask_login import current_user
from flask_smorest import Api, abort

API_PREFIX = "/api/v1"


def init_api(app) -> Api:
    app.config.setdefault("API_TITLE", "followup API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", API_PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "/docs")
    # Vendored, never a CDN (static/vendor/swagger-ui).
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", "/static/vendor/swagger-ui/")
    api = Api(app, spec_kwargs={"components": {"securitySchemes": {
        "session": {"type": "apiKey", "in": "cookie", "name": app.config["SESSION_COOKIE_NAME"]}}}})
    app.extensions["followup_api"] = api
    # Before the CSRF check: a call with no session (e.g. a Bearer token on a cookie-only API)
    # is a 401 as documented, not a 400 about a CSRF token it could never have had.
    # (The role check stays after it: a signed-in caller without the token still gets the 400.)
    hooks = app.before_request_funcs.setdefault(None, [])
    csrf_at = next((i for i, f in enumerate(hooks) if f.__name__ == "csrf_protect"), len(hooks))
    hooks.insert(csrf_at, _require_sign_in_first)
    app.before_request(_check_api_access_first)
    return api


def _check_api_access(roles):
    if not current_user.is_authenticated:
        abort(401, message="authentication required")
    if roles and current_user.role not in roles:
        abort(403, message="not allowed for this role")


def _require_sign_in_first():
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "api_roles", None) is not None and not current_user.is_authenticated:
        abort(401, message="authentication required")


def _check_api_access_first():
    """Run the endpoint's access check before flask-smorest parses and validates the request, so
    a caller without access learns nothing (not even a 422 about the body), whatever the order
    of the decorators on the view."""
    view = current_app.view_functions.get(request.endpoint or "")
    roles = getattr(view, "api_roles", None)
    if roles is not None:
        _check_api_access(roles)


def api_login_required(*roles):
    """Signed in (any role, or one of `roles`); else 401/403 as JSON. The check also runs
    before the request is parsed (see _check_api_access_first)."""
    allowed = frozenset(str(r) for r in roles)

    def deco(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            _check_api_access(allowed)
            return fn(*args, **kwargs)
        wrapper.api_roles = allowed  # copied onto outer wrappers by functools.wraps
        return wrapper
    return deco


def json_error(status: int, message: str, **extra):
    body = {"code": status, "status": message, **extra}
    return jsonify(body), status

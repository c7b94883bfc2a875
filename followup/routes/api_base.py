"""The JSON API: flask-smorest with a vendored Swagger UI, one JSON error shape, and the
authentication decorator shared by API modules (session cookie + CSRF header)."""
from functools import wraps

from flask import jsonify
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
    return api


def api_login_required(*roles):
    """Signed in (any role, or one of `roles`); else 401/403 as JSON."""
    def deco(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                abort(401, message="authentication required")
            if roles and current_user.role not in {str(r) for r in roles}:
                abort(403, message="not allowed for this role")
            return fn(*args, **kwargs)
        return wrapper
    return deco


def json_error(status: int, message: str, **extra):
    body = {"code": status, "status": message, **extra}
    return jsonify(body), status

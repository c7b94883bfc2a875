"""Jinja set-up: filters for local time and labels, the role-filtered menu, security headers."""
import phonenumbers
from flask import request
from flask_babel import format_datetime, get_locale, gettext
from flask_login import current_user

from .clock import local
from .labels import DISPOSITION_LABELS


def init_templating(app):
    app.jinja_env.filters["localdt"] = lambda dt, fmt="yyyy-MM-dd HH:mm": format_datetime(local(dt), fmt) if dt else ""
    app.jinja_env.filters["phone_display"] = phone_display
    app.jinja_env.filters["disposition"] = lambda code: str(DISPOSITION_LABELS.get(code, code or ""))

    @app.context_processor
    def _menu():
        from ..routes import NAV
        from ..extensions import db
        from ..notifications import unread_count
        items = []
        if current_user.is_authenticated:
            items = [n for n in NAV if current_user.role in n.roles]
        # Called by the layout only: an htmx fragment (a saved form, the dial list) renders
        # neither the bell nor the menu, and should not count notifications for them.
        return {"menu": items, "_": gettext, "get_locale": get_locale, "current_path": request.path,
                "unread_notifications": lambda: unread_count(db.session, current_user.id)
                if current_user.is_authenticated else 0,  # the bell, on every page
                "active_endpoint": lambda: _active(items)}

    def _active(items):
        """The menu entry of this page: the longest entry path that prefixes it ("/commission/score"
        is not also "/commission/")."""
        from flask import url_for
        best, best_len = None, 0
        for n in items:
            url = url_for(n.endpoint)
            if url != "/" and request.path.startswith(url) and len(url) > best_len:
                best, best_len = n.endpoint, len(url)
        return best

    @app.errorhandler(404)
    def _not_found(_err):
        from flask import jsonify, render_template
        if request.path.startswith("/api/"):
            return jsonify({"code": 404, "status": "Not Found"}), 404
        return render_template("errors/404.html"), 404

    @app.errorhandler(405)
    def _method_not_allowed(err):
        """RFC 9110: a 405 names the methods the resource does support (`Allow`)."""
        from flask import jsonify
        allow = ", ".join(sorted(err.valid_methods or []))
        if request.path.startswith("/api/"):
            resp = jsonify({"code": 405, "status": "Method Not Allowed"})
        else:
            resp = app.make_response(("Method Not Allowed", 405, {"Content-Type": "text/plain; charset=utf-8"}))
        resp.status_code = 405
        if allow:
            resp.headers["Allow"] = allow
        return resp

    @app.errorhandler(413)
    def _too_large(_err):
        """An upload over MAX_CONTENT_LENGTH: refused before it is read, with a plain answer."""
        from flask import current_app, jsonify, render_template
        limit_mb = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        if request.path.startswith("/api/"):
            return jsonify({"code": 413, "status": "Payload Too Large", "limit_mb": limit_mb}), 413
        return render_template("errors/413.html", limit_mb=limit_mb), 413

    @app.after_request
    def _headers(resp):
        # Strict CSP: no inline script, no third-party origins (everything is vendored).
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith(("/discharges", "/calls", "/api")):
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp


def phone_display(e164: str | None) -> str:
    """A stored E.164 number as a Chinese caller reads it: mobiles spaced 3-4-4 (138 1234 5678),
    landlines as area code-number (0635-8273456), an extension after 转. tel: links keep E.164."""
    if not e164:
        return ""
    try:
        n = phonenumbers.parse(e164, "CN")
    except phonenumbers.NumberParseException:
        return e164
    ext = f" 转{n.extension}" if n.extension else ""
    if n.country_code != 86:
        return phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.INTERNATIONAL) + ext
    national = phonenumbers.national_significant_number(n)
    area = phonenumbers.length_of_geographical_area_code(n)
    if area and phonenumbers.number_type(n) == phonenumbers.PhoneNumberType.FIXED_LINE:
        return f"0{national[:area]}-{national[area:]}{ext}"
    return phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.NATIONAL) + ext

"""Blueprints: thin handlers that parse the request, call a domain function, and render.

Every module here is registered: a page module defines `bp` (a Flask Blueprint); a JSON API
module is named `api_*.py` and defines `blp` (a flask-smorest Blueprint under /api/v1).
A module adds its menu entries with `nav(...)`."""
import importlib
import pkgutil
from dataclasses import dataclass

from flask import Flask


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str            # an English msgid; translated at render time
    roles: frozenset      # Role values that see the entry
    order: int = 50


NAV: list[NavItem] = []


def nav(endpoint: str, label: str, roles, order: int = 50) -> None:
    NAV.append(NavItem(endpoint, label, frozenset(str(r) for r in roles), order))
    NAV.sort(key=lambda n: n.order)


def register_blueprints(app: Flask) -> None:
    from .api_base import init_api
    api = init_api(app)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "bp"):
            app.register_blueprint(module.bp)
        if hasattr(module, "blp"):
            api.register_blueprint(module.blp)


def call_policy():
    """The call rules for this request: config, with the signed-in user's hospital's own calling
    hours, retry spacing and daily cap (followup/calls/policy.py). Built per call (cached there)."""
    from flask import current_app
    from flask_login import current_user

    from ..calls import policy
    from ..extensions import db
    from ..models import Hospital
    hospital_id = getattr(current_user, "hospital_id", None)
    return policy.build(current_app.config, db.session.get(Hospital, hospital_id) if hospital_id else None)

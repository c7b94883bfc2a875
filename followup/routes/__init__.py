"""Blueprints: thin handlers that parse the request, call a domain function, and render.

Each module defines `bp`; HTML pages and the JSON API (under routes/api_*.py, flask-smorest)
live in separate modules. A module adds its menu entries with `nav(...)`."""
import importlib
from dataclasses import dataclass

from flask import Flask

# Page blueprints, in menu order. A module listed here must define `bp`.
PAGE_MODULES = ["auth", "main", "discharges", "admin"]
# flask-smorest blueprints (JSON API under /api/v1), each module defines `blp`.
API_MODULES = ["api_meta"]


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
    for name in PAGE_MODULES:
        app.register_blueprint(importlib.import_module(f"{__name__}.{name}").bp)
    from .api_base import init_api
    api = init_api(app)
    for name in API_MODULES:
        api.register_blueprint(importlib.import_module(f"{__name__}.{name}").blp)

"""`flask followup …` commands. Each module in this package adds its commands to the group."""
import importlib
import pkgutil

from flask.cli import AppGroup

followup_cli = AppGroup("followup", help="Discharge follow-up service commands.")

for _mod in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_mod.name}")

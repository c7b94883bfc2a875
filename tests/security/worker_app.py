"""The app a subprocess `flask followup worker` runs in the worker test: the real app, plus the
probe jobs (registered on import)."""
import pii_probe_jobs  # noqa: F401

from followup import create_app

app = create_app()

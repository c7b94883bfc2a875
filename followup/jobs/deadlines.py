"""The deadline watch as a periodic job: an entry point only (the rules are in followup/calls)."""
import logging

from flask import current_app

from ..calls import policy
from ..calls.watch import watch
from ..core.clock import utcnow
from ..extensions import db
from . import job
from .maintenance import PERIODIC, Periodic

log = logging.getLogger(__name__)


@job("deadline_watch")
def deadline_watch():
    result = watch(utcnow(), policy.build(current_app.config), after_step=db.session.commit)
    log.info("deadline watch: %s", result)
    return result


# Once a minute: claims time out in minutes, and the watch is cheap (indexed, set-based).
PERIODIC.append(Periodic(id="deadline-watch", job="deadline_watch", period="minute"))

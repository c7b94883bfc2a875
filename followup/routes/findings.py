"""The commission's findings (督导反馈问题): raised from a verification call, followed per hospital,
struck off (销号) or sent back by the commission only."""
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from ..core import audit
from ..core.access import AUDITOR_ROLES, blueprint_only_for, finding_filter, get_scoped_or_404, sampled_record_filter
from ..core.clock import utcnow
from ..extensions import db
from ..models.opinion import RectificationItem
from ..models.sample import SampledRecord
from ..rectification import findings as F
from ..rectification import ledger
from . import nav

bp = Blueprint("findings", __name__, url_prefix="/findings")
nav("findings.index", "Findings", AUDITOR_ROLES, order=63)
blueprint_only_for(bp, *AUDITOR_ROLES)


def _finding(item_id: int) -> RectificationItem:
    return get_scoped_or_404(current_user, RectificationItem, item_id, finding_filter)


def _date(text):
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@bp.route("/")
def index():
    hid = request.args.get("hospital", "")
    return render_template("findings/index.html", **F.index_page(current_user, int(hid) if hid.isdigit() and len(hid) < 9 else None,
                                                                  utcnow()))


@bp.route("/<int:item_id>")
def show(item_id):
    item = _finding(item_id)
    audit.record("finding.view", object_type="rectification_item", object_id=item.id)
    db.session.commit()
    return render_template("findings/show.html", **F.show_page(item, current_user, utcnow()))


# step → the operation on the finding and its message
STEPS = {
    "close": (lambda it, f, now: ledger.close(it, user=current_user, now=now, note=f.get("note", "")), _l("Struck off.")),
    "send-back": (lambda it, f, now: ledger.send_back(it, user=current_user, now=now, note=f.get("note", "")),
                  _l("Sent back to the hospital.")),
    "deadline": (lambda it, f, now: F.set_deadline(it, _date(f.get("due_date")) or it.due_date, user=current_user,
                                                   now=now, note=f.get("note", "")), _l("Deadline set.")),
}


@bp.route("/<int:item_id>/<any(close, 'send-back', deadline):step>", methods=["POST"])
def take_step(item_id, step):
    item = _finding(item_id)
    apply, done = STEPS[step]
    try:
        apply(item, request.form, utcnow())
        db.session.commit()
        flash(str(done), "success")
    except (ValueError, StaleDataError) as exc:
        db.session.rollback()
        flash(str(exc) if isinstance(exc, ValueError) else _("Someone changed this item at the same time."), "error")
    return redirect(url_for("findings.show", item_id=item_id))


@bp.route("/raise/<int:sample_id>/<int:record_id>", methods=["POST"])
def raise_finding(sample_id, record_id):
    record = get_scoped_or_404(current_user, SampledRecord, record_id, lambda u: sampled_record_filter(u) & (SampledRecord.sample_id == sample_id))
    if record.reached is None:
        abort(409)
    try:
        item = F.open_finding(record, user=current_user, now=utcnow(), due=_date(request.form.get("due_date")),
                              note=request.form.get("note", ""))
    except ValueError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("sampling.call", sample_id=sample_id, record_id=record_id))
    db.session.commit()
    flash(_("Finding sent to the hospital."), "success")
    return redirect(url_for("findings.show", item_id=item.id))

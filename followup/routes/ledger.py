"""The rectification ledger pages (整改台账): QA lists, verifies, closes, sends back and
reassigns; a department responder sees its departments' items and writes cause and measures."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..rectification import complaints, ledger
from ..core import audit
from ..core.access import LEDGER_ROLES, get_scoped_or_404, ledger_filter, may_read_opinions
from ..core.clock import local_date, utcnow
from ..extensions import db
from ..core.labels import CATEGORY_LABELS, EVENT_LABELS, ITEM_STATUS_LABELS
from ..models import Role, User, Ward
from ..models.opinion import RectificationItem
from ..schemas.ledger import CloseIn, LedgerFilter, ReassignIn, RespondIn, SendBackIn, load_or_400
from . import nav

bp = Blueprint("ledger", __name__, url_prefix="/ledger")
nav("ledger.index", "Rectification ledger", [Role.QA, Role.DEPT_RESPONDER], order=42)

PAGE_SIZE = 50
RI = RectificationItem


@bp.route("/")
@login_required
def index():
    if current_user.role_enum not in LEDGER_ROLES:
        abort(404)
    args = load_or_400(LedgerFilter(), request.args)
    listing = ledger.page(current_user, args, today=local_date(utcnow()), page_size=PAGE_SIZE)
    return render_template("ledger/index.html", **listing, page=args["page"], wards=_wards(),
                           ward_names={w.id: w.name for w in _wards()}, labels=ITEM_STATUS_LABELS)


def _wards():
    """Departments the user may filter by or assign to."""
    if current_user.role_enum == Role.DEPT_RESPONDER:
        return sorted(current_user.wards, key=lambda w: w.name)
    return db.session.scalars(select(Ward).where(Ward.hospital_id == current_user.hospital_id)
                              .order_by(Ward.kind, Ward.name)).all()


@bp.route("/<int:item_id>")
@login_required
def show(item_id):
    item = get_scoped_or_404(current_user, RI, item_id, ledger_filter)
    db.session.refresh(item)
    events = item.events
    users = {u.id: u for u in db.session.scalars(select(User).options(selectinload(User.wards))
                                                 .where(User.id.in_({e.user_id for e in events} |
                                                                    {(e.data or {}).get("user_id") for e in events})))}
    audit.record("ledger.view", object_type="rectification_item", object_id=item.id)
    db.session.commit()
    return render_template("ledger/show.html", item=item, events=events, users=users,
                           today=local_date(utcnow()), wards=_wards(),
                           ward_names={w.id: w.name for w in _wards()}, labels=ITEM_STATUS_LABELS,
                           category_labels=CATEGORY_LABELS, event_labels=EVENT_LABELS, is_qa=current_user.role_enum == Role.QA,
                           show_opinion=may_read_opinions(current_user), **complaints.case_view(item, current_user))


def _respond(item, f, now):
    ledger.respond(item, user=current_user, cause=f["cause"], measures=f["measures"], now=now)


def _close(item, f, now):
    ledger.close(item, user=current_user, now=now, note=f["note"])


def _send_back(item, f, now):
    ledger.send_back(item, user=current_user, now=now, note=f["note"])


def _reassign(item, f, now):
    ward = db.session.get(Ward, f["ward_id"]) if f["ward_id"] else None
    ledger.reassign(item, user=current_user, now=now, ward=ward, due=f["due_date"], note=f["note"])


# step → (the role that takes it, its input schema, the ledger operation, the message)
STEPS = {
    "respond": (Role.DEPT_RESPONDER, RespondIn, _respond, _l("Your answer was sent to QA.")),
    "close": (Role.QA, CloseIn, _close, _l("Verified and closed.")),
    "send-back": (Role.QA, SendBackIn, _send_back, _l("Sent back to the department.")),
    "reassign": (Role.QA, ReassignIn, _reassign, _l("Reassigned.")),
}


def _step_refusal(err) -> str:
    if isinstance(err, ValidationError):
        return "; ".join(" ".join(map(str, v)) for v in err.messages.values())
    if isinstance(err, StaleDataError):
        return _("Someone changed this item at the same time; here it is as it is now.")
    return str(err)


@bp.route("/<int:item_id>/<step>", methods=["POST"])
@login_required
def take_step(item_id, step):
    if step not in STEPS:
        abort(404)
    role, schema, apply, done = STEPS[step]
    item = get_scoped_or_404(current_user, RI, item_id, ledger_filter)
    if current_user.role_enum != role:
        abort(403)
    try:
        apply(item, schema().load(request.form), utcnow())
        db.session.commit()
        flash(str(done))
    except (ValidationError, ledger.LedgerError, StaleDataError) as err:
        db.session.rollback()
        flash(_step_refusal(err), "error")
    return redirect(url_for("ledger.show", item_id=item_id))

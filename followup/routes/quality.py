"""Call quality control pages (质控抽查) for QA: the month's sample by caller, drawing it, the
rate, and the review of each sampled call (with an optional, logged call-back)."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..core.access import blueprint_only_for
from ..core.clock import utcnow
from ..extensions import db
from ..models import Role
from ..quality import review as R
from ..quality import sample as S
from ..reports import monthly
from ..schemas.ledger import load_or_400
from ..schemas.notifications import MonthFilter, QcRateIn, QcReviewIn
from . import nav

bp = Blueprint("quality", __name__, url_prefix="/quality")
blueprint_only_for(bp, Role.QA)
nav("quality.index", "Call quality", [Role.QA], order=44)


def _month(source) -> str:
    return load_or_400(MonthFilter(), source)["month"] or monthly.previous_month(utcnow())


@bp.route("/")
@login_required
def index():
    month = _month(request.args)
    return render_template("quality/index.html", month=month, prev_month=monthly.shift(month, -1),
                           next_month=monthly.shift(month, 1), **R.month_page(current_user, month))


@bp.route("/draw", methods=["POST"])
@login_required
def draw():
    month = _month(request.form)
    try:
        S.draw(current_user.hospital_id, month, now=utcnow(), user=current_user)
        db.session.commit()
    except S.QcError:
        db.session.rollback()
        flash(_("A month can be sampled once it is over."), "error")
    return redirect(url_for("quality.index", month=month))


@bp.route("/rate", methods=["POST"])
@login_required
def rate():
    data = load_or_400(QcRateIn(), request.form)
    S.set_rate(current_user.hospital_id, data["rate_percent"], user=current_user, now=utcnow())
    db.session.commit()
    flash(_("The sampling rate applies from the next draw."), "success")
    return redirect(url_for("quality.index"))


def _review(review_id):
    try:
        return R.get_review(current_user, review_id)
    except R.NotFound:
        abort(404)


@bp.route("/reviews/<int:review_id>", methods=["GET", "POST"])
@login_required
def review(review_id):
    r = _review(review_id)
    if request.method == "POST":
        R.save_review(r, load_or_400(QcReviewIn(), request.form), user=current_user, now=utcnow())
        db.session.commit()
        flash(_("Review saved."), "success")
        return redirect(url_for("quality.index", month=r.sample.month))
    return render_template("quality/review.html", **R.review_page(r))


@bp.route("/reviews/<int:review_id>/contact", methods=["POST"])
@login_required
def reveal_contact(review_id):
    phones = R.reveal_contact(_review(review_id), user=current_user, now=utcnow())
    db.session.commit()
    return render_template("discharges/_contact.html", phones=phones)

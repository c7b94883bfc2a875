"""Progress of long work asked for on a page (a draw, an export of a large month): the page that
polls, the polled fragment, and the finished file. Only the person who asked sees any of it."""
from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..core import audit, work
from ..extensions import db
from ..reports.exports import download
from ..sampling.background import drawn_message, is_sample_result

bp = Blueprint("work", __name__, url_prefix="/work")


@bp.route("/<int:work_id>")
@login_required
def show(work_id):
    w = work.get_own_or_404(current_user, work_id)
    if is_sample_result(w):  # a finished draw is its sample's page
        flash(drawn_message(w))
        return redirect(url_for("sampling.show", sample_id=w.result_sample_id))
    return render_template("work/show.html", **work.page_data(w))


@bp.route("/<int:work_id>/progress")
@login_required
def progress(work_id):
    """Polled by htmx every second; a finished piece of work reloads the page for its result."""
    data = work.page_data(work.get_own_or_404(current_user, work_id))
    resp = make_response(render_template("work/_progress.html", **data))
    if data["finished"] and request.headers.get("HX-Request"):
        resp.headers["HX-Refresh"] = "true"
    return resp


@bp.route("/<int:work_id>/download")
@login_required
def download_result(work_id):
    w = work.get_own_or_404(current_user, work_id)
    if w.result_body is None:
        return redirect(url_for("work.show", work_id=w.id))
    audit.record(f"{w.kind.removesuffix('_export')}.export", object_type="work_request", object_id=w.id,
                 detail={k: v for k, v in w.params.items() if k in ("month", "format", "level", "hospital_id")})
    db.session.commit()
    return download(w.result_body, w.result_mimetype, w.result_name)

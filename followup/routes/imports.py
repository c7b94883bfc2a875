"""Import pages for hospital admins: upload a HIS export, watch its progress, see and download
the rejected rows (to fix and re-import); and the HIS integration settings: API tokens and the
hospital's own column headers and codes."""
from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..core import audit
from ..core.access import get_import_batch_or_404, import_batch_filter, import_setting_or_404
from ..imports.batches import (UploadRefused, api_tokens, batch_page, built_in_field, code_map_rows,
                               column_mapping_rows, create_api_token, delete_code_map, delete_column_mapping,
                               dispatch_batch, receive_upload, revoke_api_token, set_code_map, set_column_mapping)
from ..imports import rejects
from ..imports import template as import_template
from ..imports.progress import progress as import_progress
from ..reports.exports import download
from ..reports.spreadsheet import CSV_MIMETYPE, XLSX_MIMETYPE
from ..core.clock import local_date, utcnow
from ..extensions import db
from ..imports.errors import N_, field_label, reason_text
from ..models import Hospital, Role
from ..core.labels import DISPOSITION_LABELS
from ..models.imports import HospitalApiToken, HospitalCodeMap, HospitalColumnMapping, ImportBatch, ImportRejectedRow
from . import nav

bp = Blueprint("imports", __name__, url_prefix="/imports")
STATUS_LABELS = (N_("queued"), N_("running"), N_("completed"), N_("failed"))  # badges translate them
nav("imports.index", "Imports", [Role.HOSPITAL_ADMIN], order=60)

SHOWN_REJECTS = 200


bp.add_app_template_filter(field_label, "import_field")
bp.add_app_template_filter(reason_text, "import_reason")


def _admin_only():
    if current_user.role_enum != Role.HOSPITAL_ADMIN or not current_user.hospital_id:
        abort(404)


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    _admin_only()
    if request.method == "POST":
        try:
            batch, created = receive_upload(db.session.get(Hospital, current_user.hospital_id),
                                            request.files.get("file"), user=current_user, now=utcnow())
        except UploadRefused as refused:
            flash(_(refused.message), "error")
            return redirect(url_for(".index"))
        db.session.commit()
        if created:
            dispatch_batch(batch)
        else:
            flash(_("This file was imported before; showing that import."), "info")
        return redirect(url_for(".show", batch_id=batch.id))
    return _index_page()


def _index_page():
    batches, total, page, pages = batch_page(import_batch_filter(current_user), request.args.get("page", 1, type=int))
    return render_template("imports/index.html", batches=batches, total=total, page=page, pages=pages,
                           code_lists=import_template.code_lists(), template_header=import_template.header(),
                           notes=_template_notes())


@bp.route("/template.<any(csv, xlsx):fmt>")
@login_required
def template_download(fmt):
    """The template with the importer's own column names, an example row and the code lists."""
    _admin_only()
    body = import_template.template_file(fmt, current_user.hospital_id, local_date(utcnow()), _template_notes(),
                                         {"data": _("Discharges"), "guide": _("How to fill in")})
    mimetype = XLSX_MIMETYPE if fmt == "xlsx" else CSV_MIMETYPE
    return download(body, mimetype, f"{_('Discharge import template')}.{fmt}")


def _template_notes() -> list[str]:
    text = ("住院号", "身份证号", "联系电话")
    return [_("One row per discharge from the second row on; keep the header row as it is."),
            _("Columns marked * are required; the others may be left empty or deleted."),
            _("Format the columns %(columns)s as text: as numbers they lose digits.", columns="、".join(text)),
            _("Dates as 2026-11-03, optionally with the time: 2026-11-03 10:30."),
            _("Several phone numbers in one cell are separated by commas."),
            _("The example row is a made-up patient: delete it before you import your data.")]


@bp.route("/<int:batch_id>")
@login_required
def show(batch_id):
    batch = get_import_batch_or_404(current_user, batch_id)
    rejects = db.session.scalars(select(ImportRejectedRow).where(ImportRejectedRow.batch_id == batch.id)
                                 .order_by(ImportRejectedRow.row_no).limit(SHOWN_REJECTS)).all()
    audit.record("import.view", object_type="import_batch", object_id=batch.id)
    db.session.commit()
    return render_template("imports/show.html", batch=batch, rejects=rejects, p=import_progress(batch, utcnow()))


@bp.route("/<int:batch_id>/progress")
@login_required
def progress(batch_id):
    """Polled by htmx while the batch runs; a finished batch reloads the page for its results."""
    batch = get_import_batch_or_404(current_user, batch_id)
    resp = make_response(render_template("imports/_progress.html", batch=batch, p=import_progress(batch, utcnow())))
    if batch.finished and request.headers.get("HX-Request"):
        resp.headers["HX-Refresh"] = "true"
    return resp


@bp.route("/<int:batch_id>/rejected.csv")
@login_required
def rejected_csv(batch_id):
    """The rejected rows with the file's own columns plus the reasons: fix them and re-import.
    ID numbers are masked (never stored in clear), so they must be typed in again."""
    batch = get_import_batch_or_404(current_user, batch_id)
    body, n = rejects.rejected_csv(batch.id)
    audit.record("import.rejected_download", object_type="import_batch", object_id=batch.id,
                 detail={"rows": n})
    db.session.commit()
    resp = make_response(body)
    resp.headers["Content-Type"] = "text/csv; charset=utf-8"
    resp.headers["Content-Disposition"] = f'attachment; filename="import-{batch.id}-rejected.csv"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


# --- HIS integration: API tokens and column mappings -----------------------------------------

def _strip(value):
    return value.strip() if isinstance(value, str) else value


class TokenForm(FlaskForm):
    label = StringField(_l("What the token is for"), default="HIS", filters=[_strip],
                        validators=[DataRequired(), Length(max=64)])


class MappingForm(FlaskForm):
    source_header = StringField(_l("Column header in your export"), filters=[_strip],
                                validators=[DataRequired(), Length(max=64)])
    # Not checked against the choices here: set_column_mapping holds the rule and says no.
    field = SelectField(_l("Means our field"), validate_choice=False)

    def __init__(self, *args, **kwargs):
        from ..imports.headers import FIELD_ALIASES
        super().__init__(*args, **kwargs)
        self.field.choices = [SelectChoice("", _("— choose —"))] + [
            SelectChoice(f, f"{aliases[0]} ({f})") for f, aliases in FIELD_ALIASES.items()]


class CodeMapForm(FlaskForm):
    """A code of the hospital's HIS for 离院方式 and what it means in the 病案首页 codes."""
    source_code = StringField(_l("Code in your export"), filters=[_strip], validators=[DataRequired(), Length(max=32)])
    code = SelectField(_l("Means the disposition"), validate_choice=False)  # set_code_map holds the rule

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.code.choices = [SelectChoice("", _("— choose —"))] + [
            SelectChoice(c, f"{c} {label}") for c, label in DISPOSITION_LABELS.items()]


def _integration_page(token_form=None, mapping_form=None, code_form=None):
    from ..imports.headers import FIELD_ALIASES
    hospital_id = current_user.hospital_id
    mappings = column_mapping_rows(hospital_id)
    return render_template("imports/integration.html", hospital=db.session.get(Hospital, hospital_id),
                           tokens=api_tokens(hospital_id), mappings=mappings,
                           usual={m.id: built_in_field(m.source_header) for m in mappings},
                           token_form=token_form or TokenForm(), mapping_form=mapping_form or MappingForm(),
                           aliases=FIELD_ALIASES, code_maps=code_map_rows(hospital_id),
                           code_form=code_form or CodeMapForm())


@bp.route("/integration")
@login_required
def integration():
    _admin_only()
    return _integration_page()


@bp.route("/integration/tokens", methods=["POST"])
@login_required
def create_token():
    """The clear token is in this one response only (not stored, not cached, not in the session)."""
    _admin_only()
    form = TokenForm()
    if not form.validate_on_submit():
        return _integration_page(token_form=form)
    row, token = create_api_token(db.session.get(Hospital, current_user.hospital_id), form.label.data, utcnow())
    audit.record("import.token_created", object_type="hospital_api_token", object_id=row.id)
    db.session.commit()
    resp = make_response(render_template("imports/token_created.html", row=row, token=token))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/integration/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id):
    row = import_setting_or_404(current_user, HospitalApiToken, token_id)
    if revoke_api_token(row, utcnow()):
        audit.record("import.token_revoked", object_type="hospital_api_token", object_id=row.id)
        db.session.commit()
        flash(_("Token %(prefix)s… revoked: it no longer works.", prefix=row.prefix), "success")
    return redirect(url_for(".integration"))


@bp.route("/integration/mappings", methods=["POST"])
@login_required
def add_mapping():
    _admin_only()
    form = MappingForm()
    if form.validate_on_submit():
        try:
            row = set_column_mapping(db.session.get(Hospital, current_user.hospital_id),
                                     form.source_header.data, form.field.data)
        except ValueError:
            db.session.rollback()
            form.field.errors.append(_("Choose one of our fields."))
        else:
            audit.record("import.mapping_set", object_type="hospital_column_mapping", object_id=row.id,
                         detail={"header": row.source_header, "field": row.field})
            db.session.commit()
            _flash_mapping_saved(row)
            return redirect(url_for(".integration"))
    return _integration_page(mapping_form=form)


def _flash_mapping_saved(row: HospitalColumnMapping) -> None:
    """Say what the mapping does, and when the header was recognised anyway (as the same field:
    no effect; as another: the export must not also have a column for the mapped field)."""
    def named(field):
        return f"{field_label(field)} ({field})"
    flash(_("From the next import on, the column “%(header)s” is read as %(field)s.",
            header=row.source_header, field=named(row.field)), "success")
    usual = built_in_field(row.source_header)
    if usual == row.field:
        flash(_("This header is recognised without a mapping too: the mapping changes nothing."), "info")
    elif usual:
        flash(_("Without the mapping this header is read as %(field)s: check that your export has no "
                "other column for %(mine)s.", field=named(usual), mine=named(row.field)), "warning")


@bp.route("/integration/mappings/<int:mapping_id>/delete", methods=["POST"])
@login_required
def delete_mapping(mapping_id):
    row = import_setting_or_404(current_user, HospitalColumnMapping, mapping_id)
    header = row.source_header
    audit.record("import.mapping_deleted", object_type="hospital_column_mapping", object_id=row.id,
                 detail={"header": header, "field": row.field})
    delete_column_mapping(row)
    db.session.commit()
    flash(_("The mapping of “%(header)s” is deleted.", header=header), "success")
    return redirect(url_for(".integration"))


@bp.route("/integration/codes", methods=["POST"])
@login_required
def add_code_map():
    _admin_only()
    form = CodeMapForm()
    if form.validate_on_submit():
        try:
            row = set_code_map(db.session.get(Hospital, current_user.hospital_id), "disposition",
                               form.source_code.data, form.code.data)
        except ValueError:
            db.session.rollback()
            form.code.errors.append(_("Choose one of the disposition codes."))
        else:
            audit.record("import.code_map_set", object_type="hospital_code_map", object_id=row.id,
                         detail={"field": row.field, "source_code": row.source_code, "code": row.code})
            db.session.commit()
            flash(_("From the next import on, the disposition code “%(source)s” is read as %(code)s %(label)s.",
                    source=row.source_code, code=row.code, label=DISPOSITION_LABELS[row.code]), "success")
            return redirect(url_for(".integration", _anchor="codes"))
    return _integration_page(code_form=form)


@bp.route("/integration/codes/<int:code_map_id>/delete", methods=["POST"])
@login_required
def delete_code(code_map_id):
    row = import_setting_or_404(current_user, HospitalCodeMap, code_map_id)
    source = row.source_code
    audit.record("import.code_map_deleted", object_type="hospital_code_map", object_id=row.id,
                 detail={"field": row.field, "source_code": source, "code": row.code})
    delete_code_map(row)
    db.session.commit()
    flash(_("The code “%(source)s” is read by the standard tables again.", source=source), "success")
    return redirect(url_for(".integration", _anchor="codes"))

"""Exports of large months as jobs: the monthly summary (Excel, PDF) of a hospital and the
commission's evaluation table. Small months are still made inside the request; above
EXPORT_INLINE_MAX_DISCHARGES the page records the work and a job makes the file."""
from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..core import work as progress_rows
from ..core.access import summary_hospital_ids
from ..extensions import db
from ..models import Discharge, Hospital, User
from ..models.work import WorkRequest
from . import commission, exports, monthly
from .spreadsheet import XLSX_MIMETYPE, to_xlsx

SUMMARY, COMMISSION = "summary_export", "commission_export"
MIMETYPES = {"xlsx": XLSX_MIMETYPE, "pdf": "application/pdf"}


def discharges_in(hospital_ids, month: str) -> int:
    """How big the month is (an index range count: cheap next to building the export)."""
    y, m = monthly.parse_month(month)
    start, end = date(y, m, 1), date(y + (m == 12), m % 12 + 1, 1)
    return db.session.scalar(select(func.count()).select_from(Discharge).where(
        Discharge.hospital_id.in_(hospital_ids), Discharge.discharge_date >= start,
        Discharge.discharge_date < end)) or 0


def request_summary_export(user, hospital_id: int, month: str, fmt: str, *, words: bool,
                           locale: str) -> WorkRequest:
    return progress_rows.create(SUMMARY, {"hospital_id": hospital_id, "month": month, "format": fmt,
                                          "words": words, "locale": locale}, user=user)


def request_commission_export(user, month: str, level: str, sort: str, *, locale: str) -> WorkRequest:
    return progress_rows.create(COMMISSION, {"month": month, "level": level, "sort": sort,
                                             "locale": locale}, user=user)


def summary_file(data: dict, hospital_name: str, month: str, fmt: str) -> tuple[str, bytes]:
    name = f"{hospital_name}-{month}-{_('Monthly summary')}.{fmt}"
    return name, exports.summary_xlsx(data) if fmt == "xlsx" else exports.summary_pdf(data)


def commission_file(rows: list[dict], month: str, level: str) -> tuple[str, bytes]:
    return f"{_('Monthly evaluation')}-{month}.xlsx", to_xlsx([exports.commission_sheet(rows, level)])


def run_export(work_id: int, *, now) -> None:
    """The job: compute, write the file, keep it on the row for its owner. Commits. A re-run
    makes the same file again (nothing else is written), so retries are harmless."""
    work = db.session.get(WorkRequest, work_id)
    if work is None or work.finished:
        return
    p = work.params
    with force_locale(p.get("locale") or "zh_CN"):
        progress_rows.checkpoint(work, "computing", done=0, total=2)
        if work.kind == SUMMARY:
            hospital = db.session.get(Hospital, p["hospital_id"])
            data = monthly.build(hospital.id, p["month"], now=now, words=p["words"])
            progress_rows.checkpoint(work, "writing", done=1)
            name, body = summary_file(data, hospital.name, p["month"], p["format"])
        else:
            user = db.session.get(User, work.created_by_id)
            rows = commission.table(summary_hospital_ids(user), p["month"], now=now, level=p["level"],
                                    sort=p["sort"])
            progress_rows.checkpoint(work, "writing", done=1)
            name, body = commission_file(rows, p["month"], p["level"])
    progress_rows.finish(work, name=name, mimetype=MIMETYPES.get(p.get("format", "xlsx")), body=body)
    db.session.commit()

"""The data of the 出院记录 list: the user's stays, filtered by the search box (search.py), ward
and discharge dates, newest first, one page, with the wards to choose from."""
from datetime import date

from sqlalchemy import func, select

from ..core.access import discharge_filter
from ..core.crypto import Keys
from ..extensions import db
from ..models import Discharge, Patient, User, Ward
from ..schemas.discharge import dump_discharge
from . import search

PAGE_SIZE = 50


class BadArgument(ValueError):
    pass


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        raise BadArgument(raw) from None


def discharge_list(user: User, args, keys: Keys) -> dict:
    q = select(Discharge).join(Patient).where(discharge_filter(user))
    term = args.get("q", "").strip()[:64]
    if term:
        q = q.where(search.list_clause(user, term, keys))
    if ward_id := args.get("ward", type=int):
        q = q.where(Discharge.ward_id == ward_id)
    if since := _day(args.get("from", "")):
        q = q.where(Discharge.discharge_date >= since)
    if until := _day(args.get("to", "")):
        q = q.where(Discharge.discharge_date <= until)
    page = max(1, min(args.get("page", 1, type=int), 10_000))
    total = db.session.scalar(select(func.count()).select_from(q.order_by(None).subquery()))
    rows = db.session.scalars(q.order_by(Discharge.discharge_date.desc(), Discharge.id.desc())
                              .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    wards = db.session.scalars(select(Ward).where(Ward.id.in_(
        select(Discharge.ward_id).where(discharge_filter(user)).distinct())).order_by(Ward.name)).all()
    return {"rows": dump_discharge(rows, user, many=True), "total": total, "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)), "wards": wards}

"""Writing one chunk of validated import rows with set-based SQL: the rows go into a temporary
staging table (COPY on PostgreSQL), then a handful of INSERT … SELECT / UPDATE … FROM statements
classify them (new, corrected, unchanged), create patients and discharges with pre-allocated
ids, update corrected contact fields, and add the tasks of new eligible discharges, all in the
chunk's transaction together with the batch's cursor and counts."""
import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import (Column, Date, case, Integer, LargeBinary, MetaData, String, Table, Text, func, insert,
                        literal, select, text, true, union_all, update)
from sqlalchemy.schema import CreateTable

from . import audit
from .access import mask_id_number
from .batches import drop_payload
from .clock import LOCAL_TZ, utcnow
from .crypto import blind_index, keys
from .extensions import db
from .imports.errors import N_
from .models import Discharge, FollowupTask, JobState, OutboxJob, Patient, Ward
from .models.discharge import DISPOSITION_DIED
from .models.imports import BatchStatus, ImportBatch, ImportRejectedRow
from .models.task import OPEN_STATUSES, TaskStatus
from .models.types import UTCDateTime
from .patients import set_id_number, set_name, set_phones
from .scheduling import due_at_for

_HOSPITAL_LOCK = 7_310_100  # advisory lock namespace: one writing chunk per hospital at a time


@dataclass
class Prepared:
    row_no: int
    clean: dict
    original: dict


STAGE = Table(
    "import_stage", MetaData(),
    Column("row_no", Integer, primary_key=True),
    Column("inpatient_no", String(32)), Column("discharge_date", Date), Column("discharge_at", UTCDateTime),
    Column("admission_date", Date), Column("ward_id", Integer), Column("disposition", String(1)),
    Column("diagnosis_code", String(16)), Column("diagnosis_name", String(128)),
    Column("attending_doctor", String(64)), Column("medicines", Text), Column("rehab_instructions", Text),
    Column("content_hash", String(64)), Column("due_at", UTCDateTime),
    Column("p_name", String(64)), Column("p_initials", String(32)), Column("p_sex", String(1)),
    Column("p_birth_date", Date), Column("p_id_type", String(16)), Column("p_id_hash", String(64)),
    Column("p_id_masked", String(32)), Column("p_phone", LargeBinary), Column("p_phone_hash", String(64)),
    Column("p_phone_masked", String(32)), Column("p_other_phones", LargeBinary),
    Column("p_key", String(64)),  # one new patient per key: the ID hash, else the row
    # Ids reserved before the COPY (so no UPDATE has to hand them out): the discharge id is
    # replaced by the existing one for a stay we have; the new patient id is used only when
    # neither the stay nor the ID number is known.
    Column("discharge_id", Integer), Column("p_new_id", Integer),
    # Filled by the statements below.
    Column("patient_id", Integer), Column("old_hash", String(64)),
    Column("is_new", Integer, server_default=text("1")), Column("changed", Integer, server_default=text("0")),
    prefixes=["TEMPORARY"], postgresql_on_commit="DROP",
)
LOADED = [c.name for c in STAGE.columns][:28]


class Wards:
    """A hospital's wards by name or code; unknown ones created or refused per hospital setting."""

    def __init__(self, hospital):
        self.hospital = hospital
        self.ids = {}
        for w in db.session.scalars(select(Ward).where(Ward.hospital_id == hospital.id)):
            self.ids.setdefault(self._key(w.code), w.id)
            self.ids[self._key(w.name)] = w.id

    @staticmethod
    def _key(text_):
        return unicodedata.normalize("NFKC", text_ or "").strip().lower()

    def resolve(self, name: str) -> int | None:
        key = self._key(name)
        if key in self.ids or not self.hospital.create_unknown_wards:
            return self.ids.get(key)
        name = unicodedata.normalize("NFKC", name).strip()
        self.ids[key] = db.session.execute(insert(Ward).values(
            hospital_id=self.hospital.id, code=name[:32], name=name[:64])).inserted_primary_key[0]
        return self.ids[key]


def rejected_row(row_no, original, problems, id_keys) -> ImportRejectedRow:
    """The file's own columns, with ID numbers masked (never stored in clear), and the reasons."""
    safe = {k: (mask_id_number(v) if k in id_keys and v else v) for k, v in original.items()}
    return ImportRejectedRow(row_no=row_no, original=json.dumps(safe, ensure_ascii=False),
                             errors=[{"field": f, "reason": r} for f, r in problems])


class ChunkWriter:
    def __init__(self, hospital, batch_id: int, owner: str, lease: timedelta, now: datetime | None, id_keys=()):
        self.hospital, self.batch_id, self.owner, self.lease, self.now = hospital, batch_id, owner, lease, now
        self.id_keys = id_keys
        self.wards = Wards(hospital)
        self._due = {}

    def write(self, prepared, rejects, read: int, cursor: int, final: bool = False) -> bool:
        """Commit one chunk. False (and nothing written) when this run no longer holds the lease."""
        s = db.session
        t = utcnow()
        # First statement of the transaction: checks and renews the lease and locks the batch row
        # (and, on SQLite, the database), so a second runner cannot commit the same rows.
        if not s.execute(update(ImportBatch).where(ImportBatch.id == self.batch_id,
                                                   ImportBatch.lease_owner == self.owner)
                         .values(lease_until=t + self.lease, rows_done=cursor)).rowcount:
            s.rollback()
            return False
        # Keep the outbox row fresh so the reconciler does not re-drive a run that is alive.
        s.execute(update(OutboxJob).where(OutboxJob.dedupe_key == f"import:{self.batch_id}",
                                          OutboxJob.state == JobState.RUNNING).values(updated_at=t))
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(:ns, :h)"), {"ns": _HOSPITAL_LOCK, "h": self.hospital.id})
        rows, unchanged = self._stage_rows(prepared, rejects)
        inserted = updated = 0
        if rows:
            inserted, updated, same = self._apply(rows, self.now or t)
            unchanged += same
        if rejects:
            s.execute(insert(ImportRejectedRow), [
                {"batch_id": self.batch_id, "row_no": r.row_no, "original": r.original, "errors": r.errors}
                for r in rejects])
        s.execute(update(ImportBatch).where(ImportBatch.id == self.batch_id).values(
            read=ImportBatch.read + read, inserted=ImportBatch.inserted + inserted,
            updated=ImportBatch.updated + updated, unchanged=ImportBatch.unchanged + unchanged,
            rejected=ImportBatch.rejected + len(rejects)))
        if final:
            self._finish()
        s.commit()
        return True

    def _stage_rows(self, prepared, rejects):
        """Python per row: ward, personal data through patients.py, content hash, due date."""
        encrypt = keys().encrypt
        seen, out, unchanged = {}, [], 0
        for p in prepared:
            c = p.clean
            ward_id = self.wards.resolve(c["ward"])
            if ward_id is None:
                rejects.append(rejected_row(p.row_no, p.original, [("ward", N_("unknown ward; add it first or let "
                                                                      "the hospital create new wards on import"))],
                                            self.id_keys))
                continue
            at = c["discharge_at"]
            day = at.astimezone(LOCAL_TZ).date()
            person = SimpleNamespace()
            set_name(person, c["name"])
            set_phones(person, c["phone"])
            set_id_number(person, c["id_number"] or None, c["id_type"])
            content = blind_index(json.dumps(
                [ward_id, at.isoformat(), c["admission_date"], c["disposition"], c["diagnosis_code"],
                 c["diagnosis_name"], c["attending_doctor"], c["medicines"], c["rehab_instructions"], c["name"],
                 c["sex"], c["birth_date"], c["id_type"], person.id_number_hash, c["phone"]],
                default=str, ensure_ascii=False))
            key = (c["inpatient_no"], day)
            if key in seen:
                first_row, first_content = seen[key]
                if first_content == content:
                    unchanged += 1
                else:
                    rejects.append(rejected_row(p.row_no, p.original, [(
                        "inpatient_no", f"same inpatient number and discharge date as row {first_row}, "
                                        "with different content")], self.id_keys))
                continue
            seen[key] = (p.row_no, content)
            if day not in self._due:
                self._due[day] = due_at_for(day)
            out.append((
                p.row_no, c["inpatient_no"], day, at, c["admission_date"], ward_id, c["disposition"],
                c["diagnosis_code"], c["diagnosis_name"], c["attending_doctor"], c["medicines"],
                c["rehab_instructions"], content, self._due[day], person.name, person.name_initials, c["sex"],
                c["birth_date"], person.id_type, person.id_number_hash, person.id_number_masked,
                encrypt(person.phone) if person.phone else None, person.phone_hash, person.phone_masked,
                encrypt(person.other_phones) if person.other_phones else None,
                person.id_number_hash or f"r{p.row_no}"))
        return out, unchanged

    def _load_stage(self, conn, rows):
        if conn.dialect.name == "postgresql":
            STAGE.create(conn)  # dropped at commit
            raw = conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(f"COPY import_stage ({', '.join(LOADED)}) FROM STDIN") as cp:
                for r in rows:
                    cp.write_row(r)
        else:
            conn.execute(CreateTable(STAGE, if_not_exists=True))
            conn.execute(STAGE.delete())
            conn.execute(insert(STAGE), [dict(zip(LOADED, r)) for r in rows])

    def _apply(self, rows, now) -> tuple[int, int, int]:
        conn = db.session.connection()
        discharge_ids = _reserve_ids(conn, "discharge", len(rows))
        keys = list(dict.fromkeys(r[-1] for r in rows))
        patient_ids = dict(zip(keys, _reserve_ids(conn, "patient", len(keys))))
        self._load_stage(conn, [r + (d, patient_ids[r[-1]]) for r, d in zip(rows, discharge_ids)])
        st, h = STAGE.c, self.hospital.id
        D, P, T = Discharge.__table__, Patient.__table__, FollowupTask.__table__
        # Which rows are stays we already have (corrections or repeats)? Rows start as is_new=1.
        conn.execute(update(STAGE).values(
            discharge_id=D.c.id, patient_id=D.c.patient_id, old_hash=D.c.content_hash, is_new=0,
            changed=case((D.c.content_hash.is_(None) | (D.c.content_hash != st.content_hash), 1), else_=0))
            .where(D.c.hospital_id == h, D.c.inpatient_no == st.inpatient_no, D.c.discharge_date == st.discharge_date))
        # New stays of a person we know (same ID number in this hospital) join that patient.
        known = select(func.min(P.c.id)).where(P.c.hospital_id == h, P.c.id_number_hash == st.p_id_hash)
        conn.execute(update(STAGE).where(st.is_new == 1, st.p_id_hash.is_not(None))
                     .values(patient_id=known.scalar_subquery()))
        new_patient = (st.is_new == 1) & st.patient_id.is_(None)
        contact = dict(name=st.p_name, name_initials=st.p_initials, sex=st.p_sex, birth_date=st.p_birth_date,
                       phone=st.p_phone, phone_hash=st.p_phone_hash, phone_masked=st.p_phone_masked,
                       other_phones=st.p_other_phones)
        newest = select(func.max(st.row_no)).where(new_patient).group_by(st.p_key)
        _insert_from(conn, P, {"id": st.p_new_id, "hospital_id": literal(h), **contact, "id_type": st.p_id_type,
                               "id_number_hash": st.p_id_hash, "id_number_masked": st.p_id_masked,
                               "created_at": literal(now, UTCDateTime), "updated_at": literal(now, UTCDateTime)},
                     new_patient & st.row_no.in_(newest))
        # Contact details: the newest row wins (a known patient's new stay, or a corrected row).
        conn.execute(update(P).values(**contact, updated_at=now).where(
            P.c.id == st.patient_id, (st.is_new == 1) | (st.changed == 1)))
        stay = dict(ward_id=st.ward_id, admission_date=st.admission_date, discharge_at=st.discharge_at,
                    disposition=st.disposition, diagnosis_code=st.diagnosis_code, diagnosis_name=st.diagnosis_name,
                    attending_doctor=st.attending_doctor, medicines=st.medicines,
                    rehab_instructions=st.rehab_instructions, content_hash=st.content_hash,
                    import_batch_id=literal(self.batch_id))
        _insert_from(conn, D, {"id": st.discharge_id, "hospital_id": literal(h),
                               "patient_id": func.coalesce(st.patient_id, st.p_new_id),
                               "inpatient_no": st.inpatient_no, "discharge_date": st.discharge_date, **stay,
                               "created_at": literal(now, UTCDateTime), "updated_at": literal(now, UTCDateTime)},
                     st.is_new == 1)
        conn.execute(update(D).values(**stay, updated_at=now).where(D.c.id == st.discharge_id, st.changed == 1))
        # A correction never touches finished follow-ups; open ones follow the ward, and a
        # corrected 离院方式 of 死亡 closes them (the family is not called).
        open_ = T.c.status.in_([str(x) for x in OPEN_STATUSES])
        conn.execute(update(T).values(ward_id=st.ward_id, version=T.c.version + 1).where(
            T.c.discharge_id == st.discharge_id, st.changed == 1, open_, T.c.ward_id != st.ward_id))
        conn.execute(update(T).values(status=str(TaskStatus.CLOSED), close_reason="deceased",
                                      version=T.c.version + 1)
                     .where(open_, T.c.discharge_id.in_(
                         select(st.discharge_id).where(st.changed == 1, st.disposition == DISPOSITION_DIED))))
        # Tasks of eligible stays that lack them: one per level, due by the 7-day rule.
        levels = union_all(select(literal("ward").label("level")), select(literal("hospital").label("level"))).subquery()
        has = select(T.c.id).where(T.c.discharge_id == st.discharge_id, T.c.level == levels.c.level).exists()
        _insert_from(conn, T, {"discharge_id": st.discharge_id, "level": levels.c.level, "hospital_id": literal(h),
                               "ward_id": st.ward_id, "status": literal(str(TaskStatus.OPEN)), "due_at": st.due_at,
                               "created_at": literal(now, UTCDateTime), "version": literal(1)},
                     ((st.is_new == 1) | (st.changed == 1)) & (st.disposition != DISPOSITION_DIED) & ~has,
                     from_=STAGE.join(levels, true()))
        new, changed, total = conn.execute(select(func.coalesce(func.sum(st.is_new), 0),
                                                  func.coalesce(func.sum(st.changed), 0), func.count())).one()
        return int(new), int(changed), int(total - new - changed)

    def _finish(self):
        """In the last chunk's transaction: completed, lease released, payload dropped, audited."""
        db.session.execute(update(ImportBatch).where(ImportBatch.id == self.batch_id).values(
            status=BatchStatus.COMPLETED, finished_at=utcnow(), lease_owner=None, lease_until=None))
        drop_payload(self.batch_id)
        counts = db.session.execute(select(ImportBatch.read, ImportBatch.inserted, ImportBatch.updated,
                                           ImportBatch.unchanged, ImportBatch.rejected)
                                    .where(ImportBatch.id == self.batch_id)).one()._asdict()
        audit.record("import.completed", object_type="import_batch", object_id=self.batch_id, detail=counts)


def _reserve_ids(conn, table: str, n: int) -> list[int]:
    """n new primary keys for `table`, handed out before the rows exist (unused ones are gaps)."""
    if n == 0:
        return []
    if conn.dialect.name == "postgresql":
        return list(conn.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                                      "FROM generate_series(1, :n)"), {"n": n}).scalars())
    # SQLite: the chunk's first statement took the write lock, so max(id) cannot move under us.
    top = conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar()
    return list(range(top + 1, top + n + 1))


def _insert_from(conn, table, values: dict, where, from_=None) -> None:
    """INSERT … SELECT, filling the table's other columns from their Python-side defaults (which
    a set-based insert does not run), so columns added later by other features stay correct."""
    values = dict(values)
    for col in table.columns:
        if col.name in values or col.default is None or col.primary_key:
            continue
        arg = col.default.arg
        values[col.name] = literal(arg(None) if callable(arg) else arg, col.type)
    sel = select(*[v.label(k) for k, v in values.items()]).where(where)
    if from_ is not None:
        sel = sel.select_from(from_)
    conn.execute(insert(table).from_select(list(values), sel))

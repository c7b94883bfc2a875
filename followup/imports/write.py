"""Writing one prepared chunk of import rows with set-based SQL, in one transaction together with
the batch's cursor and counts.

On PostgreSQL, rows that are new stays of new patients (nearly all of a first import) are copied
straight into their tables with ids reserved beforehand, and their tasks made by one INSERT …
SELECT. Every other row (a stay we have, a patient we know, and every row on SQLite) goes into a
temporary staging table, where a handful of INSERT … SELECT / UPDATE … FROM statements classify
them (new, corrected, unchanged), create patients and discharges, update corrected contact
fields and add the tasks of new eligible discharges."""
import collections
import copy
import logging
import time
import unicodedata
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import (Column, Date, case, Integer, LargeBinary, MetaData, String, Table, Text, func, insert,
                        literal, select, text, true, union_all, update)
from sqlalchemy.schema import CreateTable

from ..core import audit
from .batches import drop_payload
from ..core.clock import utcnow
from ..extensions import db
from .prepare import ChunkPreparer, PreparedChunk, ward_key
from ..models import Discharge, FollowupTask, Patient, Ward
from ..models.outcome import PatientPhone
from ..plans import tasks as plan_tasks
from ..models.discharge import DISPOSITION_DIED
from ..models.imports import BatchStatus, ImportBatch, ImportRejectedRow
from ..models.task import OPEN_STATUSES, TaskStatus
from ..models.types import UTCDateTime
from ..core.crypto import keys
from ..patients.blocks import blocked_among, blocked_patient_ids
from ..patients.search_index import after_import_chunk

log = logging.getLogger(__name__)
_HOSPITAL_LOCK = 7_310_100  # advisory lock namespace: one writing chunk per hospital at a time


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
    Column("needs_data", String(24)),  # what the tasks wait for (FollowupTask.needs_data)
    Column("id_raw", LargeBinary), Column("id_issue", String(128)),  # a malformed ID number, set aside
    # Ids reserved before the COPY (so no UPDATE has to hand them out): the discharge id is
    # replaced by the existing one for a stay we have; the new patient id is used only when
    # neither the stay nor the ID number is known.
    Column("discharge_id", Integer), Column("p_new_id", Integer),
    # Filled by the statements below.
    Column("patient_id", Integer), Column("old_hash", String(64)),
    Column("is_new", Integer, server_default=text("1")), Column("changed", Integer, server_default=text("0")),
    prefixes=["TEMPORARY"], postgresql_on_commit="DROP",
)
LOADED = [c.name for c in STAGE.columns][:31]
# Positions in a prepared row: the staged columns (LOADED but the two ids), then what only the
# COPY path writes (name pinyin, phone index).
_PHONE, _KEY, _NEEDS, _ID_RAW, _PINYIN, _PHONE_INDEX = 21, 25, 26, 27, 29, 30
_STAGED = len(LOADED) - 2


class Wards:
    """A hospital's wards by name or code; unknown ones created or refused per hospital setting."""

    def __init__(self, hospital):
        self.hospital = hospital
        self.ids = {}
        # Discharges only ever name clinical wards: a functional department (收费处 ...) never
        # matches a discharge's ward, and no clinical ward is created under its name.
        self.functional = set()
        for w in db.session.scalars(select(Ward).where(Ward.hospital_id == hospital.id)):
            if w.kind != "clinical":
                self.functional.update((ward_key(w.code), ward_key(w.name)))
                continue
            self.ids.setdefault(ward_key(w.code), w.id)
            self.ids[ward_key(w.name)] = w.id

    def resolve(self, name: str) -> int | None:
        key = ward_key(name)
        if key in self.ids or key in self.functional or not self.hospital.create_unknown_wards:
            return self.ids.get(key)
        name = unicodedata.normalize("NFKC", name).strip()
        self.ids[key] = db.session.execute(insert(Ward).values(
            hospital_id=self.hospital.id, code=name[:32], name=name[:64])).inserted_primary_key[0]
        return self.ids[key]


class ChunkWriter:
    def __init__(self, hospital, batch_id: int, owner: str, lease: timedelta, now: datetime | None,
                 preparer: ChunkPreparer):
        self.hospital, self.batch_id, self.owner, self.lease, self.now = hospital, batch_id, owner, lease, now
        self.wards = Wards(hospital)
        # Stages the rows a worker process could not (their ward is created here, in the chunk's
        # transaction); the workers' ward map is the one this writer starts from.
        self.preparer = copy.copy(preparer)
        self.preparer.wards, self.preparer.resolve_ward = self.wards.ids, self.wards.resolve
        self.grown, self.analyzed_size = 0, None
        self.seconds = collections.Counter()  # where the writer's time goes, logged at the end

    def write(self, chunk: PreparedChunk, read: int, cursor: int, final: bool = False) -> bool:
        """Commit one chunk. False (and nothing written) when this run no longer holds the lease."""
        s = db.session
        t, began = utcnow(), time.perf_counter()
        # First statement of the transaction: checks and renews the lease and locks the batch row
        # (and, on SQLite, the database), so a second runner cannot commit the same rows.
        with self._timed("lease"):  # waits for the batch row if anything else holds it
            held = s.execute(update(ImportBatch).where(ImportBatch.id == self.batch_id,
                                                       ImportBatch.lease_owner == self.owner)
                             .values(lease_until=t + self.lease, rows_done=cursor)).rowcount
        if not held:
            s.rollback()
            return False
        if s.get_bind().dialect.name == "postgresql":
            # A run frozen mid-chunk (SIGSTOP, a paused VM) must not keep the batch row and the
            # hospital lock past its lease: the server ends the transaction, the lease's
            # successor proceeds. (The job's outbox lease is renewed by its own heartbeat.)
            ms = str(int(self.lease.total_seconds() * 1000))
            # A chunk's commit need not wait for its WAL flush: a crash can lose only the last
            # commits, and each takes its batch cursor with it, so the resumed run redoes exactly
            # those rows. The last chunk (the batch completed) waits, as does everything else.
            s.execute(text("SELECT set_config('statement_timeout', :ms, true), "
                           "set_config('idle_in_transaction_session_timeout', :ms, true), "
                           "set_config('synchronous_commit', :sync, true)"),
                      {"ms": ms, "sync": "on" if final else "off"})
            with self._timed("hospital lock"):
                s.execute(text("SELECT pg_advisory_xact_lock(:ns, :h)"), {"ns": _HOSPITAL_LOCK, "h": self.hospital.id})
        rows, rejects, unchanged, warnings = chunk.rows, list(chunk.rejects), chunk.unchanged, list(chunk.warnings)
        if chunk.unresolved:
            with self._timed("stage unresolved"):
                staged = self.preparer.stage(chunk.unresolved, rejects)
            rows, unchanged = rows + staged.rows, unchanged + staged.unchanged
            warnings += staged.warnings
        inserted = updated = 0
        if rows:
            inserted, updated, same, staged = self._apply(rows, self.now or t)
            unchanged += same
            if staged:  # the COPY path wrote its patients' search columns and checked marks itself
                with self._timed("search index"):  # every number's blind index, pinyin; do-not-call
                    after_import_chunk(self.hospital.id, [(r[1], r[2]) for r in staged], self.now or t, keys())
            with self._timed("plans"):
                plan_tasks.create_for_stays(self.hospital.id, [(r[1], r[2]) for r in rows], self.now or t)
        with self._timed("counts"):
            if rejects or warnings:
                s.execute(insert(ImportRejectedRow), [r.as_dict(self.batch_id) for r in rejects]
                          + [r.as_dict(self.batch_id, kept=True) for r in warnings])
            s.execute(update(ImportBatch).where(ImportBatch.id == self.batch_id).values(
                read=ImportBatch.read + read, inserted=ImportBatch.inserted + inserted,
                updated=ImportBatch.updated + updated, unchanged=ImportBatch.unchanged + unchanged,
                rejected=ImportBatch.rejected + len(rejects), warned=ImportBatch.warned + len(warnings),
                progress_at=utcnow()))
        if final:
            with self._timed("finish"):
                self._finish()
        with self._timed("commit"):
            s.commit()
        # The whole of the chunks' transactions: what the sections above leave out is the rest.
        self.seconds["in transaction"] += time.perf_counter() - began
        with self._timed("analyze"):
            self._analyze_when_grown(inserted)
        if final:
            log.info("import batch %s: writer seconds %s", self.batch_id,
                     {k: round(v, 2) for k, v in self.seconds.items()})
        return True

    def _analyze_when_grown(self, inserted: int) -> None:
        """Refresh the planner's statistics each time a big import has doubled the tables.
        Stale ones (autovacuum lags far behind a bulk load) make PostgreSQL look stays up by the
        wrong index, filtering thousands of rows per lookup: 50 times slower by the 100,000th row."""
        if db.session.get_bind().dialect.name != "postgresql":
            return
        if self.analyzed_size is None:
            self.analyzed_size = db.session.scalar(text(
                "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'discharge'::regclass"))
        self.grown += inserted
        if self.grown >= max(5_000, self.analyzed_size):  # each time the table doubles
            # What the chunk's lookups read: stays and patients (classify, staging), the phone
            # index (a known patient's numbers are re-indexed: deleted by patient id) and the
            # tasks (a stay's existing tasks). Unanalysed, patient_phone was scanned whole for
            # each chunk with a known patient (150 ms a chunk at 800,000 rows, and growing).
            db.session.execute(text("ANALYZE discharge, patient, patient_phone, followup_task"))
            db.session.commit()
            self.analyzed_size += self.grown
            self.grown = 0

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

    def _apply(self, rows, now) -> tuple[int, int, int, list]:
        """(inserted, updated, unchanged, the rows that went the staging way). On PostgreSQL the
        rows that are new stays of new patients (nearly all of a first import) are copied
        straight into their tables; the rest, and every row on SQLite, go through the staging
        table."""
        conn = db.session.connection()
        inserted = 0
        if conn.dialect.name == "postgresql":
            with self._timed("classify"):
                rows, new = self._split_new(conn, rows)
            with self._timed("insert new"):
                inserted = self._insert_new(conn, new, now)
        if not rows:
            return inserted, 0, 0, []
        with self._timed("staged"):
            new, changed, same = self._apply_staged(conn, rows, now)
        return inserted + new, changed, same, rows

    @contextmanager
    def _timed(self, what):
        t = time.perf_counter()
        yield
        self.seconds[what] += time.perf_counter() - t

    def _split_new(self, conn, rows):
        """(rows for the staging path, rows that are plainly new): a row goes the staging way when
        its stay is already known, or its ID number names a patient the hospital already has."""
        cur = conn.connection.driver_connection.cursor()
        h = self.hospital.id
        # Index lookups, whatever the statistics say: during a big import they lag far behind the
        # table, and a plan made for an empty table scans it whole for every chunk.
        cur.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; "
                    "SET LOCAL enable_mergejoin = off")
        cur.execute("SELECT d.inpatient_no, d.discharge_date FROM unnest(%s::varchar[], %s::date[]) AS s(no, day) "
                    "JOIN discharge d ON d.hospital_id = %s AND d.inpatient_no = s.no AND d.discharge_date = s.day",
                    (_array(r[1] for r in rows), _array(r[2].isoformat() for r in rows), h))
        known_stays = set(cur.fetchall())
        known_people = set()
        if hashes := list({r[19] for r in rows if r[19]}):
            cur.execute("SELECT DISTINCT p.id_number_hash FROM unnest(%s::varchar[]) AS s(h) "
                        "JOIN patient p ON p.hospital_id = %s AND p.id_number_hash = s.h", (_array(hashes), h))
            known_people = {x for (x,) in cur}
        cur.execute("RESET enable_seqscan; RESET enable_hashjoin; RESET enable_mergejoin")
        staged, new = [], []
        for r in rows:
            (staged if (r[1], r[2]) in known_stays or r[19] in known_people else new).append(r)
        return staged, new

    def _insert_new(self, conn, rows, now) -> int:
        """COPY patients and discharges with ids reserved here, then both tasks of each eligible
        stay with one INSERT … SELECT over arrays. One patient per key (the ID number's hash, else
        the row), its contact details from the key's newest row, as the staging path does."""
        if not rows:
            return 0
        h, batch = self.hospital.id, self.batch_id
        discharge_ids = _reserve_ids(conn, "discharge", len(rows))
        newest = {}
        for r in rows:  # rows are in file order: the last one of a key with a phone wins
            if r[_KEY] not in newest or r[_PHONE] is not None or newest[r[_KEY]][_PHONE] is None:
                newest[r[_KEY]] = r
        patient_ids = dict(zip(newest, _reserve_ids(conn, "patient", len(newest))))
        cur = conn.connection.driver_connection.cursor()
        with self._timed("copy patients"), _copy(cur, Patient.__table__, _PATIENT_COLUMNS) as (cp, extra):
            for key, r in newest.items():
                cp.write_row((patient_ids[key], h, *r[14:25], now, now, r[_PINYIN], *extra))
        # Their search index (every number's blind index), before the do-not-call check below,
        # which reads it: a list may name a patient's second number.
        with self._timed("copy phone index"), _copy(cur, PatientPhone.__table__, _PHONE_INDEX_COLUMNS) as (cp, extra):
            for key, r in newest.items():
                for phone_hash, last4, position in r[_PHONE_INDEX]:
                    cp.write_row((patient_ids[key], h, phone_hash, last4, position, *extra))
        eligible, patient_of = [], {}
        with self._timed("copy discharges"), _copy(cur, Discharge.__table__, _DISCHARGE_COLUMNS) as (cp, extra):
            for r, did in zip(rows, discharge_ids):
                cp.write_row((did, h, r[5], patient_ids[r[_KEY]], r[1], r[4], r[3], r[2], *r[6:13], batch,
                              now, now, r[_ID_RAW], r[_ID_RAW + 1], *extra))
                if r[6] != DISPOSITION_DIED:
                    has_phone = newest[r[_KEY]][_PHONE] is not None  # another stay of the patient's may have one
                    eligible.append((did, r[5], r[13], _without_phone(r[_NEEDS]) if has_phone else r[_NEEDS]))
                    patient_of[did] = patient_ids[r[_KEY]]
        blocked = blocked_among(h, set(patient_of.values()), conn)  # died, or do-not-call (ID or any phone)
        eligible = [e for e in eligible if patient_of[e[0]] not in blocked]
        cols, extra = _with_defaults(FollowupTask.__table__, _TASK_COLUMNS)
        with self._timed("insert tasks"):
            cur.execute(f"INSERT INTO followup_task ({', '.join(cols)}) "
                        "SELECT s.d, l.level, %s, s.w, %s, s.due, %s, 1, s.needs" + ", %s" * len(extra) +
                        " FROM unnest(%s::int[], %s::int[], %s::timestamptz[], %s::varchar[]) AS s(d, w, due, needs) "
                        "CROSS JOIN (VALUES ('ward'), ('hospital')) AS l(level)",
                        (h, str(TaskStatus.OPEN), now, *extra, _array(str(e[0]) for e in eligible),
                         _array(str(e[1]) for e in eligible), _array(e[2].isoformat() for e in eligible),
                         _array(e[3] for e in eligible)))
        return len(rows)

    def _apply_staged(self, conn, rows, now) -> tuple[int, int, int]:
        discharge_ids = _reserve_ids(conn, "discharge", len(rows))
        keys = list(dict.fromkeys(r[_KEY] for r in rows))
        patient_ids = dict(zip(keys, _reserve_ids(conn, "patient", len(keys))))
        self._load_stage(conn, [r[:_STAGED] + (d, patient_ids[r[_KEY]]) for r, d in zip(rows, discharge_ids)])
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
        # One new patient per key, from its newest row with a phone (else its newest row).
        newest = select(func.coalesce(func.max(case((st.p_phone.is_not(None), st.row_no))), func.max(st.row_no))) \
            .where(new_patient).group_by(st.p_key)
        _insert_from(conn, P, {"id": st.p_new_id, "hospital_id": literal(h), **contact, "id_type": st.p_id_type,
                               "id_number_hash": st.p_id_hash, "id_number_masked": st.p_id_masked,
                               "created_at": literal(now, UTCDateTime), "updated_at": literal(now, UTCDateTime)},
                     new_patient & st.row_no.in_(newest))
        # Contact details: the newest row wins (a known patient's new stay, or a corrected row),
        # but a row without a valid phone does not erase the number we have.
        kept = {k: func.coalesce(v, P.c[k]) for k, v in contact.items() if k in _PHONE_FIELDS}
        # A patient known without a (valid) ID number takes the one a newer row brings (a row
        # whose number was set aside, corrected and sent again); a known number is never replaced.
        kept.update(id_type=case((P.c.id_number_hash.is_(None) & st.p_id_hash.is_not(None), st.p_id_type),
                                 else_=P.c.id_type),
                    id_number_hash=func.coalesce(P.c.id_number_hash, st.p_id_hash),
                    id_number_masked=case((P.c.id_number_hash.is_(None), st.p_id_masked), else_=P.c.id_number_masked))
        conn.execute(update(P).values(**{**contact, **kept}, updated_at=now).where(
            P.c.id == st.patient_id, (st.is_new == 1) | (st.changed == 1)))
        # A stay whose row had no phone needs none when its patient has one (another stay's).
        has_phone = select(P.c.id).where(P.c.id == func.coalesce(st.patient_id, st.p_new_id),
                                         P.c.phone.is_not(None)).exists()
        conn.execute(update(STAGE).where(st.needs_data.like("phone%"), has_phone).values(
            needs_data=case((st.needs_data == "phone", None), else_="disposition")))
        stay = dict(ward_id=st.ward_id, admission_date=st.admission_date, discharge_at=st.discharge_at,
                    disposition=st.disposition, diagnosis_code=st.diagnosis_code, diagnosis_name=st.diagnosis_name,
                    attending_doctor=st.attending_doctor, medicines=st.medicines,
                    rehab_instructions=st.rehab_instructions, content_hash=st.content_hash,
                    import_batch_id=literal(self.batch_id), id_number_raw=st.id_raw, id_number_issue=st.id_issue)
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
        # A corrected row may bring what was missing (or lose it): open tasks follow.
        conn.execute(update(T).values(needs_data=st.needs_data, version=T.c.version + 1).where(
            T.c.discharge_id == st.discharge_id, st.changed == 1, open_,
            func.coalesce(T.c.needs_data, "") != func.coalesce(st.needs_data, "")))
        conn.execute(update(T).values(status=str(TaskStatus.CLOSED), close_reason="deceased",
                                      version=T.c.version + 1)
                     .where(open_, T.c.discharge_id.in_(
                         select(st.discharge_id).where(st.changed == 1, st.disposition == DISPOSITION_DIED))))
        # Tasks of eligible stays that lack them: one per level, due by the 7-day rule.
        levels = union_all(select(literal("ward").label("level")), select(literal("hospital").label("level"))).subquery()
        has = select(T.c.id).where(T.c.discharge_id == st.discharge_id, T.c.level == levels.c.level).exists()
        _insert_from(conn, T, {"discharge_id": st.discharge_id, "level": levels.c.level, "hospital_id": literal(h),
                               "ward_id": st.ward_id, "status": literal(str(TaskStatus.OPEN)), "due_at": st.due_at,
                               "created_at": literal(now, UTCDateTime), "version": literal(1),
                               "needs_data": st.needs_data},
                     ((st.is_new == 1) | (st.changed == 1)) & (st.disposition != DISPOSITION_DIED) & ~has
                     & func.coalesce(st.patient_id, st.p_new_id).not_in(blocked_patient_ids(h)),
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
                                           ImportBatch.unchanged, ImportBatch.rejected, ImportBatch.warned)
                                    .where(ImportBatch.id == self.batch_id)).one()._asdict()
        audit.record("import.completed", object_type="import_batch", object_id=self.batch_id, detail=counts)


def _reserve_ids(conn, table: str, n: int) -> list[int]:
    """n new primary keys for `table`, handed out before the rows exist (unused ones are gaps)."""
    if n == 0:
        return []
    if conn.dialect.name == "postgresql":  # fetched by the driver at once, not row by row by SQLAlchemy
        with conn.connection.driver_connection.cursor() as cur:
            cur.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", (n,))
            return [i for (i,) in cur.fetchall()]
    # SQLite: the chunk's first statement took the write lock, so max(id) cannot move under us.
    top = conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar()
    return list(range(top + 1, top + n + 1))


_PATIENT_COLUMNS = ("id", "hospital_id", "name", "name_initials", "sex", "birth_date", "id_type", "id_number_hash",
                    "id_number_masked", "phone", "phone_hash", "phone_masked", "other_phones", "created_at",
                    "updated_at", "name_pinyin")
_PHONE_INDEX_COLUMNS = ("patient_id", "hospital_id", "phone_hash", "last4", "position")
_DISCHARGE_COLUMNS = ("id", "hospital_id", "ward_id", "patient_id", "inpatient_no", "admission_date", "discharge_at",
                      "discharge_date", "disposition", "diagnosis_code", "diagnosis_name", "attending_doctor",
                      "medicines", "rehab_instructions", "content_hash", "import_batch_id", "created_at",
                      "updated_at", "id_number_raw", "id_number_issue")
_TASK_COLUMNS = ("discharge_id", "level", "hospital_id", "ward_id", "status", "due_at", "created_at", "version",
                 "needs_data")
_PHONE_FIELDS = ("phone", "phone_hash", "phone_masked", "other_phones")


def _without_phone(needs: str | None) -> str | None:
    return "disposition" if needs and "disposition" in needs else None


def _array(texts) -> str:
    """A PostgreSQL array literal of text elements, every one quoted. psycopg adapts a Python
    list element by element with a regular expression; for the 5,000-element arrays of each
    chunk that was a tenth of the writer's time."""
    return "{" + ",".join("NULL" if t is None else '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for t in texts) + "}"


def _with_defaults(table, columns) -> tuple[list[str], list]:
    """The columns plus every other column that has a Python-side default, and those defaults'
    values: statements that bypass the ORM must still fill columns added later by other features."""
    cols, extra = list(columns), []
    for col in table.columns:
        if col.name in columns or col.default is None or col.primary_key:
            continue
        arg = col.default.arg
        cols.append(col.name)
        extra.append(arg(None) if callable(arg) else arg)
    return cols, extra


@contextmanager
def _copy(cur, table, columns):
    cols, extra = _with_defaults(table, columns)
    with cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as cp:
        yield cp, extra


def _insert_from(conn, table, values: dict, where, from_=None) -> None:
    """INSERT … SELECT, filling the table's other columns from their Python-side defaults (which
    a set-based insert does not run), so columns added later by other features stay correct."""
    cols, extra = _with_defaults(table, values)
    values = {**values, **{name: literal(value, table.c[name].type)
                           for name, value in zip(cols[len(values):], extra)}}
    sel = select(*[v.label(k) for k, v in values.items()]).where(where)
    if from_ is not None:
        sel = sel.select_from(from_)
    conn.execute(insert(table).from_select(list(values), sel))

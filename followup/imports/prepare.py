"""Preparing a chunk of import rows for the database without touching it: validation, then per row
the ward, the personal data (pinyin initials; phones encrypted, with blind index and mask; the
ID number as keyed hash and mask), a content hash (to spot corrected rows) and the due date.

Everything here is a function of the rows and a few settings fixed for the batch, so the
loader can prepare chunks in worker processes while the database writes earlier ones."""
import dataclasses
import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Callable

from ..core.access import mask_id_number
from ..core.clock import LOCAL_TZ
from ..core.crypto import Keys
from ..patients.identity import name_pinyin, phone_index_entries, set_id_number, set_name, set_phones
from ..calls.scheduling import due_at_for
from .errors import N_, Reason
from .rows import DischargeRowSchema, FastRowLoader, load_row

SAME_STAY = N_("same inpatient number and discharge date as row %(row)s, with different content")
UNKNOWN_WARD = N_("unknown ward; add it first or let the hospital create new wards on import")


@dataclass
class Prepared:
    """A row that passed validation, before the staging step."""
    row_no: int
    clean: dict
    raw: object  # as the source read it; the decoder's `original` turns it into the file's columns


@dataclass
class Rejected:
    row_no: int
    original: str  # the file's own columns as JSON, ID numbers masked
    errors: list

    def as_dict(self, batch_id: int, kept: bool = False) -> dict:
        return {"batch_id": batch_id, "row_no": self.row_no, "original": self.original, "errors": self.errors,
                "kept": kept}


@dataclass
class PreparedChunk:
    rows: list          # staging tuples: write.LOADED's columns, then name pinyin and phone index
    rejects: list       # Rejected
    unchanged: int      # exact repeats of an earlier row of the chunk
    unresolved: list    # Prepared rows naming a ward that must be created first (by the writer)
    warnings: list = dataclasses.field(default_factory=list)  # Rejected-shaped notes on rows that were kept


def rejected_row(row_no, original, problems, id_keys) -> Rejected:
    """The file's own columns, with ID numbers masked (never stored in clear), and the reasons."""
    safe = {k: (mask_id_number(v) if k in id_keys and v else v) for k, v in original.items()}
    return Rejected(row_no, json.dumps(safe, ensure_ascii=False),
                    [{"field": f, **(r.as_dict() if isinstance(r, Reason) else {"reason": r})} for f, r in problems])


def ward_key(text_) -> str:
    return unicodedata.normalize("NFKC", text_ or "").strip().lower()


class ChunkPreparer:
    """Turns decoded rows into staging rows. `wards` maps ward_key → id; an unknown ward is
    rejected, or (when the hospital creates wards on import) resolved by `resolve_ward`, or, in a
    worker process, which has no database, left in `unresolved` for the writer."""

    def __init__(self, *, now: datetime, keys: Keys, deadline_days: int, decoder, id_keys=(), wards=None,
                 create_unknown_wards: bool = False, resolve_ward: Callable[[str], int | None] | None = None):
        self.schema = DischargeRowSchema(now=now)
        self.fast = FastRowLoader(now)
        self.keys, self.deadline_days, self.id_keys = keys, deadline_days, id_keys
        self.wards = dict(wards or {})
        self.create_unknown_wards, self.resolve_ward = create_unknown_wards, resolve_ward
        self.decoder = decoder  # the source's: payload → (record, problems) and → original columns
        self._due = {}

    # --- validation ---------------------------------------------------------------------------

    def validate(self, items) -> tuple[list[Prepared], list[Rejected]]:
        """items: (row number, payload) from Source.raw_rows, blank rows left out."""
        prepared, rejects = [], []
        decode, original_of = self.decoder.decode, self.decoder.original
        for row_no, payload in items:
            record, problems = decode(payload)
            clean = None
            if not problems:
                clean = self.fast.load(record)
                if clean is None:
                    clean, problems = load_row(self.schema, record)
            if clean is None:
                rejects.append(rejected_row(row_no, original_of(payload), problems, self.id_keys))
            else:
                prepared.append(Prepared(row_no, clean, payload))
        return prepared, rejects

    def prepare(self, items) -> PreparedChunk:
        prepared, rejects = self.validate(items)
        return self.stage(prepared, rejects)

    # --- staging ------------------------------------------------------------------------------

    def _ward(self, name: str):
        key = ward_key(name)
        ward_id = self.wards.get(key)
        if ward_id is None and self.create_unknown_wards and self.resolve_ward is not None:
            ward_id = self.wards[key] = self.resolve_ward(name)
        return ward_id

    def stage(self, prepared: list[Prepared], rejects: list[Rejected]) -> PreparedChunk:
        """Ward, personal data, content hash and due date per row; a second row with the same
        stay (住院号 + discharge date) is a repeat when identical and an error otherwise."""
        original_of = self.decoder.original
        if self.create_unknown_wards and self.resolve_ward is None and any(
                ward_key(p.clean["ward"]) not in self.wards for p in prepared):
            # No database here to create the ward: the writer stages this chunk itself.
            return PreparedChunk([], rejects, 0, prepared)
        encrypt, index = self.keys.encrypt, self.keys.blind_index
        seen, out, unchanged, warnings = {}, [], 0, []
        for p in prepared:
            c = p.clean
            ward_id = self._ward(c["ward"])
            if ward_id is None:
                rejects.append(rejected_row(p.row_no, original_of(p.raw), [("ward", UNKNOWN_WARD)],
                                            self.id_keys))
                continue
            at = c["discharge_at"]
            day = at.astimezone(LOCAL_TZ).date()
            person = SimpleNamespace()
            set_name(person, c["name"])
            set_phones(person, c["phone"], self.keys)
            set_id_number(person, c["id_number"] or None, c["id_type"], self.keys)
            id_raw = c.get("id_number_raw")  # a malformed number, set aside (rows.check_id)
            content = index(json.dumps(
                [ward_id, at.isoformat(), c["admission_date"], c["disposition"], c["diagnosis_code"],
                 c["diagnosis_name"], c["attending_doctor"], c["medicines"], c["rehab_instructions"], c["name"],
                 c["sex"], c["birth_date"], c["id_type"], person.id_number_hash, c["phone"]]
                + ([index(id_raw)] if id_raw else []),  # rows without one hash as they always did
                default=str, ensure_ascii=False))
            key = (c["inpatient_no"], day)
            if key in seen:
                first_row, first_content = seen[key]
                if first_content == content:
                    unchanged += 1
                else:
                    rejects.append(rejected_row(p.row_no, original_of(p.raw), [(
                        "inpatient_no", Reason(SAME_STAY, row=first_row))], self.id_keys))
                continue
            seen[key] = (p.row_no, content)
            if id_raw:
                warnings.append(rejected_row(p.row_no, original_of(p.raw), [("id_number", c["id_issue"])],
                                             self.id_keys))
            if day not in self._due:
                self._due[day] = due_at_for(day, self.deadline_days)
            out.append((
                p.row_no, c["inpatient_no"], day, at, c["admission_date"], ward_id, c["disposition"] or "",
                c["diagnosis_code"], c["diagnosis_name"], c["attending_doctor"], c["medicines"],
                c["rehab_instructions"], content, self._due[day], person.name, person.name_initials, c["sex"],
                c["birth_date"], person.id_type, person.id_number_hash, person.id_number_masked,
                encrypt(person.phone) if person.phone else None, person.phone_hash, person.phone_masked,
                encrypt(person.other_phones) if person.other_phones else None,
                person.id_number_hash or f"r{p.row_no}", c["needs_data"],
                encrypt(id_raw) if id_raw else None, c.get("id_issue"),
                # Not staged (write.LOADED stops before them): what the COPY path writes for a new
                # patient in the same pass, so search needs no second pass over the chunk.
                name_pinyin(c["name"]), tuple(phone_index_entries(c["phone"], index))))
        return PreparedChunk(out, rejects, unchanged, [], warnings)

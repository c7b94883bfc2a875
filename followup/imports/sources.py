"""One interface over every input kind. A Source yields (row number, payload) in order, payload
None for a blank line, and can skip rows already imported; its `decoder` (small and picklable,
so worker processes can use it) turns a payload into (record, problems found while reading) and,
for the rejected-rows download, into the row's original columns."""
import io
import unicodedata
from typing import BinaryIO, Iterator

from . import fhir, hl7v2
from .errors import N_, FileError
from .headers import ColumnMap
from .tables import ENCODINGS, detect_encoding, open_table
from .values import HL7_0112

Row = tuple[int, object]  # (row number, payload); payload None = a blank line


class Codes:
    """离院方式 as the source writes it → ours: the hospital's own map first, then the source's
    standard table (HL7 table 0112, FHIR discharge-disposition), else the value as it is (the
    病案首页 codes and labels, which the row schema reads)."""

    def __init__(self, own: dict | None = None, table: dict | None = None):
        self.own, self.table = own or {}, table or {}

    def apply(self, record: dict) -> dict:
        raw = record.get("disposition")
        if (self.own or self.table) and isinstance(raw, str) and raw.strip():
            key = unicodedata.normalize("NFKC", raw).strip().lower()
            mapped = self.own.get(key) or self.table.get(key)
            if mapped:
                record["disposition"] = mapped
        return record


class RecordDecoder:
    """For messages, parsed whole when read: the payload is (record, original, problems)."""

    def __init__(self, codes: Codes | None = None):
        self.codes = codes or Codes()

    def decode(self, payload):
        return self.codes.apply(dict(payload[0])), payload[2]

    @staticmethod
    def original(payload):
        return payload[1]


class TableDecoder:
    """For tables: the payload is (cell values, a problem with the row as a whole or None)."""

    def __init__(self, columns: ColumnMap, text_only: bool = False, codes: Codes | None = None):
        self.columns = columns
        self.extract = columns.extract_text if text_only else columns.extract  # CSV cells are all text
        self.codes = codes or Codes()

    def decode(self, payload):
        values, problem = payload
        record, problems = self.extract(values)
        if problem:
            problems.insert(0, ("_row", problem))
        return self.codes.apply(record), problems

    def original(self, payload):
        return self.columns.original(payload[0])


class Source:
    estimated_rows = 0
    id_keys: set = set()  # keys of `original` holding ID numbers (masked before storing)
    decoder = RecordDecoder()

    def rows(self, skip: int = 0) -> Iterator[Row]:
        raise NotImplementedError

    def close(self):
        pass


class TableSource(Source):
    def __init__(self, stream: BinaryIO, filename: str, mapping: dict | None, codes: dict | None = None):
        self.table = open_table(stream, filename)
        try:
            self.columns = ColumnMap(self.table.headers, mapping)
        except BaseException:
            self.table.close()
            raise
        self.estimated_rows = self.table.estimated_rows
        self.id_keys = {self.columns.headers[i] for i in self.columns.columns.get("id_number", [])}
        self.decoder = TableDecoder(self.columns, text_only=self.table.kind == "csv",
                                    codes=Codes((codes or {}).get("disposition")))

    def rows(self, skip=0):
        for row_no, values, problem in self.table.rows(skip):
            yield row_no, ((values, problem) if values else None)

    def close(self):
        self.table.close()


class Hl7Source(Source):
    """Each message is a row; row number = its position in the request. Messages are read one
    at a time from the payload (HL7 needs no lookahead)."""

    id_keys = {"id_number"}

    def __init__(self, stream: BinaryIO, codes: dict | None = None):
        self.stream = stream
        self.encoding = detect_encoding(stream)
        self.estimated_rows = sum(1 for _ in self._messages())
        if not self.estimated_rows:
            raise FileError(N_("no HL7 messages in the request"))
        self.decoder = RecordDecoder(Codes((codes or {}).get("disposition"), HL7_0112))

    def _messages(self):
        self.stream.seek(0)
        text = io.TextIOWrapper(self.stream, encoding=self.encoding, newline="")
        try:
            yield from hl7v2.iter_messages(text)
        finally:
            text.detach()  # the payload stays open for the next pass

    def rows(self, skip=0):
        for i, text in enumerate(self._messages(), start=1):
            if i <= skip:
                continue
            try:
                _msg, record = hl7v2.parse_message(text)
            except ValueError as exc:
                yield i, ({}, {"message": text[:60].replace("\r", " ")}, [("_message", exc.args[0])])
                continue
            yield i, (record, dict(record), [])


class FhirSource(Source):
    """Each Encounter is a row; row number = its entry position in the Bundle. The Bundle is
    streamed (fhir.stream_bundle): memory holds one entry and the patients' few fields."""

    id_keys = {"id_number"}

    def __init__(self, stream: BinaryIO, codes: dict | None = None):
        self.bundle = fhir.StreamedBundle(stream)
        self.estimated_rows = self.bundle.encounters
        self.decoder = RecordDecoder(Codes((codes or {}).get("disposition"), fhir.FHIR_DISPOSITION))

    def rows(self, skip=0):
        for n, (pos, record, original, problems) in enumerate(self.bundle.encounter_records(), start=1):
            if n > skip:
                yield pos, (record, original, problems)

    def close(self):
        self.bundle.close()


def decode(data: BinaryIO | bytes) -> str:
    """A whole message payload as text, by the same strict ladder as files (FileError if none fits)."""
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    encoding = detect_encoding(stream)
    return stream.read().decode(encoding)


def open_source(kind: str, stream: BinaryIO, filename: str = "", mapping: dict | None = None,
                codes: dict | None = None) -> Source:
    """`codes`: the hospital's own code maps ({field: {its code: ours}})."""
    if kind in ("csv", "xlsx"):
        return TableSource(stream, filename, mapping, codes)
    if kind == "hl7":
        return Hl7Source(stream, codes)
    if kind == "fhir":
        return FhirSource(stream, codes)
    raise FileError(N_("unknown import kind %(kind)s"), kind=kind)


__all__ = ["ENCODINGS", "FileError", "Source", "decode", "open_source"]

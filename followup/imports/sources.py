"""One interface over every input kind. A Source yields (row number, payload) in order, payload
None for a blank line, and can skip rows already imported; its `decoder` (small and picklable,
so worker processes can use it) turns a payload into (record, problems found while reading) and,
for the rejected-rows download, into the row's original columns."""
import io
from typing import BinaryIO, Iterator

from . import fhir, hl7v2
from .errors import N_, FileError
from .headers import ColumnMap
from .tables import ENCODINGS, detect_encoding, open_table

Row = tuple[int, object]  # (row number, payload); payload None = a blank line


class RecordDecoder:
    """For messages, parsed whole when read: the payload is (record, original, problems)."""

    @staticmethod
    def decode(payload):
        return payload[0], payload[2]

    @staticmethod
    def original(payload):
        return payload[1]


class TableDecoder:
    """For tables: the payload is (cell values, a problem with the row as a whole or None)."""

    def __init__(self, columns: ColumnMap, text_only: bool = False):
        self.columns = columns
        self.extract = columns.extract_text if text_only else columns.extract  # CSV cells are all text

    def decode(self, payload):
        values, problem = payload
        record, problems = self.extract(values)
        if problem:
            problems.insert(0, ("_row", problem))
        return record, problems

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
    def __init__(self, stream: BinaryIO, filename: str, mapping: dict | None):
        self.table = open_table(stream, filename)
        self.columns = ColumnMap(self.table.headers, mapping)
        self.estimated_rows = self.table.estimated_rows
        self.id_keys = {self.columns.headers[i] for i in self.columns.columns.get("id_number", [])}
        self.decoder = TableDecoder(self.columns, text_only=self.table.kind == "csv")

    def rows(self, skip=0):
        for row_no, values, problem in self.table.rows(skip):
            yield row_no, ((values, problem) if values else None)

    def close(self):
        self.table.close()


class Hl7Source(Source):
    """Each message is a row; row number = its position in the request."""

    id_keys = {"id_number"}

    def __init__(self, stream: BinaryIO):
        self.messages = hl7v2.split_messages(decode(stream))
        self.estimated_rows = len(self.messages)

    def rows(self, skip=0):
        for i, text in enumerate(self.messages[skip:], start=skip + 1):
            try:
                _msg, record = hl7v2.parse_message(text)
            except ValueError as exc:
                yield i, ({}, {"message": text[:60].replace("\r", " ")}, [("_message", str(exc))])
                continue
            yield i, (record, dict(record), [])


class FhirSource(Source):
    """Each Encounter is a row; row number = its entry position in the Bundle."""

    id_keys = {"id_number"}

    def __init__(self, stream: BinaryIO):
        self.items = fhir.read_bundle(decode(stream))
        self.estimated_rows = len(self.items)

    def rows(self, skip=0):
        for pos, record, original in self.items[skip:]:
            yield pos, (record, original, [])


def decode(data: BinaryIO | bytes) -> str:
    """A whole message payload as text, by the same strict ladder as files (FileError if none fits)."""
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    encoding = detect_encoding(stream)
    return stream.read().decode(encoding)


def open_source(kind: str, stream: BinaryIO, filename: str = "", mapping: dict | None = None) -> Source:
    if kind in ("csv", "xlsx"):
        return TableSource(stream, filename, mapping)
    if kind == "hl7":
        return Hl7Source(stream)
    if kind == "fhir":
        return FhirSource(stream)
    raise FileError(N_("unknown import kind %(kind)s"), kind=kind)


__all__ = ["ENCODINGS", "FileError", "Source", "decode", "open_source"]

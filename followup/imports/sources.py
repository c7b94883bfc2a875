"""One interface over every input kind: a Source yields (row number, raw record, original
columns, problems found while reading) in order, and can skip rows already imported."""
import io
from typing import BinaryIO, Iterator

from . import fhir, hl7v2
from .errors import FileError
from .headers import ColumnMap
from .tables import ENCODINGS, detect_encoding, open_table

Row = tuple[int, dict | None, dict, list[tuple[str, str]]]  # record None = a blank line


class Source:
    estimated_rows = 0
    id_keys: set = set()  # keys of `original` holding ID numbers (masked before storing)

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

    def rows(self, skip=0):
        for row_no, values, problem in self.table.rows(skip):
            if not values:
                yield row_no, None, {}, []
                continue
            record, problems = self.columns.extract(values)
            if problem:
                problems.insert(0, ("_row", problem))
            yield row_no, record, self.columns.original(values), problems

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
                yield i, {}, {"message": text[:60].replace("\r", " ")}, [("_message", str(exc))]
                continue
            yield i, record, dict(record), []


class FhirSource(Source):
    """Each Encounter is a row; row number = its entry position in the Bundle."""

    id_keys = {"id_number"}

    def __init__(self, stream: BinaryIO):
        self.items = fhir.read_bundle(decode(stream))
        self.estimated_rows = len(self.items)

    def rows(self, skip=0):
        for pos, record, original in self.items[skip:]:
            yield pos, record, original, []


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
    raise FileError(f"unknown import kind {kind!r}")


__all__ = ["ENCODINGS", "FileError", "Source", "decode", "open_source"]

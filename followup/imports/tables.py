"""Reading HIS exports: CSV (encoding found by a strict ladder) and xlsx, streamed row by row.

Encodings: UTF-8 (BOM or not) first, then GB18030; never GBK, which lacks rare name characters
(堃 喆 䶮 𠮷), and never GB18030 first, because UTF-8 bytes also decode as GB18030 — into
mojibake. UTF-16 with a BOM (Excel's "Unicode text") is recognised by its BOM."""
import codecs
import csv
import io
import zipfile
from typing import BinaryIO, Iterator

from .errors import N_, FileError

ENCODINGS = ("utf-8-sig", "gb18030")
CANDIDATE_DELIMITERS = (",", "\t", ";", "，")
XLSX_MAX_UNCOMPRESSED = 300 * 1024 * 1024  # a zip bomb is refused before openpyxl opens it
XLSX_MAX_ENTRIES = 2000
CSV_FIELD_LIMIT = 4 * 1024 * 1024  # a 1 MB cell is read (and then rejected by the row schema)
csv.field_size_limit(CSV_FIELD_LIMIT)
FIELD_TOO_BIG = N_("line %(line)s has a cell larger than %(mb)s MB: this is not a discharge export "
                   "(check the quotes of that line)")
CSV_BROKEN = N_("line %(line)s cannot be read as CSV (%(detail)s)")


def detect_encoding(stream: BinaryIO, block: int = 1 << 20) -> str:
    """Return the first encoding of the ladder that decodes the whole stream; rewinds it."""
    stream.seek(0)
    head = stream.read(4)
    stream.seek(0)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    failures = []
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        line = 1
        try:
            while True:
                chunk = stream.read(block)
                text = decoder.decode(chunk, final=not chunk)
                line += text.count("\n")
                if not chunk:
                    break
        except UnicodeDecodeError:
            failures.append(f"{encoding} fails near line {line}")
            stream.seek(0)
            continue
        stream.seek(0)
        return encoding
    raise FileError(N_("cannot decode the file as UTF-8 or GB18030 (%(where)s)"), where="; ".join(failures))


class Table:
    """A header and a stream of (row number as the user sees it, values)."""

    kind = ""
    headers: list[str]
    encoding: str | None = None

    def rows(self, skip: int = 0) -> Iterator[tuple[int, list, str | None]]:
        """(row number, values, a problem with the row as a whole or None)."""
        raise NotImplementedError

    def close(self):
        pass


class CsvTable(Table):
    kind = "csv"

    def __init__(self, stream: BinaryIO):
        self.encoding = detect_encoding(stream)
        self._text = io.TextIOWrapper(stream, encoding=self.encoding, newline="")
        first = self._text.readline()
        if not first.strip():
            raise FileError(N_("the file is empty or its first line (the header) is blank"))
        self.delimiter = max(CANDIDATE_DELIMITERS, key=first.count)
        self.headers = next(csv.reader([first], delimiter=self.delimiter))
        self._body_start = self._text.tell()
        # Records, not lines (cells may hold line breaks): the progress bar and the row cap need
        # the true count, and the C csv reader counts a million rows in about a second.
        counter = csv.reader(self._text, delimiter=self.delimiter)
        self.estimated_rows = sum(1 for _ in _guarded(counter))

    def rows(self, skip: int = 0):
        self._text.seek(self._body_start)
        reader = csv.reader(self._text, delimiter=self.delimiter)
        width = len(self.headers)
        for index, values in enumerate(_guarded(reader), start=1):
            if index <= skip:
                continue
            if not any(v.strip() for v in values):
                yield index + 1, [], None  # a blank line: not a row
                continue
            # An unclosed quote makes one cell swallow the lines after it: say so, never import
            # the swallowed rows as text inside a cell.
            swallowed = any("\n" in v and v.count(self.delimiter) >= width - 1 for v in values)
            yield index + 1, values, N_("a quote is not closed: this row ran over the lines after it") \
                if swallowed else None


def _guarded(reader):
    """The csv reader's rows; its errors (a cell over the field limit, a NUL in old Pythons) as
    FileErrors naming the line (counted from the header, which is line 1)."""
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = reader.line_num + 1
            if "field limit" in str(exc):
                raise FileError(FIELD_TOO_BIG, line=line, mb=CSV_FIELD_LIMIT // (1024 * 1024)) from None
            raise FileError(CSV_BROKEN, line=line, detail=str(exc)[:200]) from None
        yield values


class XlsxTable(Table):
    kind = "xlsx"

    def __init__(self, stream: BinaryIO):
        from openpyxl import load_workbook
        _refuse_zip_bomb(stream)
        try:
            self._book = load_workbook(stream, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken workbook
            raise FileError(N_("not a readable .xlsx workbook (%(detail)s)"), detail=type(exc).__name__) from None
        self._sheet = self._book.worksheets[0]
        header = next(self._sheet.iter_rows(max_row=1, values_only=True), None)
        if not header or not any(header):
            raise FileError(N_("the first sheet is empty or its first row (the header) is blank"))
        width = max(i for i, v in enumerate(header) if v not in (None, "")) + 1
        self.headers = [str(h) if h is not None else "" for h in header[:width]]
        if self._sheet.max_row is None:  # no <dimension> in the sheet: count the rows once
            self._sheet.reset_dimensions()
            self.estimated_rows = sum(1 for _ in self._sheet.iter_rows(min_row=2, values_only=True))
        else:
            self.estimated_rows = max(self._sheet.max_row - 1, 0)

    def rows(self, skip: int = 0):
        width = len(self.headers)
        for row_no, values in enumerate(self._sheet.iter_rows(min_row=2 + skip, values_only=True), start=2 + skip):
            values = list(values)
            extra = values[width:]
            values = values[:width] + [v for v in extra if v not in (None, "")]
            if all(v in (None, "") for v in values):
                values = []
            yield row_no, values, None

    def close(self):
        self._book.close()


def _refuse_zip_bomb(stream: BinaryIO) -> None:
    try:
        with zipfile.ZipFile(stream) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile:
        raise FileError(N_("not a readable .xlsx workbook (%(detail)s)"), detail="zip") from None
    finally:
        stream.seek(0)
    if len(infos) > XLSX_MAX_ENTRIES or sum(i.file_size for i in infos) > XLSX_MAX_UNCOMPRESSED:
        raise FileError(N_("the workbook unpacks to more than we accept (possible zip bomb)"))


def open_table(stream: BinaryIO, filename: str = "") -> Table:
    """CSV or xlsx, by content: an xlsx is a zip file (starts with PK)."""
    stream.seek(0)
    head = stream.read(4)
    stream.seek(0)
    if not head:
        raise FileError(N_("the file is empty"))
    if head.startswith(b"PK\x03\x04"):
        return XlsxTable(stream)
    if filename.lower().endswith((".xls",)):
        raise FileError(N_("old .xls workbooks are not read; save as .xlsx or CSV"))
    return CsvTable(stream)

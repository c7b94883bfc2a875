"""Reading HIS exports: CSV (encoding found by a strict ladder) and xlsx, streamed row by row.

Encodings: UTF-8 (BOM or not) first, then GB18030; never GBK, which lacks rare name characters
(堃 喆 䶮 𠮷), and never GB18030 first, because UTF-8 bytes also decode as GB18030 — into
mojibake. UTF-16 with a BOM (Excel's "Unicode text") is recognised by its BOM."""
import array
import codecs
import csv
import io
import mmap
import tempfile
import zipfile
from typing import BinaryIO, Iterator

from .errors import N_, FileError

ENCODINGS = ("utf-8-sig", "gb18030")
CANDIDATE_DELIMITERS = (",", "\t", ";", "，")
XLSX_MAX_UNCOMPRESSED = 300 * 1024 * 1024  # a zip bomb is refused before openpyxl opens it
XLSX_MAX_ENTRIES = 2000
# openpyxl keeps every shared string in a Python list (3M strings took 650 MB): ours are kept in
# a temporary file with 4-byte offsets in memory, and their number is bounded.
XLSX_MAX_SHARED_STRINGS = 10_000_000
TOO_MANY_STRINGS = N_("the workbook holds more than %(limit)s distinct texts: save it as CSV, or split it")
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
        _refuse_zip_bomb(stream)
        try:
            self._book = _load_workbook(stream)
        except FileError:
            raise
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
        strings = getattr(self._book, "_followup_strings", None)
        if strings is not None:
            strings.close()


class SharedStrings:
    """An xlsx's shared-string table on disk: the strings in a temporary file, their offsets in
    an array (4 bytes each), looked up through mmap. Read with iterparse, one <si> at a time."""

    def __init__(self, src, limit: int | None = None):
        from openpyxl.cell.text import Text
        from openpyxl.xml.constants import SHEET_MAIN_NS
        from openpyxl.xml.functions import iterparse
        tag = "{%s}si" % SHEET_MAIN_NS
        limit = limit or XLSX_MAX_SHARED_STRINGS
        self._file = tempfile.TemporaryFile()
        self._offsets = array.array("I", [0])
        self._map = None
        root, end = None, 0
        try:
            for event, node in iterparse(src, events=("start", "end")):
                if root is None:
                    root = node
                if event != "end" or node.tag != tag:
                    continue
                if len(self._offsets) > limit:
                    raise FileError(TOO_MANY_STRINGS, limit=limit)
                data = Text.from_tree(node).content.replace("x005F_", "").encode("utf-8", "surrogatepass")
                self._file.write(data)
                end += len(data)
                self._offsets.append(end)
                root.clear()  # the parsed <si> elements are not kept either
            self._file.flush()
            if end:
                self._map = mmap.mmap(self._file.fileno(), end, access=mmap.ACCESS_READ)
        except BaseException:
            self.close()
            raise

    def __len__(self):
        return len(self._offsets) - 1

    def __getitem__(self, i: int) -> str:
        start, stop = self._offsets[i], self._offsets[i + 1]
        return self._map[start:stop].decode("utf-8", "surrogatepass") if stop > start else ""

    def close(self):
        if self._map is not None:
            self._map.close()
            self._map = None
        self._file.close()


def _load_workbook(stream: BinaryIO):
    """openpyxl's load_workbook(read_only=True, data_only=True), with the shared strings on disk."""
    from openpyxl.reader.excel import SHARED_STRINGS, ExcelReader

    refused = []

    class Reader(ExcelReader):
        def read_strings(self):
            ct = self.package.find(SHARED_STRINGS)
            if ct is not None:
                with self.archive.open(ct.PartName[1:]) as src:
                    try:
                        self.shared_strings = SharedStrings(src)
                    except FileError as exc:  # openpyxl would re-raise it as a plain ValueError
                        refused.append(exc)

    reader = Reader(stream, read_only=True, data_only=True)
    try:
        reader.read()
    except BaseException:
        if isinstance(reader.shared_strings, SharedStrings):
            reader.shared_strings.close()
        raise
    if refused:
        reader.wb.close()
        raise refused[0]
    reader.wb._followup_strings = reader.shared_strings if isinstance(reader.shared_strings, SharedStrings) else None
    return reader.wb


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

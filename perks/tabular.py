"""Spreadsheet files written row by row: CSV (RFC 4180, UTF-8 with a BOM) and XLSX.

Both writers take rows of plain cells, where a cell is ``None`` (empty), an ``int``, a
:class:`Number` (a decimal already written as text, e.g. an amount in its currency's major
unit), a :class:`Serial` (a date and time as a spreadsheet serial number: XLSX only) or a
``str``. Whatever the size, memory stays flat: CSV comes out in chunks of bytes, and XLSX is
written straight into a zip file (see :class:`StreamingXlsx`), or comes out in chunks of bytes
as it is written (:func:`xlsx_chunks`).

Formula injection (OWASP "CSV injection") is neutralised in both formats: a text cell that
starts with ``=``, ``+``, ``-``, ``@``, TAB, CR, LF or NUL is written with a leading ``'`` in
CSV, and as a text cell with Excel's quote-prefix style in XLSX (what Excel itself stores when
someone types ``'=...``): it is shown as typed and never evaluated. Numbers are never touched,
so a negative amount stays a number.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import IO, Any, cast
from xml.sax.saxutils import escape

#: the first characters that make a spreadsheet read a cell as a formula (or hide one)
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\0")
BOM = "\ufeff"


class Number(str):
    """A number already written as decimal text ("1250000", "-12.50"): a number cell in
    XLSX, written as is in CSV. Amounts are made with :func:`amount_text`, never floats."""

    __slots__ = ()


class Serial(Number):
    """A date and time as a spreadsheet serial number already written as decimal text: days
    since 1899-12-30 (local time, here the company's), the time of day as the fraction, to ten
    decimals (under 9 µs: every reader rounds it back to the exact second). A date-time cell in
    XLSX. Made with :func:`excel_serial` (or by PostgreSQL, ``perks.finance.exports``)."""

    __slots__ = ()


class XmlRow(str):
    """A whole row already written as SpreadsheetML (``<row>...</row>``, cells escaped and
    styled as :class:`StreamingXlsx` would write them): PostgreSQL makes the export's rows
    so (``perks.finance.exports``), and the writer appends them as they are."""

    __slots__ = ()


#: day 0 of the spreadsheet serial dates (1900 date system, as Excel and LibreOffice count)
SERIAL_EPOCH = datetime.fromisoformat("1899-12-30")  # naive: serials carry no zone
#: decimals of a :class:`Serial`'s fraction of a day
SERIAL_DECIMALS = 10


def excel_serial(local: datetime) -> Serial:
    """A naive local date-time, to the second (microseconds dropped, as the CSV's ISO text
    drops them), as a :class:`Serial`: ``2026-01-01 07:00:00`` → ``46023.2916666667``."""
    delta = local.replace(tzinfo=None, microsecond=0) - SERIAL_EPOCH
    scale = 10**SERIAL_DECIMALS
    fraction = (delta.seconds * scale * 2 + 86400) // (2 * 86400)  # rounded half up, < scale
    return Serial(f"{delta.days}.{fraction:0{SERIAL_DECIMALS}d}")


def neutralise(text: str) -> str:
    """``text`` as a CSV cell that no spreadsheet evaluates: a leading ``'`` if it could start
    a formula."""
    if text and text[0] in FORMULA_TRIGGERS:
        return "'" + text
    return text


def amount_text(amount: int, exponent: int) -> Number:
    """Minor units as a decimal in the major unit: ``(1250, 2)`` → ``12.50``, VND as is."""
    if exponent == 0:
        return Number(amount)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**exponent)
    return Number(f"{sign}{whole}.{fraction:0{exponent}d}")


# --- CSV -------------------------------------------------------------------------------------


def csv_chunks(
    header: Sequence[str],
    batches: Iterable[Sequence[Sequence[Any]]],
    *,
    text_columns: Sequence[int],
) -> Iterator[bytes]:
    """The CSV file as UTF-8 chunks, one per batch of rows: a BOM (so Excel reads Vietnamese
    right), the header, then the rows, CRLF line ends, quoted where RFC 4180 needs it.

    ``text_columns`` are the indexes of the cells that may hold free text: they are
    neutralised here; the other cells are numbers, or text the app generated, written as they
    are. With no text columns (cells already neutralised by the database) a whole batch goes
    to the C writer at once.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(header)
    triggers = FORMULA_TRIGGERS
    columns = tuple(text_columns)
    for batch in batches:
        if not columns:
            writer.writerows(batch)
        else:
            for row in batch:
                cells = list(row)
                for index in columns:
                    value = cells[index]
                    if value and value[0] in triggers:
                        cells[index] = "'" + value
                writer.writerow(cells)
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
    tail = buffer.getvalue()
    if tail:
        yield tail.encode("utf-8")


# --- XLSX ------------------------------------------------------------------------------------

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_XML_SPECIAL = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

#: cell styles (``cellXfs`` in styles.xml, in this order)
STYLE_DEFAULT, STYLE_QUOTED, STYLE_HEADER, STYLE_INTEGER, STYLE_DECIMAL, STYLE_DATETIME = range(6)
#: the date-time cells' number format: sorts and filters by year, month and day everywhere
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_OOXML = "http://schemas.openxmlformats.org"
_PACKAGE = f"{_OOXML}/package/2006"
_DOCUMENT = f"{_OOXML}/officeDocument/2006/relationships"
_MIME = "application/vnd.openxmlformats"
_SHEET_MIME = f"{_MIME}-officedocument.spreadsheetml"


def _override(part: str, content_type: str) -> str:
    return f'<Override PartName="{part}" ContentType="{content_type}"/>'


def _relationship(number: int, kind: str, target: str) -> str:
    return f'<Relationship Id="rId{number}" Type="{kind}" Target="{target}"/>'


_CONTENT_TYPES = (
    f'{_XML}<Types xmlns="{_PACKAGE}/content-types">'
    f'<Default Extension="rels" ContentType="{_MIME}-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    + _override("/xl/workbook.xml", f"{_SHEET_MIME}.sheet.main+xml")
    + _override("/xl/worksheets/sheet1.xml", f"{_SHEET_MIME}.worksheet+xml")
    + _override("/xl/styles.xml", f"{_SHEET_MIME}.styles+xml")
    + _override("/docProps/core.xml", f"{_MIME}-package.core-properties+xml")
    + _override("/docProps/app.xml", f"{_MIME}-officedocument.extended-properties+xml")
    + "</Types>"
)
_ROOT_RELS = (
    f'{_XML}<Relationships xmlns="{_PACKAGE}/relationships">'
    + _relationship(1, f"{_DOCUMENT}/officeDocument", "xl/workbook.xml")
    + _relationship(2, f"{_PACKAGE}/relationships/metadata/core-properties", "docProps/core.xml")
    + _relationship(3, f"{_DOCUMENT}/extended-properties", "docProps/app.xml")
    + "</Relationships>"
)
_WORKBOOK_RELS = (
    f'{_XML}<Relationships xmlns="{_PACKAGE}/relationships">'
    + _relationship(1, f"{_DOCUMENT}/worksheet", "worksheets/sheet1.xml")
    + _relationship(2, f"{_DOCUMENT}/styles", "styles.xml")
    + "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
# Built-in number formats: 3 is "#,##0", 4 is "#,##0.00"; 164 is the first custom one.
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    f'<numFmts count="1"><numFmt numFmtId="164" formatCode="{DATETIME_FORMAT}"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="6">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_CORE = _XML + (
    f'<cp:coreProperties xmlns:cp="{_PACKAGE}/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    "<dc:title>{title}</dc:title><dc:creator>Perks</dc:creator></cp:coreProperties>"
)
_APP = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>Perks</Application></Properties>"
)
_SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<sheetViews><sheetView workbookViewId="0">'
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    "</sheetView></sheetViews>"
    '<sheetFormatPr defaultRowHeight="15"/>{cols}<sheetData>'
)
_SHEET_END = "</sheetData></worksheet>"


def _xml_text(text: str) -> str:
    """Text for an XML element: escaped, without the control characters XML cannot hold."""
    if _XML_SPECIAL.search(text):
        return escape(_CONTROL.sub("", text))
    return text


def _can_seek(target: object) -> bool:
    if isinstance(target, str):
        return True  # a path: a file
    seekable = getattr(target, "seekable", None)
    if seekable is not None:
        return bool(seekable())
    return hasattr(target, "seek")


def _string_cell(text: str) -> str:
    style = ' s="1"' if text and text[0] in FORMULA_TRIGGERS else ""
    return f'<c t="inlineStr"{style}><is><t xml:space="preserve">{_xml_text(text)}</t></is></c>'


class StreamingXlsx:
    """A one-sheet XLSX workbook written row by row into ``target``, in constant memory:
    a path, a binary file that can seek, or a stream that cannot (a :class:`ByteSink`, a
    background job's stored file: the zip then carries each part's sizes after its data, in a
    data descriptor, as streaming zips do, and stays a plain 32-bit zip, which is what Excel
    reads most reliably; a sheet above 4 GB, far beyond Excel's 1,048,576 rows, raises
    ``RuntimeError``).

    Cells are inline strings and numbers (no shared-strings table to keep in memory), rows
    and cells carry no references (both optional in SpreadsheetML), and the sheet is
    deflated as it is written. Amounts (:class:`Number`) get a thousands format with the
    currency's decimals; whole numbers stay plain; date-times (:class:`Serial`) are number
    cells with a date-time format. The header row is bold and frozen.

    It exists because the general-purpose XlsxWriter library writes about 200,000 cells a
    second here, which would make a million-row export take minutes (PERFORMANCE.md P3).
    """

    def __init__(
        self,
        target: str | IO[bytes] | ByteSink,
        *,
        sheet_name: str,
        header: Sequence[str],
        widths: Sequence[int] | None = None,
        title: str = "",
    ) -> None:
        self._zip = zipfile.ZipFile(
            cast("str | IO[bytes]", target), "w", zipfile.ZIP_DEFLATED, compresslevel=1
        )
        self._zip.writestr("[Content_Types].xml", _CONTENT_TYPES)
        self._zip.writestr("_rels/.rels", _ROOT_RELS)
        # the title is people's text (a survey's): without what XML cannot hold, as cells
        title = escape(_CONTROL.sub("", title or sheet_name))
        self._zip.writestr("docProps/core.xml", _CORE.format(title=title))
        self._zip.writestr("docProps/app.xml", _APP)
        self._zip.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        name = escape(_CONTROL.sub("", sheet_name)[:31], {'"': "&quot;"})
        self._zip.writestr("xl/workbook.xml", _WORKBOOK.format(name=name))
        self._zip.writestr("xl/styles.xml", _STYLES)
        # Zip64 only where the sizes are written back into the local header: a stream keeps
        # the plain 32-bit descriptors Excel reads (a sheet above 4 GB then raises).
        self._sheet = self._zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=_can_seek(target))
        cols = ""
        if widths:
            cols = (
                "<cols>"
                + "".join(
                    f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
                    for i, w in enumerate(widths, start=1)
                )
                + "</cols>"
            )
        self._pending: list[str] = [_SHEET_START.format(cols=cols)]
        self._pending.append(
            "<row>"
            + "".join(f'<c t="inlineStr" s="2"><is><t>{_xml_text(h)}</t></is></c>' for h in header)
            + "</row>"
        )
        self.rows = 0

    def write_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        """Append rows (cells: None, int, Number, Serial, str), or rows already written
        (:class:`XmlRow`)."""
        pending = self._pending
        triggers = FORMULA_TRIGGERS
        special = _XML_SPECIAL
        for row in rows:
            if row.__class__ is XmlRow:
                pending.append(row)
                if len(pending) >= 1000:
                    self._flush()
                self.rows += 1
                continue
            parts = ["<row>"]
            for value in row:
                if value is None:
                    parts.append("<c/>")
                elif value.__class__ is Number:
                    style = STYLE_DECIMAL if "." in value else STYLE_INTEGER
                    parts.append(f'<c s="{style}"><v>{value}</v></c>')
                elif value.__class__ is Serial:
                    parts.append(f'<c s="{STYLE_DATETIME}"><v>{value}</v></c>')
                elif value.__class__ is str:
                    if not value:
                        parts.append("<c/>")
                    elif value[0] in triggers or special.search(value):
                        parts.append(_string_cell(value))
                    else:
                        parts.append(
                            f'<c t="inlineStr"><is><t xml:space="preserve">{value}</t></is></c>'
                        )
                elif value.__class__ is int:
                    parts.append(f"<c><v>{value}</v></c>")
                elif value.__class__ is bool:
                    parts.append(f'<c t="b"><v>{int(value)}</v></c>')
                else:
                    parts.append(_string_cell(str(value)))
            parts.append("</row>")
            pending.append("".join(parts))
            if len(pending) >= 1000:
                self._flush()
            self.rows += 1

    def _flush(self) -> None:
        self._sheet.write("".join(self._pending).encode("utf-8"))
        self._pending.clear()

    def close(self) -> None:
        self._pending.append(_SHEET_END)
        self._flush()
        self._sheet.close()
        self._zip.close()


class ByteSink:
    """A write-only stream that keeps what is written until it is taken: the zip under a
    :class:`StreamingXlsx` writes into it, and :func:`xlsx_chunks` sends what it holds. It
    cannot seek or tell, so the zip is written front to back."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        if data:
            self._parts.append(bytes(data))
            self.size += len(data)
        return len(data)

    def flush(self) -> None:
        """Nothing to do: the bytes wait for :meth:`take`."""

    def take(self) -> bytes:
        """Everything written since the last call (and forget it)."""
        data = b"".join(self._parts)
        self._parts.clear()
        self.size = 0
        return data


def xlsx_chunks(
    header: Sequence[str],
    batches: Iterable[Sequence[Sequence[Any]]],
    *,
    sheet_name: str,
    widths: Sequence[int] | None = None,
    title: str = "",
    chunk_size: int = 256 * 1024,
) -> Iterator[bytes]:
    """The XLSX workbook as chunks of bytes, sent as it is written: the package's fixed
    parts first, before the first batch is read (the download starts at once), then the
    sheet, deflated, about ``chunk_size`` bytes at a time, then the zip's directory. Memory
    holds one batch and at most one chunk."""
    sink = ByteSink()
    workbook = StreamingXlsx(sink, sheet_name=sheet_name, header=header, widths=widths, title=title)
    yield sink.take()
    for batch in batches:
        workbook.write_rows(batch)
        if sink.size >= chunk_size:
            yield sink.take()
    workbook.close()
    tail = sink.take()
    if tail:
        yield tail

"""Commission and ledger exports, CSV and XLSX, streamed from the database and audited.

Two exports, each with stable, documented columns (``COLUMNS_DOC`` feeds the page and the
README; names never change, new columns are only ever added at the end):

* ``commissions``: the report's lines: one row per ledger entry with its person, department,
  order, product, the rule applied and the commission it belongs to;
* ``ledger``: the ledger itself: one row per entry, lean.

Amounts are numbers in the currency's major unit with its decimals (VND whole đồng, USD with
cents), signed as in the ledger; the currency has its own column. Dates are in the company's
time zone: in CSV ISO 8601 text with their offset, in XLSX date-time cells (serial numbers
with a date format, so a spreadsheet sorts and filters them by year, month and day). Text
cells are neutralised against formula injection (see ``perks.tabular``).

An XLSX download is streamed like a CSV one: its first bytes leave before the first row is
read, and the zip is written front to back as the rows arrive (``tabular.xlsx_chunks``).

Rows come from a server-side cursor on PostgreSQL (psycopg's named cursor read with
``fetchmany``: neither the database driver nor SQLAlchemy ever holds more than one batch),
elsewhere from SQLAlchemy's ``yield_per``. Each export writes one audit event (who, which
export and format, the filters, how many rows, whether it finished) in its own short
transaction once the last row is out, since only then is the count known.

An export of more than ``EXPORT_BACKGROUND_ROWS`` rows is made by a background job
(``perks.background``, kind ``export``): the file is written into the database a piece at a
time as the rows stream (memory stays flat), and downloaded from the job's page, streamed
from the database and audited like a direct download.
"""

from __future__ import annotations

import enum
import hashlib
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date
from functools import cache
from typing import IO, Any

from babel.numbers import get_currency_precision, list_currencies
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    DateTime,
    Numeric,
    Select,
    Text,
    case,
    cast,
    extract,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from perks import audit, background, glossary
from perks.background import BackgroundJob, JobRun
from perks.commissions.models import Commission, EntryKind, LedgerEntry
from perks.db import take_turns, transaction
from perks.errors import NotFound, NotPermitted
from perks.extensions import db
from perks.finance.models import PayoutBatch, PayoutItem
from perks.finance.periods import Period
from perks.finance.reports import ReportFilter, entries_query
from perks.i18n import company_zone
from perks.people.models import Department, Role, User
from perks.shop.models import Order, Product
from perks.tabular import (
    FORMULA_TRIGGERS,
    SERIAL_DECIMALS,
    STYLE_DATETIME,
    STYLE_DECIMAL,
    STYLE_INTEGER,
    STYLE_QUOTED,
    StreamingXlsx,
    XmlRow,
    amount_text,
    csv_chunks,
    excel_serial,
    xlsx_chunks,
)

FORMATS = ("csv", "xlsx")
#: Werkzeug adds ``; charset=utf-8`` to a text type itself (given here, it came twice)
MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: the background job that makes a large export
JOB_KIND = "export"
#: rows fetched from the database at a time: 2,000 keeps the CSV export of 1,000,000 rows
#: about 10 MB under P2's 150 MB (5,000 peaked at 151 MB), at the same speed
FETCH_ROWS = 2000
#: bytes per piece when an XLSX file is sent
SEND_CHUNK = 256 * 1024


class Cell(enum.Enum):
    """How a column's database value becomes a cell."""

    INT = "int"  # a whole number, as is
    TEXT = "text"  # free text: neutralised against formula injection
    CODE = "code"  # text the app makes (numbers, states, currencies): as is
    MONEY = "money"  # minor units → a number in the major unit of the row's currency
    RATE = "rate"  # basis points → a percentage number (250 → 2.50)
    DATETIME = "datetime"  # → ISO 8601 (CSV) or a date-time cell (XLSX), company time


@dataclass(frozen=True)
class Column:
    name: str
    cell: Cell
    description: Any
    width: int = 14


@dataclass(frozen=True)
class Export:
    name: str
    title: Any
    #: the workbook's tab, in the reader's language (a glossary term)
    sheet_name: Any
    columns: tuple[Column, ...]
    build: Callable[[ReportFilter, str], tuple[Select, list[Any]]]

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def text_columns(self) -> list[int]:
        return [i for i, c in enumerate(self.columns) if c.cell is Cell.TEXT]

    def query(
        self,
        chosen: ReportFilter,
        locale: str = "vi",
        *,
        in_database: bool = False,
        for_xlsx: bool = False,
    ) -> Select:
        """The export's query, ordered by entry. ``in_database`` (PostgreSQL only): the cells
        come out formatted: for CSV, text neutralised and dates as ISO text; ``for_xlsx``,
        each row as one column, its finished SpreadsheetML ``<row>`` (``_xlsx_row_sql``)."""
        query, exprs = self.build(chosen, locale)
        if in_database:
            currency = exprs[self.header.index("currency")]
            exprs = [
                _pg_cell(column, expr, currency, for_xlsx=for_xlsx).label(column.name)
                for column, expr in zip(self.columns, exprs, strict=True)
            ]
            if for_xlsx:
                exprs = [_xlsx_row_sql(self.columns, exprs).label("row")]
        return query.with_only_columns(*exprs, maintain_column_froms=False).order_by(LedgerEntry.id)


def _held_batch() -> Any:
    return aliased(PayoutBatch, name="held_batch")


def _paying_batch() -> Any:
    return aliased(PayoutBatch, name="paying_batch")


def _with_batches(query: Select) -> tuple[Select, Any]:
    """Join the batch holding each entry and the batch a payout entry paid; return the
    batch reference column."""
    held, paying = _held_batch(), _paying_batch()
    query = (
        query.outerjoin(PayoutItem, PayoutItem.claimed_entry_id == LedgerEntry.id)
        .outerjoin(held, held.id == PayoutItem.batch_id)
        .outerjoin(paying, paying.id == LedgerEntry.payout_batch_id)
    )
    return query, func.coalesce(held.reference, paying.reference)


def _commission_lines(chosen: ReportFilter, locale: str) -> tuple[Select, list[Any]]:
    # as ``Product.name``: the language's name, else the other one's (a product may be
    # named in one language only)
    first, second = (
        (Product.name_en, Product.name_vi) if locale == "en" else (Product.name_vi, Product.name_en)
    )
    product_name = func.coalesce(func.nullif(first, ""), second)
    query = entries_query(select(LedgerEntry.id), chosen)
    query = (
        query.outerjoin(Department, Department.id == User.department_id)
        .outerjoin(Order, Order.id == Commission.order_id)
        .outerjoin(Product, Product.id == Commission.product_id)
    )
    query, batch_reference = _with_batches(query)
    return query, [
        LedgerEntry.id,
        LedgerEntry.created_at,
        LedgerEntry.kind,
        LedgerEntry.commission_id,
        User.employee_number,
        User.name,
        Department.name,
        Order.number,
        Order.paid_at,
        product_name,
        Commission.quantity,
        Commission.base_amount,
        Commission.rate_bps,
        Commission.flat_amount,
        case(
            (Commission.returning_customer.is_(True), literal_column("'yes'")),
            (Commission.id.is_not(None), literal_column("'no'")),
        ),
        LedgerEntry.amount,
        Commission.amount,
        LedgerEntry.currency,
        Commission.state,
        Commission.earned_at,
        Commission.paid_at,
        batch_reference,
        LedgerEntry.reason,
    ]


def _ledger(chosen: ReportFilter, locale: str) -> tuple[Select, list[Any]]:
    recorder = aliased(User, name="recorder")
    query = entries_query(select(LedgerEntry.id), chosen)
    query = (
        query.outerjoin(Department, Department.id == User.department_id)
        .outerjoin(Order, Order.id == Commission.order_id)
        .outerjoin(recorder, recorder.id == LedgerEntry.created_by_id)
    )
    query, batch_reference = _with_batches(query)
    return query, [
        LedgerEntry.id,
        LedgerEntry.created_at,
        LedgerEntry.kind,
        User.employee_number,
        User.name,
        Department.name,
        LedgerEntry.amount,
        LedgerEntry.currency,
        LedgerEntry.commission_id,
        Order.number,
        LedgerEntry.reason,
        recorder.name,
        batch_reference,
    ]


# --- formatting in PostgreSQL --------------------------------------------------------------------
# On PostgreSQL the query itself turns amounts, rates and dates into their final text and
# neutralises free text, so rows arrive as finished cells and go to the CSV writer a batch at
# a time, with no Python per row (PERFORMANCE.md P2). Elsewhere (SQLite) ``row_converter``
# does the same in Python; a test on PostgreSQL checks both give the same file.

#: ISO 8601 with the offset, in the session's time zone (the company's, for the export)
PG_ISO_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM'


@cache
def _currencies_by_exponent() -> dict[int, tuple[str, ...]]:
    """Known currency codes whose minor unit is not hundredths, by exponent."""
    grouped: dict[int, list[str]] = {}
    for code in sorted(list_currencies()):
        if len(code) != 3 or not code.isalpha() or not code.isupper():
            continue
        exponent = get_currency_precision(code)
        if exponent != 2:
            grouped.setdefault(exponent, []).append(code)
    # The company's currency first: most rows stop at the first test.
    return {e: tuple(sorted(codes, key=lambda c: c != "VND")) for e, codes in grouped.items()}


def _major_units_sql(amount: Any, currency: Any) -> Any:
    def in_major(exponent: int) -> Any:
        if exponent == 0:
            return cast(amount, Text)
        return cast(func.round(cast(amount, Numeric) / 10**exponent, exponent), Text)

    whens = [
        (or_(*(currency == literal_column(f"'{code}'") for code in codes)), in_major(exponent))
        for exponent, codes in sorted(_currencies_by_exponent().items())
    ]
    return case(*whens, else_=in_major(2))


def _neutralised_sql(value: Any) -> Any:
    triggers = sorted(FORMULA_TRIGGERS - {"\0"})  # PostgreSQL text never holds NUL
    return case(
        (func.substr(value, 1, 1).in_(triggers), literal_column("''''").concat(value)),
        else_=value,
    )


def _serial_sql(expr: Any) -> Any:
    """A timestamp as a spreadsheet serial number in the session's time zone (the
    company's), to the second, as text with ``SERIAL_DECIMALS`` decimals: the same text as
    ``tabular.excel_serial`` (numeric arithmetic, rounded half up like it)."""
    local = func.date_trunc(literal_column("'second'"), cast(expr, DateTime(timezone=False)))
    days = cast(extract("epoch", local), Numeric) / 86400 + 25569
    return cast(func.round(days, SERIAL_DECIMALS), Text)


#: what XML cannot hold, dropped from text cells (as ``tabular`` does; PostgreSQL has no NUL)
_PG_XML_CONTROL = "[\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"


def _xml_text_sql(value: Any) -> Any:
    cleaned = func.regexp_replace(value, _PG_XML_CONTROL, "", "g")
    return func.replace(func.replace(func.replace(cleaned, "&", "&amp;"), "<", "&lt;"), ">", "&gt;")


def _xlsx_cell_sql(column: Column, value: Any) -> Any:
    """The cell's SpreadsheetML, exactly as ``tabular.StreamingXlsx.write_rows`` writes the
    cell Python would make of it (a test compares the workbooks)."""
    empty = "<c/>"
    if column.cell is Cell.INT:
        number = cast(value, Text)
        return case((value.is_(None), empty), else_=func.concat("<c><v>", number, "</v></c>"))
    if column.cell in (Cell.MONEY, Cell.RATE):
        style = case((func.strpos(value, ".") > 0, str(STYLE_DECIMAL)), else_=str(STYLE_INTEGER))
        cell = func.concat('<c s="', style, '"><v>', value, "</v></c>")
        return case((value.is_(None), empty), else_=cell)
    if column.cell is Cell.DATETIME:
        cell = func.concat(f'<c s="{STYLE_DATETIME}"><v>', value, "</v></c>")
        return case((value.is_(None), empty), else_=cell)
    text = cast(value, Text)
    triggers = sorted(FORMULA_TRIGGERS - {"\0"})
    quoted = case((func.substr(text, 1, 1).in_(triggers), f' s="{STYLE_QUOTED}"'), else_="")
    cell = func.concat(
        '<c t="inlineStr"',
        quoted,
        '><is><t xml:space="preserve">',
        _xml_text_sql(text),
        "</t></is></c>",
    )
    return case((or_(text.is_(None), text == ""), empty), else_=cell)


def _xlsx_row_sql(columns: Sequence[Column], values: Sequence[Any]) -> Any:
    cells = [_xlsx_cell_sql(c, v) for c, v in zip(columns, values, strict=True)]
    return func.concat("<row>", *cells, "</row>")


def _pg_cell(column: Column, expr: Any, currency: Any, *, for_xlsx: bool) -> Any:
    if column.cell is Cell.MONEY:
        return _major_units_sql(expr, currency)
    if column.cell is Cell.RATE:
        return cast(func.round(cast(expr, Numeric) / 100, 2), Text)
    if column.cell is Cell.DATETIME:
        if for_xlsx:
            return _serial_sql(expr)
        return func.to_char(expr, literal_column(f"'{PG_ISO_FORMAT}'"))
    if column.cell is Cell.TEXT and not for_xlsx:
        return _neutralised_sql(expr)
    if column.cell is Cell.CODE:
        return cast(expr, Text)
    return expr


_ENTRY_ID = Column("entry_id", Cell.INT, _l("The ledger entry's number."), 10)
_ENTRY_DATE = Column(
    "entry_date",
    Cell.DATETIME,
    _l("When the entry was written, in company time (CSV: ISO 8601; XLSX: a date cell)."),
    26,
)
_ENTRY_KIND = Column(
    "entry_kind",
    Cell.CODE,
    _l(
        "earn (+), reversal (−), adjustment (±), payout (−) or withholding (−, the personal"
        " income tax withheld from a payout)."
    ),
    11,
)
_EMPLOYEE_ID = Column("employee_id", Cell.TEXT, _l("The person's employee number (HR)."), 12)
_EMPLOYEE_NAME = Column("employee_name", Cell.TEXT, _l("The person's name."), 26)
_DEPARTMENT = Column("department", Cell.TEXT, _l("The person's department now."), 18)
_AMOUNT = Column(
    "amount", Cell.MONEY, _l("The entry's amount, signed, in the currency's major unit."), 14
)
_CURRENCY = Column("currency", Cell.CODE, _l("ISO 4217 code of every amount on the row."), 9)
_ORDER_NUMBER = Column("order_number", Cell.CODE, _l("The order the commission is for."), 14)
_BATCH = Column("payout_batch", Cell.CODE, _l("The payout batch that holds or paid the entry."), 18)
_REASON = Column(
    "reason",
    Cell.TEXT,
    _l(
        "Why: redeemed, refund, dispute_lost, left_company, payout, withholding, or finance's"
        " words; a leaver's closed balance: deduct (from the final salary) or write_off, a"
        " colon, then finance's words."
    ),
    30,
)
_COMMISSION_ID = Column("commission_id", Cell.INT, _l("The commission the entry belongs to."), 12)

COMMISSIONS = Export(
    name="commissions",
    title=_l("Commission lines"),
    sheet_name=glossary.COMMISSIONS.label,
    columns=(
        _ENTRY_ID,
        _ENTRY_DATE,
        _ENTRY_KIND,
        _COMMISSION_ID,
        _EMPLOYEE_ID,
        _EMPLOYEE_NAME,
        _DEPARTMENT,
        _ORDER_NUMBER,
        Column("order_paid_at", Cell.DATETIME, _l("When the customer paid the order."), 26),
        Column("product", Cell.TEXT, _l("The product the commission is for."), 26),
        Column("quantity", Cell.INT, _l("Units bought on the order line."), 9),
        Column("base_amount", Cell.MONEY, _l("The order line's total: the rule's base."), 14),
        Column("rate_percent", Cell.RATE, _l("The rule's percentage (10.00 = 10 %)."), 11),
        Column("flat_per_unit", Cell.MONEY, _l("The rule's fixed amount per unit."), 13),
        Column(
            "returning_customer",
            Cell.CODE,
            _l("yes: the customer had bought before, so the returning-customer rate applied."),
            10,
        ),
        _AMOUNT,
        Column("commission_amount", Cell.MONEY, _l("What the whole commission is worth now."), 16),
        _CURRENCY,
        Column(
            "commission_state",
            Cell.CODE,
            _l("pending, earned, payable, paid, voided or on_hold (now)."),
            15,
        ),
        Column("earned_at", Cell.DATETIME, _l("When the commission was earned."), 26),
        Column("paid_at", Cell.DATETIME, _l("When the commission was paid out."), 26),
        _BATCH,
        _REASON,
    ),
    build=_commission_lines,
)

LEDGER = Export(
    name="ledger",
    title=_l("Ledger"),
    sheet_name=glossary.LEDGER.label,
    columns=(
        _ENTRY_ID,
        _ENTRY_DATE,
        _ENTRY_KIND,
        _EMPLOYEE_ID,
        _EMPLOYEE_NAME,
        _DEPARTMENT,
        _AMOUNT,
        _CURRENCY,
        _COMMISSION_ID,
        _ORDER_NUMBER,
        _REASON,
        Column("recorded_by", Cell.TEXT, _l("Who wrote it (empty: the system)."), 22),
        _BATCH,
    ),
    build=_ledger,
)

EXPORTS = {export.name: export for export in (COMMISSIONS, LEDGER)}


# --- rows --------------------------------------------------------------------------------------


def _exponent(cache: dict[str, int], currency: str) -> int:
    exponent = cache.get(currency)
    if exponent is None:
        exponent = get_currency_precision(currency)
        cache[currency] = exponent
    return exponent


def row_converter(
    columns: Sequence[Column], *, for_xlsx: bool = False
) -> Callable[[Sequence[Any]], list[Any]]:
    """A function turning a plain database row into cells, in Python (see ``Cell``): dates
    as ISO text, or ``for_xlsx`` as serial numbers."""
    zone = company_zone()
    currency_index = next(i for i, c in enumerate(columns) if c.name == "currency")
    money = tuple(i for i, c in enumerate(columns) if c.cell is Cell.MONEY)
    dates = tuple(i for i, c in enumerate(columns) if c.cell is Cell.DATETIME)
    rates = tuple(i for i, c in enumerate(columns) if c.cell is Cell.RATE)
    codes = tuple(i for i, c in enumerate(columns) if c.cell is Cell.CODE)
    exponents: dict[str, int] = {}

    def convert(row: Sequence[Any]) -> list[Any]:
        cells = list(row)
        exponent = _exponent(exponents, cells[currency_index])
        for i in money:
            value = cells[i]
            if value is not None:
                cells[i] = amount_text(value, exponent)
        for i in dates:
            value = cells[i]
            if value is not None:
                if value.tzinfo is None:  # SQLite hands back naive UTC
                    value = value.replace(tzinfo=UTC)
                local = value.astimezone(zone)
                cells[i] = excel_serial(local) if for_xlsx else local.isoformat(timespec="seconds")
        for i in rates:
            value = cells[i]
            if value is not None:
                cells[i] = amount_text(value, 2)
        for i in codes:
            value = cells[i]
            if isinstance(value, enum.Enum):
                cells[i] = value.value
        return cells

    return convert


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _postgres_batches(query: Select) -> Iterator[list[Sequence[Any]]]:
    """Batches of rows streamed by psycopg (libpq's chunked rows mode: the server sends rows
    while this process writes them, holding one chunk in memory), in the company's time zone.
    """
    engine = db.engine
    compiled = query.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
    params = {name: _plain(value) for name, value in compiled.params.items()}
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        assert connection is not None  # a connection checked out of the pool
        # For to_char's offsets; SET LOCAL ends with this read-only transaction.
        connection.execute("SELECT set_config('TimeZone', %s, true)", [str(company_zone().key)])
        with connection.cursor() as cursor:
            batch: list[Sequence[Any]] = []
            for row in cursor.stream(compiled.string, params, size=FETCH_ROWS):
                batch.append(row)
                if len(batch) == FETCH_ROWS:
                    yield batch
                    batch = []
            if batch:
                yield batch
    finally:
        try:
            raw.rollback()
        except Exception:  # a stream left half-read: the connection is not reused
            raw.invalidate()
        raw.close()


def _portable_batches(query: Select) -> Iterator[list[Sequence[Any]]]:
    with db.engine.connect() as connection:
        result = connection.execution_options(yield_per=FETCH_ROWS).execute(query)
        for partition in result.partitions():
            yield list(partition)


def formats_in_database() -> bool:
    return db.engine.dialect.name == "postgresql"


def export_batches(
    export: Export, chosen: ReportFilter, locale: str = "vi", *, for_xlsx: bool = False
) -> Iterator[list[Sequence[Any]]]:
    """The export's cells, a batch of rows at a time. On PostgreSQL they come formatted (and,
    for CSV, neutralised) from the database, and for XLSX as finished ``<row>`` elements
    (:class:`tabular.XmlRow`: the sheet's XML made by the database, as the CSV's text is);
    elsewhere ``row_converter`` formats them and the writers neutralise them."""
    if formats_in_database():
        query = export.query(chosen, locale, in_database=True, for_xlsx=for_xlsx)
        if not for_xlsx:
            yield from _postgres_batches(query)
            return
        for batch in _postgres_batches(query):
            yield [XmlRow(row[0]) for row in batch]
        return
    convert = row_converter(export.columns, for_xlsx=for_xlsx)
    for batch in _portable_batches(export.query(chosen, locale)):
        yield [convert(row) for row in batch]


def count_rows(export: Export, chosen: ReportFilter) -> int:
    """How many rows the export will have (for progress bars)."""
    query = entries_query(select(func.count(LedgerEntry.id)), chosen)
    return int(db.session.scalar(query) or 0)


class _Counted:
    """Counts the rows of the batches going through it, reporting progress per batch."""

    def __init__(
        self,
        batches: Iterable[list[Sequence[Any]]],
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.batches = batches
        self.count = 0
        self.progress = progress

    def __iter__(self) -> Iterator[list[Sequence[Any]]]:
        for batch in self.batches:
            self.count += len(batch)
            if self.progress is not None:
                self.progress(len(batch))
            yield batch

    def close(self) -> None:
        """Let go of the database cursor now (a stream left unfinished still holds it)."""
        close = getattr(self.batches, "close", None)
        if close is not None:
            close()


def _audit_export(
    export: Export,
    file_format: str,
    chosen: ReportFilter,
    actor: User | None,
    rows: int,
    *,
    complete: bool,
    **details: Any,
) -> None:
    with transaction():
        audit.record(
            "finance.export",
            actor=actor,
            export=export.name,
            format=file_format,
            rows=rows,
            complete=complete,
            **chosen.audit_details(),
            **details,
        )


def stream_csv(
    export: Export,
    chosen: ReportFilter,
    *,
    actor: User | None,
    locale: str = "vi",
    progress: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """The export as CSV chunks (UTF-8 with a BOM, CRLF), audited when the stream ends
    (``complete`` False when the reader went away first)."""
    batches = _Counted(export_batches(export, chosen, locale), progress)
    complete = False
    try:
        yield from _csv_of(export, batches)
        complete = True
    finally:
        batches.close()
        _audit_export(export, "csv", chosen, actor, batches.count, complete=complete)


def _csv_of(export: Export, batches: Iterable[list[Sequence[Any]]]) -> Iterator[bytes]:
    text_columns = () if formats_in_database() else export.text_columns
    return csv_chunks(export.header, batches, text_columns=text_columns)


def write_xlsx(
    export: Export,
    chosen: ReportFilter,
    target: str | IO[bytes],
    *,
    actor: User | None,
    locale: str = "vi",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the export as an XLSX workbook into ``target``; audited; returns the row count."""
    batches = _Counted(export_batches(export, chosen, locale, for_xlsx=True), progress)
    complete = False
    try:
        _workbook_of(export, batches, target)
        complete = True
    finally:
        batches.close()
        _audit_export(export, "xlsx", chosen, actor, batches.count, complete=complete)
    return batches.count


def _workbook_of(
    export: Export, batches: Iterable[list[Sequence[Any]]], target: str | IO[bytes]
) -> None:
    workbook = StreamingXlsx(
        target,
        sheet_name=str(export.sheet_name),
        header=export.header,
        widths=[c.width for c in export.columns],
        title=str(export.title),
    )
    for batch in batches:
        workbook.write_rows(batch)
    workbook.close()


def stream_xlsx(
    export: Export,
    chosen: ReportFilter,
    *,
    actor: User | None,
    locale: str = "vi",
    progress: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """The export as XLSX bytes, sent as the workbook is written (``tabular.xlsx_chunks``:
    the first bytes before the first row is read, then about ``SEND_CHUNK`` bytes at a
    time); audited when the stream ends, like :func:`stream_csv`."""
    batches = _Counted(export_batches(export, chosen, locale, for_xlsx=True), progress)
    complete = False
    try:
        yield from xlsx_chunks(
            export.header,
            batches,
            sheet_name=str(export.sheet_name),
            widths=[c.width for c in export.columns],
            title=str(export.title),
            chunk_size=SEND_CHUNK,
        )
        complete = True
    finally:
        batches.close()
        _audit_export(export, "xlsx", chosen, actor, batches.count, complete=complete)


# --- large exports in the background --------------------------------------------------------------


#: the most rows of data a spreadsheet's sheet holds (Excel's 1,048,576, less the header):
#: a longer XLSX would open without its last rows, so the CSV is offered instead
XLSX_MAX_ROWS = 1_048_575


@dataclass(frozen=True)
class Size:
    """How an export of ``rows`` rows is made: by a job (``in_background``), and whether its
    rows fit a spreadsheet."""

    rows: int
    in_background: bool
    fits_a_sheet: bool


def size_of(export: Export, chosen: ReportFilter) -> Size:
    """The export's row count, whether it is made by a job (above
    ``EXPORT_BACKGROUND_ROWS`` rows; else it streams straight to the browser) and whether it
    fits an XLSX sheet. Raises nothing."""
    rows = count_rows(export, chosen)
    return Size(
        rows,
        in_background=rows > current_app.config["EXPORT_BACKGROUND_ROWS"],
        fits_a_sheet=rows <= XLSX_MAX_ROWS,
    )


def start_export(
    export: Export, chosen: ReportFilter, file_format: str, *, actor: User, locale: str
) -> BackgroundJob:
    """Start making the export in the background (its file is kept ``FILE_KEEP_DAYS`` days).
    Asking again for the same file while it waits or runs (a double click, a second tab)
    gives the same job.

    Raises:
        ValueError: an unknown format.
    """
    if file_format not in FORMATS:
        raise ValueError(f"unknown format {file_format!r}")
    payload = {
        "export": export.name,
        "format": file_format,
        "filter": chosen.audit_details(),
        "filename": file_name(export, chosen, file_format),
    }
    asked = json.dumps([payload, locale], sort_keys=True, default=str)
    subject = f"export:{actor.id}:{hashlib.sha256(asked.encode()).hexdigest()[:32]}"
    with transaction():
        take_turns(subject)  # of two requests at once, the second finds the first's job
        running = background.active_job(JOB_KIND, subject)
        if running is not None:
            return running
        return background.start_job(
            JOB_KIND,
            actor=actor,
            payload=payload,
            subject=subject,
            total=count_rows(export, chosen),
            locale=locale,
        )


def filter_from(details: dict[str, Any]) -> ReportFilter:
    """The filter ``ReportFilter.audit_details`` described (a job's payload)."""
    return ReportFilter(
        period=Period(date.fromisoformat(details["start"]), date.fromisoformat(details["end"])),
        currency=details.get("currency"),
        user_id=details.get("user_id"),
        department_id=details.get("department_id"),
        no_department=bool(details.get("no_department")),
        product_id=details.get("product_id"),
        no_product=bool(details.get("no_product")),
        state=details.get("state"),
        kind=EntryKind(details["kind"]) if details.get("kind") else None,
    )


def recent_jobs(actor: User, *, limit: int = 10) -> list[BackgroundJob]:
    return background.recent_jobs(actor.id, (JOB_KIND,), limit=limit)


def _run_export(run: JobRun) -> None:
    """The export job: stream the rows into a file stored in the database, in one
    transaction with the job's result (a retried job starts the file again).

    Raises:
        NotPermitted: whoever asked is deactivated since, or no longer in finance (the
            exports page's role, or an administrator): nothing is read or written.
    """
    actor = run.actor
    if actor is None or not actor.active or not actor.has_role(Role.FINANCE):
        raise NotPermitted(
            _(
                "Whoever asked for this export is no longer active in finance, so nothing was "
                "exported. Someone in finance can ask for it again."
            )
        )
    export = EXPORTS[run.payload["export"]]
    file_format = run.payload["format"]
    chosen = filter_from(run.payload["filter"])
    total = count_rows(export, chosen)
    run.progress(0, total, stage="writing", force=True)
    written = 0

    def progress(rows: int) -> None:
        nonlocal written
        written += rows
        run.progress(written, total, stage="writing")

    batches = _Counted(
        export_batches(export, chosen, run.locale, for_xlsx=file_format == "xlsx"), progress
    )
    with transaction():
        stored = run.file_writer()
        # SQLite lets one connection write while another reads only until the writer needs
        # its lock: there the file is made on local scratch disk first, then stored.
        target: Any = stored if formats_in_database() else tempfile.TemporaryFile()  # noqa: SIM115  closed below
        try:
            if file_format == "csv":
                for chunk in _csv_of(export, batches):
                    target.write(chunk)
            else:
                _workbook_of(export, batches, target)
            if target is not stored:
                target.seek(0)
                while piece := target.read(SEND_CHUNK):
                    stored.write(piece)
        finally:
            batches.close()
            if target is not stored:
                target.close()
        described = background.file_description(
            stored,
            name=file_name(export, chosen, file_format),
            mimetype=MIMETYPES[file_format],
            rows=batches.count,
        )
        run.succeed(
            {
                "file": described,
                "rows": batches.count,
                "export": export.name,
                "format": file_format,
            }
        )


def export_job(token: str, *, actor: User, sees_all: bool) -> BackgroundJob:
    """An export job of ``actor``'s (or anyone's, ``sees_all``) whose file is still kept.

    Raises:
        NotFound: no such job, someone else's, not an export, or its file is gone.
    """
    job = background.get_job(token, viewer=actor, sees_all=sees_all)
    if job.kind != JOB_KIND or not background.has_file(job):
        raise NotFound()
    return job


def stream_job_file(job: BackgroundJob, *, actor: User) -> Iterator[bytes]:
    """A background export's file, streamed from the database a piece at a time, audited
    when the stream ends like a direct download (``complete`` False when the reader left)."""
    export = EXPORTS[job.payload["export"]]
    file_format = job.payload["format"]
    chosen = filter_from(job.payload["filter"])
    rows = int((job.result or {}).get("rows", 0))
    job_id, token = job.id, job.token
    complete = False
    try:
        yield from background.read_file(job_id)
        complete = True
    finally:
        _audit_export(export, file_format, chosen, actor, rows, complete=complete, job=token)


background.register_kind(
    JOB_KIND,
    _run_export,
    title=_l("Export"),
    result_template="finance/_export_job.html",
    stages={"writing": _l("Writing the file")},
    # the exports page's role: someone out of finance since no longer sees their exports
    seen_by=lambda user: user.has_role(Role.FINANCE),
)


def file_name(export: Export, chosen: ReportFilter, file_format: str) -> str:
    """``commissions-2026-11-01-2026-11-30.csv``: ASCII only, safe in a header."""
    period = chosen.period
    return f"{export.name}-{period.start.isoformat()}-{period.end.isoformat()}.{file_format}"


def columns_doc() -> list[tuple[str, list[tuple[str, str]]]]:
    """Each export's columns with what they hold, for the page (and the README's table)."""
    return [
        (str(export.title), [(c.name, str(c.description)) for c in export.columns])
        for export in EXPORTS.values()
    ]

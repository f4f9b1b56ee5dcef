"""Which language and time zone a request is served in, how dates read in each language, and
enums whose members have labels."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import lru_cache
from typing import TYPE_CHECKING, Self
from zoneinfo import ZoneInfo

from babel import dates, numbers
from flask import current_app, has_request_context, request, session
from flask_babel import get_locale, get_timezone, refresh
from flask_login import current_user

#: the languages of the product: pages, e-mails, every label (the first is the default)
LOCALES = ("vi", "en")
#: each language by its own name, as a reader of it looks for it
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}


def language_name(code: str | None) -> str:
    """``"vi"`` → ``"Tiếng Việt"``: a language as people read it; an unknown code as it is."""
    return LANGUAGE_NAMES.get(code or "", code or "")


def select_locale() -> str:
    """The signed-in person's preference, else the switcher's choice, else the browser's."""
    if not has_request_context():  # the command line, e-mails sent from a job
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    return (
        request.accept_languages.best_match(LOCALES) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def adopt_language(locale: str | None) -> None:
    """Serve this browser in ``locale`` from now on (the person a link names reads it: the
    link came in an e-mail written in it), unless the browser chose a language with the
    switcher. For the pages of links, which know whose they are before anyone signs in."""
    if session.get("locale") not in LOCALES and locale in LOCALES:
        session["locale"] = locale
        refresh()  # this request too: the language may already have been looked up


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


#: the first and last day the app takes from anyone (forms, the API, imports): wide enough for
#: every birth, hire, rule or filter date, narrow enough that the day after, a year on or
#: midnight in any time zone is still a date (9999-12-31 overflows an anniversary, a filter's
#: end of day, the month after)
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2199, 12, 31)


def company_zone() -> ZoneInfo:
    """The company's time zone (``TIMEZONE``): calendar days, months and years are its."""
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def day_start(day: date) -> datetime:
    """Midnight starting ``day`` in the company's time zone, as a UTC moment."""
    return datetime.combine(day, time.min, tzinfo=company_zone()).astimezone(UTC)


def company_date(moment: datetime) -> date:
    """The company day ``moment`` falls on (a naive moment is UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(company_zone()).date()


def company_today(now: datetime | None = None) -> date:
    """Today (or ``now``'s day) in the company's time zone: limit periods, windows, months
    and years are company days."""
    return company_date(now or datetime.now(UTC))


# --- dates ----------------------------------------------------------------------------------
#
# Day first in both languages: a Vietnamese reader takes "12/4/26" for 12 April, so English
# dates follow British English ("4 Dec 2026", "04/12/2026"), not Babel's default American
# English. The short forms have four-digit years in both; times are 24-hour, in the
# company's time zone (``TIMEZONE``, Asia/Ho_Chi_Minh). Everything the product shows goes
# through ``format_day`` and ``format_moment`` (the ``date`` and ``datetime`` filters).

#: the Babel locale whose calendar words and patterns each language reads dates in
DATE_LOCALES = {"vi": "vi", "en": "en_GB"}
#: the patterns of the "short" style, per language
SHORT_DAY = "dd/MM/y"
#: styles a language reads otherwise than Babel writes them: Babel's Vietnamese "medium"
#: abbreviates the month ("4 thg 12, 2026"), which nobody writes and which sat beside the
#: "long" style's "4 tháng 12, 2026" on the same pages; the month is written out in both
DAY_STYLES = {"vi": {"medium": "d 'tháng' M, y"}}
SHORT_MOMENT = {"vi": "HH:mm dd/MM/y", "en": "dd/MM/y, HH:mm"}


def _language() -> str:
    language = str(get_locale() or LOCALES[0])
    return language if language in DATE_LOCALES else "en"


def format_day(value: date | datetime | None, format: str = "medium") -> str:
    """A date in the reader's language, day first (``short``, ``medium``, ``long``, ``full``,
    or a Babel pattern). A moment is shown as its day in the company's time zone."""
    if value is None:
        return ""
    language = _language()
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        value = aware.astimezone(get_timezone()).date()
    pattern = SHORT_DAY if format == "short" else DAY_STYLES.get(language, {}).get(format, format)
    return _day_text(value, pattern, DATE_LOCALES[language])


@lru_cache(maxsize=4096)
def _day_text(day: date, pattern: str, locale: str) -> str:
    # Remembered: a list shows the same few days row after row, and Babel parses the
    # pattern and looks the locale up on every call. A pure function of its arguments.
    return dates.format_date(day, pattern, locale=locale)


#: how a month reads in each language ("Tháng 12/2026", "December 2026")
MONTH_PATTERNS = {"vi": "'Tháng' M/y", "en": "MMMM y"}


def format_month(value: str | None) -> str:
    """A month kept as "2026-12" in the reader's language ("Tháng 12/2026", "December
    2026"); anything else as it is. Raises nothing."""
    if not value:
        return ""
    try:
        first = date.fromisoformat(f"{value}-01")
    except ValueError:
        return value
    language = _language()
    return _day_text(first, MONTH_PATTERNS[language], DATE_LOCALES[language])


#: a chart's labels, short: a day ("4/12", "4 Dec") or a month ("Tháng 12/2026", "Dec 2026"),
#: as Vietnamese writes them (Babel's "4 thg 12", "thg 12 2026" are read nowhere else)
AXIS_PATTERNS = {
    "day": {"vi": "d/M", "en": "d MMM"},
    "month": {"vi": MONTH_PATTERNS["vi"], "en": "MMM y"},
}


def format_axis_label(day: date, unit: str) -> str:
    """``day`` as a chart's label names its bucket: its ``"day"`` or its ``"month"``, in the
    reader's language. Raises KeyError for another unit."""
    language = _language()
    return _day_text(day, AXIS_PATTERNS[unit][language], DATE_LOCALES[language])


#: how a quarter reads in each language ("Quý 4/2026", "Q4 2026")
QUARTER_PATTERNS = {"vi": "Quý %(quarter)d/%(year)d", "en": "Q%(quarter)d %(year)d"}


def format_quarter(value: str | None) -> str:
    """A quarter kept as "2026-Q4" in the reader's language ("Quý 4/2026", "Q4 2026");
    anything else as it is. Raises nothing."""
    if not value:
        return ""
    year, _, quarter = value.partition("-Q")
    if not (year.isdigit() and quarter in ("1", "2", "3", "4")):
        return value
    return QUARTER_PATTERNS[_language()] % {"quarter": int(quarter), "year": int(year)}


def format_moment(value: datetime | None, format: str = "short") -> str:
    """A moment in the reader's language and the company's time zone, day first, 24-hour.
    A naive moment is UTC (as the database keeps them)."""
    if value is None:
        return ""
    language = _language()
    pattern = SHORT_MOMENT[language] if format == "short" else format
    return dates.format_datetime(
        value, pattern, tzinfo=get_timezone(), locale=DATE_LOCALES[language]
    )


def format_number(value: int | Decimal, format: str | None = None) -> str:
    """``value`` in the reader's language ("1.234,5" in Vietnamese, "1,234.5" in English),
    as Flask-Babel's ``format_decimal`` (the ``decimalformat`` filter) writes it."""
    return _number_text(value, format, reader_language())


def reader_language() -> str:
    """The reader's language as Babel names it ("vi", "en"), for formatting many values at
    once without looking it up for each."""
    return str(get_locale() or LOCALES[0])


def number_formatter(format: str | None = None) -> Callable[[int | Decimal], str]:
    """``format_number`` with the reader's language looked up once, for a chart's hundreds of
    tooltips (each lookup goes through Flask-Babel's context, about 10 µs)."""
    locale = reader_language()
    return lambda value: _number_text(value, format, locale)


@lru_cache(maxsize=4096, typed=True)
def _number_text(value: int | Decimal, format: str | None, locale: str) -> str:
    # Remembered, as days are: a chart's tooltips and a table's columns repeat numbers, and
    # Babel's formatting costs about 40 µs a number. A pure function of its arguments.
    # Babel rounds in the decimal context's way, half to even by default (3.25 → "3.2"): a
    # half is rounded up here, as the house rounds (money, ratings, the eNPS)
    with localcontext(rounding=ROUND_HALF_UP):
        return numbers.format_decimal(value, format=format, locale=locale)


def format_bps(bps: int, format: str = "#,##0.##%") -> str:
    """Basis points as a percentage in the reader's language (1250 → "12.5%", "12,5%")."""
    return _percent_text(bps, format, reader_language())


@lru_cache(maxsize=1024)
def _percent_text(bps: int, format: str, locale: str) -> str:
    # Remembered, as numbers are: a list of commissions shows the same few rates row after
    # row, and Babel parses the pattern on every call (about 0.1 ms). A pure function.
    with localcontext(rounding=ROUND_HALF_UP):  # a half up, as numbers (_number_text)
        return str(numbers.format_percent(Decimal(bps) / 10_000, format, locale=locale))


def format_share(share: float | Decimal, format: str = "#,##0%") -> str:
    """A share (0.625) as a percentage in the reader's language, a half rounded up ("63%",
    where Babel alone says "62%"). Raises nothing for a finite number."""
    with localcontext(rounding=ROUND_HALF_UP):
        return str(numbers.format_percent(Decimal(share), format, locale=reader_language()))


class LabelledEnum(enum.StrEnum):
    """A choice enum whose members carry their label, written once beside the value.

    ``PAID = "paid", _l("Paid")``: the value is ``"paid"`` (what the database and forms
    store), ``member.label`` the lazy text in the current language. ``Enum("paid")`` looks a
    member up by value, as for any enum (``ValueError`` for an unknown one).
    """

    _value_: str
    _label: object

    if TYPE_CHECKING:
        # what callers see: ``OrderStatus("paid")`` looks a member up by its value
        def __new__(cls, value: str) -> Self: ...

    else:

        def __new__(cls, value: str, label: object) -> Self:
            member = str.__new__(cls, value)
            member._value_ = value
            member._label = label
            return member

    @property
    def label(self) -> str:
        """The member's name for people, in the current language."""
        return str(self._label)

    @property
    def lazy_label(self) -> object:
        """The member's name for people, translated only when it is shown: for what is built
        once, when a module is imported (a form's choices), and shown to many people."""
        return self._label

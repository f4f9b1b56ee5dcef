"""The Vietnamese catalogs cover every string in the code and templates, and they work.

There are two: the product's (perks/translations, strings of perks/ and templates/, mapped
by babel.cfg) and the Stripe sandbox's (stripe_sandbox/translations, strings of
stripe_sandbox/, mapped by stripe_sandbox/babel.cfg); neither holds the other's strings.
The strings are extracted from the sources as they are now, so a string added to a template
or a module without a translation fails here, naming it. To fix a failure, re-extract and
merge (``make update-translations``, see the README), then translate what is new.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask import Flask, render_template_string
from flask_babel import force_locale, get_domain, gettext, lazy_gettext, ngettext

from tests.helpers import ROOT, SANDBOX_TRANSLATIONS, TRANSLATIONS, ensure_catalogs_compiled

MAPPING = ROOT / "babel.cfg"
VI_PO = TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po"
#: the Stripe sandbox, an application of its own, with its own mapping and catalog
SANDBOX_ROOT = ROOT / "stripe_sandbox"
SANDBOX_MAPPING = SANDBOX_ROOT / "babel.cfg"
SANDBOX_VI_PO = SANDBOX_TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po"

#: the keywords the extract command is given (-k), on top of Babel's own (_, gettext, ngettext...)
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "_l": None,
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
    "counted": (1, 2),  # perks.notifications.kinds
    "lazy_pgettext": ((1, "c"), 2),
}
#: like --ignore-dirs: Babel's default also skips "_*" folders, which would miss templates/_macros
IGNORED_DIRS = (".*", "__pycache__", "node_modules")

#: one printf-style conversion: %(name)s, %d, %.2f, %% ...
PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[a-zA-Z%]")

MessageKey = tuple[str, str | None]  # (msgid, context)


def _keep_directory(path: str) -> bool:
    name = os.path.basename(path)
    return not any(fnmatch.fnmatch(name, pattern) for pattern in IGNORED_DIRS)


def extract_messages(
    root: Path, mapping: Path = MAPPING
) -> dict[MessageKey, tuple[str | tuple[str, ...], list[str]]]:
    """Every translatable string under ``root`` that ``mapping`` names: (msgid, context) ->
    (message, locations)."""
    with mapping.open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f, str(mapping))
    found: dict[MessageKey, tuple[str | tuple[str, ...], list[str]]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(root), method_map, options_map, keywords=KEYWORDS, directory_filter=_keep_directory
    ):
        msgid = message if isinstance(message, str) else message[0]
        if not msgid:
            continue
        _, locations = found.setdefault((msgid, context), (message, []))
        locations.append(f"{filename}:{lineno}")
    return found


def placeholders(text: str) -> tuple[frozenset[str], Counter[str]]:
    """The named placeholders (as a set) and the positional ones (with how often each is used)."""
    named: set[str] = set()
    positional: Counter[str] = Counter()
    for match in PLACEHOLDER.finditer(text):
        if match["name"] is not None:
            named.add(match[0])
        else:
            positional[match[0]] += 1
    return frozenset(named), positional


def _source_placeholders(message: str | tuple[str, ...]) -> tuple[frozenset[str], Counter[str]]:
    """What every translation must use: for plurals, the forms' placeholders together."""
    if isinstance(message, str):
        return placeholders(message)
    forms = [placeholders(m) for m in message if m]
    named = frozenset().union(*(n for n, _ in forms))
    positional: Counter[str] = Counter()
    for _, counts in forms:
        positional |= counts
    return named, positional


def catalog_problems(
    catalog: Catalog, extracted: dict[MessageKey, tuple[str | tuple[str, ...], list[str]]]
) -> list[str]:
    """One line for each extracted string the catalog does not translate properly."""
    problems = []
    for (msgid, context), (message, locations) in sorted(
        extracted.items(), key=lambda item: (item[0][0], item[0][1] or "")
    ):
        where = ", ".join(locations[:3]) + (" ..." if len(locations) > 3 else "")
        entry = catalog.get(msgid, context=context)
        if entry is None:
            problems.append(f"missing: {msgid!r} ({where})")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {msgid!r} ({where})")
        translations = [entry.string] if isinstance(entry.string, str) else list(entry.string)
        if not translations or not all(translations):
            problems.append(f"untranslated: {msgid!r} ({where})")
            continue
        expected = _source_placeholders(message)
        for text in translations:
            if placeholders(text) != expected:
                problems.append(
                    f"placeholders differ: {msgid!r} -> {text!r} "
                    f"(expected {sorted(expected[0]) + sorted(expected[1].elements())})"
                )
    return problems


def read_catalog(path: Path = VI_PO) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


# --- the catalog against the sources ---------------------------------------------------------


def test_every_source_string_has_a_vietnamese_translation() -> None:
    extracted = extract_messages(ROOT)
    assert len(extracted) > 50, "the extraction found almost nothing: is babel.cfg right?"
    problems = catalog_problems(read_catalog(), extracted)
    assert not problems, (
        f"{len(problems)} problem(s) in {VI_PO.relative_to(ROOT)}; re-extract, update and "
        "translate (see this module's docstring):\n  " + "\n  ".join(problems)
    )


def test_the_extraction_covers_macros_python_and_e_mail_templates() -> None:
    locations = {loc.split(":")[0] for _, locs in extract_messages(ROOT).values() for loc in locs}
    assert "templates/_macros/forms.html" in locations  # an "_" folder, with {% do %} tags
    assert "templates/base.html" in locations
    assert any(loc.startswith("templates/emails/") and loc.endswith(".txt") for loc in locations)
    assert any(loc.startswith("perks/") and loc.endswith(".py") for loc in locations)
    assert not any(loc.startswith((".venv/", "tests/", "stripe_sandbox/")) for loc in locations)


#: placeholders written %(name)d under these names hold no count, so are never grouped: a
#: year ("2026", not "2.026"), a date's day and month, an id or a version, a line or a
#: record's number (a position, written as the caller's file or batch counts it)
NOT_COUNTS = frozenset({"year", "day", "month", "id", "version", "line", "index"})

#: a number written %(name)d shows no digit grouping ("12345", not "12,345" or "12.345");
#: these messages keep theirs so because their counts cannot reach 1,000 (limits set in the
#: code or bounded settings, days of a window, stars, a person's own claims, the groups'
#: minimum size...) or, under a name that could be a count's, are no count (a year, a line's
#: or a version's number, an eNPS score)
UNGROUPED_COUNTS = frozenset(
    {
        "%(num)d day",
        "%(num)d day ahead",
        "%(num)d draw waits for its public value.",
        "%(num)d occasion of the Vietnamese calendar is missing.",
        (
            "%(num)d or more clicks on one link in one day from the same IP address (stored only "
            "as a hash)."
        ),
        "%(num)d per person per calendar month.",
        "%(num)d per person per calendar year.",
        "%(num)d per person, ever.",
        "%(num)d perk",
        "%(num)d star",
        "%(num)d star for %(title)s",
        "%(num)d star out of 5",
        "%(num)d year",
        (
            "%(vi)d options in Vietnamese but %(en)d in English: give each option in both "
            "languages, one a line, in the same order."
        ),
        "A rule has at most %(most)d tiers.",
        "At least %(n)d characters.",
        "At most %(count)d columns.",
        "At most %(count)d milestones.",
        "Birthdays and work anniversaries in the next %(num)d day",
        "Children under 15: from 0 to %(most)d.",
        "Colleagues to celebrate in the next %(num)d day",
        (
            "Commissions used version %(version)d of this rule, so it is not edited: saving adds "
            "version %(next)d from the first day you choose, and version %(version)d ends the day "
            "before."
        ),
        "Fewer than %(count)d people match: no figures are shown, so nobody is singled out.",
        "From 0 to %(days)d days ahead.",
        (
            "Gifts of the occasion year and awards approved in the year, for the active people; "
            "groups of fewer than %(count)d people, or with fewer than %(count)d who received "
            "anything, are merged into “Other groups” so nobody is singled out."
        ),
        (
            "No figures are shown, so nobody is singled out: fewer than %(count)d of these "
            "people received anything, or the filters leave out fewer than %(count)d people of a "
            "broader report, whose figures set against these would be theirs."
        ),
        "Give between 2 and %(count)d options.",
        "Give the link a label of up to %(max)d characters.",
        (
            "Imports, large exports and payouts run in the background. Their results are kept "
            "here; files for %(days)d days."
        ),
        "Keep the message under %(count)d characters.",
        "Keep the name under %(count)d characters.",
        "Keep the reason under %(count)d characters.",
        "Keep the reference under %(count)d characters.",
        "Last %(num)d days",
        (
            "Line %(number)d: a header is 1 to %(count)d characters and does not start with =, +, "
            "- or @."
        ),
        (
            "Line %(number)d: another column is headed “%(header)s” already; give each column its "
            "own header."
        ),
        "Line %(number)d: write a field, “=”, then its header; the fields are %(fields)s.",
        (
            "Links with %(clicks)d or more clicks in the period and %(ratio)d or more clicks per "
            "unique visitor."
        ),
        (
            "Links with %(clicks)d or more clicks in the period from one source (a website, or "
            "none: an app or a typed address) and not one paid order in the period."
        ),
        (
            "Links with %(visits)d or more visits in the period, at least %(share)s of them by "
            "bots and crawlers (redirected, never counted)."
        ),
        "Longer than %(n)d characters.",
        "Look ahead from 1 to %(days)d days.",
        (
            "Not shown for this group: some of its figures, or the same figures for everyone "
            "else, would describe fewer than %(count)d people."
        ),
        (
            "Only groups with at least %(count)d answers show, and only when no other group shown "
            "could be subtracted to reveal fewer. Departments with fewer answers are counted under "
            "everyone."
        ),
        "Only the first %(count)d are listed: type more of the name to find the others.",
        (
            "Pause “%(name)s”? It gives no gift while paused; once resumed, it gives the gifts it "
            "missed only for the last %(num)d day."
        ),
        "People who won this perk in the last draw go after everyone else.",
        "Results show for groups of at least %(count)d answers.",
        "Results show once the survey is closed, for groups of at least %(count)d answers.",
        "The expiry date must be after today and within %(days)d days.",
        "The lunar calendar is known from %(first)d to %(last)d.",
        "To celebrate today",
        "Use at least %(n)d characters.",
        "Use at most %(n)d characters.",
        "Version %(number)d",
        "Version %(number)d, amended",
        "Winners of the previous draw",
        "You have %(count)d links, the most anyone can have.",
        "You have claimed this %(num)d time in the current period.",
        "You have claimed this %(num)d time.",
        "Your cart is full (%(max)d different products).",
        (
            "Your direct reports, over the last %(days)d days: perks used and what their referral "
            "links brought."
        ),
        "and %(num)d more colleague to celebrate this day",
        "and %(num)d more person this day",
        "eNPS: %(value)d",
        "“%(part)s” is not a number of years from 1 to %(most)d.",
    }
)


def test_a_count_that_can_reach_a_thousand_is_grouped_in_the_readers_language() -> None:
    """A new message with a count written %(name)d (%(num)d, %(count)d, %(max)d, %(days)d...)
    fails here: write %(name)s with ``name=n|decimalformat`` in a template, or
    ``format_number(n)`` in Python (where ``ngettext``'s own third argument is named num, so
    name the placeholder %(count)s); if the count can never reach 1,000, add the message to
    UNGROUPED_COUNTS; a name that never holds a count goes in NOT_COUNTS."""
    found = set()
    for (msgid, _context), (message, _locations) in extract_messages(ROOT).items():
        texts = [message] if isinstance(message, str) else [m for m in message if m]
        names = {name for text in texts for name in re.findall(r"%\((\w+)\)d", text)}
        if names - NOT_COUNTS:
            found.add(msgid)
    assert not found - UNGROUPED_COUNTS, sorted(found - UNGROUPED_COUNTS)
    assert not UNGROUPED_COUNTS - found, "no longer in the sources: " + str(
        sorted(UNGROUPED_COUNTS - found)
    )


def test_a_counted_vietnamese_message_reads_right_for_one_as_for_many() -> None:
    """Vietnamese has one form for every count (``nplurals=1``): the form said of one item
    must not call it "they" ("chúng"). "Thời gian tạm giữ của 1 khoản hoa hồng … đã kết thúc:
    chúng sẽ được chi trả" read "1 commission … they are paid"."""
    with VI_PO.open("rb") as handle:
        catalog = read_po(handle)
    wrong = [
        message.id[0]
        for message in catalog
        if message.pluralizable
        and isinstance(message.string, tuple)
        and re.search(r"\bchúng\b", message.string[0] or "", re.IGNORECASE)
    ]
    assert not wrong, wrong


def test_every_sandbox_string_has_a_vietnamese_translation_in_its_own_catalog() -> None:
    extracted = extract_messages(SANDBOX_ROOT, SANDBOX_MAPPING)
    locations = {loc.split(":")[0] for _, locs in extracted.values() for loc in locs}
    assert "templates/pay.html" in locations
    assert "forms.py" in locations
    problems = catalog_problems(read_catalog(SANDBOX_VI_PO), extracted)
    assert not problems, (
        f"{len(problems)} problem(s) in {SANDBOX_VI_PO.relative_to(ROOT)}; "
        "make update-translations, then translate:\n  " + "\n  ".join(problems)
    )


def test_the_product_catalog_holds_no_string_only_the_sandbox_uses() -> None:
    product = set(extract_messages(ROOT))
    only_the_sandbox = set(extract_messages(SANDBOX_ROOT, SANDBOX_MAPPING)) - product
    assert only_the_sandbox, "the sandbox has strings of its own"
    left = sorted(
        msgid for msgid, context in only_the_sandbox if read_catalog().get(msgid, context)
    )
    assert not left, "make update-translations left these in the product's catalog: " + str(left)


@pytest.mark.parametrize("po", [VI_PO, SANDBOX_VI_PO], ids=["perks", "stripe_sandbox"])
def test_the_header_has_vietnamese_plural_forms_and_is_not_fuzzy(po: Path) -> None:
    catalog = read_catalog(po)
    assert str(catalog.locale) == "vi"
    assert catalog.num_plurals == 1
    assert catalog.plural_expr == "0"
    assert not catalog.fuzzy


def test_a_new_untranslated_string_is_reported(tmp_path: Path) -> None:
    (tmp_path / "templates" / "_macros").mkdir(parents=True)
    (tmp_path / "templates" / "_macros" / "scratch.html").write_text(
        "{% set d = {} %}{% do d.update(a=1) %}\n"
        "<p>{{ _('A scratch string nobody has translated') }}</p>\n"
        "<p>{{ ngettext('%(num)d scratch item', '%(num)d scratch items', 3) }}</p>\n"
        "<p>{{ _('Sign in') }}</p>\n",
        encoding="utf-8",
    )
    (tmp_path / "templates" / "scratch.txt").write_text(
        "{{ _('A scratch e-mail line') }}\n", encoding="utf-8"
    )
    (tmp_path / "perks").mkdir()
    (tmp_path / "perks" / "scratch.py").write_text(
        "from flask_babel import lazy_gettext as _l\n\nLABEL = _l('A scratch label')\n",
        encoding="utf-8",
    )
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "ignored.py").write_text("_('Not ours')\n", encoding="utf-8")

    problems = catalog_problems(read_catalog(), extract_messages(tmp_path))

    assert problems == [
        "missing: '%(num)d scratch item' (templates/_macros/scratch.html:3)",
        "missing: 'A scratch e-mail line' (templates/scratch.txt:1)",
        "missing: 'A scratch label' (perks/scratch.py:3)",
        "missing: 'A scratch string nobody has translated' (templates/_macros/scratch.html:2)",
    ]


def test_fuzzy_empty_and_mismatched_translations_are_reported() -> None:
    catalog = Catalog(locale="vi")
    catalog.add("Fuzzy %(name)s", "Mờ %(name)s", flags=["fuzzy", "python-format"])
    catalog.add("Empty", "")
    catalog.add("Renamed %(name)s", "Đổi tên %(ten)s")
    catalog.add("Retyped %(n)d", "Đổi kiểu %(n)s")
    catalog.add("Dropped %(n)d of %(total)d", "Bỏ %(n)d")
    catalog.add(("%(num)d thing", "%(num)d things"), ("%(num)d thứ",))
    catalog.add(("One item", "%(num)d items"), ("món",))
    extracted = {
        (m.id if isinstance(m.id, str) else m.id[0], None): (m.id, ["x.html:1"])
        for m in catalog
        if m.id
    }

    problems = catalog_problems(catalog, extracted)

    assert problems == [
        "placeholders differ: 'Dropped %(n)d of %(total)d' -> 'Bỏ %(n)d' "
        "(expected ['%(n)d', '%(total)d'])",
        "untranslated: 'Empty' (x.html:1)",
        "fuzzy: 'Fuzzy %(name)s' (x.html:1)",
        "placeholders differ: 'One item' -> 'món' (expected ['%(num)d'])",
        "placeholders differ: 'Renamed %(name)s' -> 'Đổi tên %(ten)s' (expected ['%(name)s'])",
        "placeholders differ: 'Retyped %(n)d' -> 'Đổi kiểu %(n)s' (expected ['%(n)d'])",
    ]


# --- the glossary's words, said one way ----------------------------------------------------

#: Vietnamese that says one of the glossary's words another way (a page, an e-mail and the
#: audit log must not name the same thing differently) -> the word the product uses
RULED_OUT_VIETNAMESE = {
    r"\be-mail": "email (one spelling, as in “Địa chỉ email”)",
    r"\btệp tính lương": "tệp bảng lương (the audit log says “Đã tải tệp bảng lương”)",
    r"\bmã truy cập api": "token API (the tokens page says “Token API”)",
    r"\bquay số": "bốc thăm (the public draw page is “trang bốc thăm công khai”)",
    r"\bgiải thưởng": "danh hiệu (an award)",
    r"\(mã thanh toán": "mã tham chiếu thanh toán (the payout e-mail's word for the reference)",
    r"điểm không khớp": "điểm bất thường (a reconciliation finding, as on its page)",
    r"^Cam kết$": "Mã cam kết (a draw's commitment, as on the draw page)",
    r"^Đợt chi trả đã chi$": "a sentence a person reads (a notification kind)",
    # the two departments by the names the glossary gives them
    r"bộ phận (tài chính|kế toán)|(?-i:phòng kế toán)": "phòng Kế toán",
    r"bộ phận nhân sự|(?-i:phòng nhân sự)": "phòng Nhân sự",
    r"\bmã lượt (tham gia|của)": "mã đăng ký (an entry's key, as on the draw page)",
    r"\bdoanh số đã sử dụng": "doanh số từ các đơn hàng đã được sử dụng (sales are not used)",
    # one way of placing the tone mark, the catalog's (hủy, hóa, xóa, tùy: 60 words), not
    # the newer one (huỷ, hoá, xoá, tuỳ) in a word here and there
    r"(?<!q)(?:oà|oá|oả|oã|oạ|oè|oé|oẻ|oẽ|oẹ|uỳ|uý|uỷ|uỹ|uỵ)\b": "hóa (the mark first)",
}


def test_the_vietnamese_says_each_glossary_word_one_way() -> None:
    """The audit log said "Đã quay số" under "Đã chốt danh sách đăng ký bốc thăm", a batch's
    "Tệp tính lương" was downloaded as "tệp bảng lương", and e-mail was spelled two ways."""
    wrong = []
    for message in read_catalog():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            for pattern, instead in RULED_OUT_VIETNAMESE.items():
                if message.id and re.search(pattern, text or "", re.IGNORECASE):
                    wrong.append(f"{text!r}: say {instead}")
    assert not wrong, "\n  ".join(wrong)


def test_the_vietnamese_names_a_thing_instead_of_calling_it_it() -> None:
    """ "nó" for a token, a list or a rule is English's "it" carried over word for word: a
    Vietnamese page names the thing again or leaves it out ("Hãy sao chép token ngay: token
    sẽ không hiển thị lại", not "nó sẽ không được hiển thị lại")."""
    wrong = [
        text
        for message in read_catalog()
        if message.id
        for text in (message.string if isinstance(message.string, tuple) else (message.string,))
        if re.search(r"\bnó\b|\bchúng\b(?! tôi| ta)", text or "", re.IGNORECASE)
    ]
    assert not wrong, "\n  ".join(wrong)


# --- the compiled catalog in the app ---------------------------------------------------------


@pytest.mark.parametrize("po", [VI_PO, SANDBOX_VI_PO], ids=["perks", "stripe_sandbox"])
def test_the_catalog_compiles_cleanly(tmp_path: Path, po: Path) -> None:
    catalog = read_catalog(po)
    errors = [
        f"{message.id!r}: {'; '.join(str(e) for e in errs)}" for message, errs in catalog.check()
    ]
    assert not errors, "pybabel compile would warn:\n  " + "\n  ".join(errors)

    mo = tmp_path / "messages.mo"
    with mo.open("wb") as f:
        write_mo(f, catalog)
    with mo.open("rb") as f:
        compiled = read_mo(f)
    assert compiled["Sign in"].string == "Đăng nhập"  # in both: each catalog stands alone
    assert len(compiled) == len(catalog)


@pytest.fixture
def compiled_catalogs(app: Flask) -> None:
    if ensure_catalogs_compiled():
        # a test earlier in this run may have cached the catalog as it was (or as missing)
        get_domain().cache.clear()


@pytest.mark.usefixtures("compiled_catalogs")
def test_the_app_speaks_vietnamese() -> None:
    with force_locale("vi"):
        assert gettext("Sign in") == "Đăng nhập"
        assert str(lazy_gettext("Audit log")) == "Nhật ký kiểm toán"
        assert ngettext("%(num)s person", "%(num)s people", 3) == "3 người"
        assert render_template_string("{{ _('Hello %(name)s,', name='Lan') }}") == "Chào Lan,"
    with force_locale("en"):
        assert gettext("Sign in") == "Sign in"
        assert ngettext("%(num)s person", "%(num)s people", 1) == "1 person"


def test_the_sandbox_speaks_vietnamese_from_its_own_catalog(stripe_sandbox_server) -> None:
    ensure_catalogs_compiled()
    with stripe_sandbox_server.app.test_request_context("/"):
        get_domain().cache.clear()
        with force_locale("vi"):
            assert gettext("Secret key") == "Khóa bí mật"
            assert gettext("Audit log") == "Audit log"  # the product's, not the sandbox's
        with force_locale("en"):
            assert gettext("Secret key") == "Secret key"

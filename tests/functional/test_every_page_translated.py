"""Every choice of every form and filter, on every page of every role, reads in the page's
language: no English label on a Vietnamese page, no Vietnamese label on an English one. And
no text of a Vietnamese page is an English message, a stored code or an English amount.

A catalog count cannot see it (a label built once at import, or written in a template
without ``_()``, is "translated" in the catalog and English on the page), so the pages are
rendered: the demo company is seeded, each demo person opens each of their pages
(tests/site_pages.py) in Vietnamese and in English (each must answer 200 with HTML, and
every page must be reached by someone), and the choices are read from the HTML:
``<option>`` texts and the labels of radio buttons and check boxes. A label is wrong when

- on a Vietnamese page, it is an English message of the catalog whose Vietnamese differs, or
  it is the same on both pages while it is no data (the database's own words, such as a
  department's or a person's name) and no code (VND, a number, an e-mail);
- on an English page, it is a Vietnamese message of the catalog, or it has letters only
  Vietnamese writes (ă, đ, ơ, ư, tone marks) while it is no data.

Every other text a Vietnamese reader sees (each text of the page, the titles, placeholders
and labels of its elements; not scripts, code, nor a part marked ``lang="en"``) is read too.
A text is wrong when it is no data and it is an English message of the catalog whose
Vietnamese differs (a string written without ``_()``), the stored value of a choice enum
(``pending`` where the label reads "Chờ xử lý"), or an amount written the English way
(``₫1,250,000``, ``$12.50``: Vietnamese writes the symbol after the number).
"""

from __future__ import annotations

import re
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import String, Text, select

from perks.db import Base
from perks.demo import DEMO_PASSWORD, demo_logins
from perks.extensions import db
from perks.i18n import LabelledEnum
from perks.people.models import User
from tests.helpers import login
from tests.site_pages import ANONYMOUS, PAGES, ROLES, any_product_slug, pages_for

VI_PO = Path(__file__).resolve().parents[2] / "perks/translations/vi/LC_MESSAGES/messages.po"
#: codes and figures read the same in both languages: currency codes, numbers, e-mails
CODE = re.compile(r"^([A-Z0-9_\-]{1,8}|[\d\s.,:%/+-]+|\S+@\S+)$")
#: letters that English never writes and Vietnamese does
VIETNAMESE = re.compile(
    r"[ăâđêôơưĂÂĐÊÔƠƯàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]"
)

#: each language named in its own words, on every page (the language chooser)
AUTONYMS = {"English", "Tiếng Việt"}
EMAIL = re.compile(r"\s*<[^<>\s]+@[^<>\s]+>\s*")

#: (page, form field, value) -> label
Choices = dict[tuple[str, str, str], str]
#: text -> the pages it is on
Texts = dict[str, set[str]]

#: an amount the English way: the currency's symbol before the number
ENGLISH_AMOUNT = re.compile(r"(₫|\$|US\$)\s?\d")
#: elements whose text is code, not words: the reader meets it as it is written
CODE_TAGS = {"code", "pre", "kbd", "samp", "script", "style"}
#: attributes that hold words for the reader
WORD_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
#: elements that have no end tag
VOID_TAGS = frozenset(
    ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr")
)


class ChoiceReader(HTMLParser):
    """The choices of a page: each option of each select, each radio button and check box
    with the text of its label."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.choices: dict[tuple[str, str], str] = {}
        self._select: str | None = None
        self._option: str | None = None
        self._text: list[str] = []
        self._inputs: dict[str, tuple[str, str]] = {}  # id -> (name, value)
        self._labels: dict[str, str] = {}  # for -> text
        self._label_for: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "select":
            self._select = attributes.get("name", "")
        elif tag == "option" and self._select is not None:
            self._option = attributes.get("value", "")
            self._text = []
        elif tag == "input" and attributes.get("type") in ("radio", "checkbox"):
            if "id" in attributes:
                name, value = attributes.get("name", ""), attributes.get("value", "")
                self._inputs[attributes["id"]] = (name, value)
        elif tag == "label" and attributes.get("for"):
            self._label_for = attributes["for"]
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self._option is not None and self._select is not None:
            self.choices[(self._select, self._option)] = " ".join("".join(self._text).split())
            self._option = None
        elif tag == "select":
            self._select = None
        elif tag == "label" and self._label_for is not None:
            self._labels[self._label_for] = " ".join("".join(self._text).split())
            self._label_for = None

    def handle_data(self, data: str) -> None:
        if self._option is not None or self._label_for is not None:
            self._text.append(data)

    def read(self, html: str) -> dict[tuple[str, str], str]:
        self.feed(html)
        self.close()
        for input_id, (name, value) in self._inputs.items():
            if input_id in self._labels:
                self.choices[(name, value)] = self._labels[input_id]
        return self.choices


class TextReader(HTMLParser):
    """The words of a page for its reader: each text, and the title, placeholder, label and
    alternative text of each element; not scripts, code (``<code>``, ``<pre>``, a monospace
    class), nor anything inside an element in another language (``lang="en"``)."""

    def __init__(self, language: str) -> None:
        super().__init__(convert_charrefs=True)
        self.language = language
        self.texts: list[str] = []
        self._open: list[bool] = []  # per open element: is its content skipped?

    def _skipping(self) -> bool:
        return bool(self._open) and self._open[-1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        lang = attributes.get("lang", self.language)
        skipped = (
            self._skipping()
            or tag in CODE_TAGS
            or "font-monospace" in attributes.get("class", "").split()
            or lang.split("-")[0] != self.language
        )
        if not skipped:
            for name in WORD_ATTRIBUTES:
                if attributes.get(name):
                    self.texts.append(" ".join(attributes[name].split()))
        if tag not in VOID_TAGS:
            self._open.append(skipped)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID_TAGS and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self._skipping():
            self.texts.append(text)

    def read(self, html: str) -> list[str]:
        self.feed(html)
        self.close()
        return self.texts


def _stored_values() -> set[str]:
    """The stored value of each choice enum's member whose Vietnamese label differs from it
    (``pending``, ``staff``, ``write_off``): a page that shows one forgot its label."""
    values: set[str] = set()
    kinds = list(LabelledEnum.__subclasses__())
    while kinds:
        kind = kinds.pop()
        kinds.extend(kind.__subclasses__())
        values.update(member.value for member in kind if member.label != member.value)
    return values


def _catalog() -> tuple[set[str], set[str]]:
    """The English messages whose Vietnamese differs, and those Vietnamese texts."""
    with VI_PO.open("rb") as file:
        catalog = read_po(file)
    english, vietnamese = set(), set()
    for message in catalog:
        if message.id and isinstance(message.id, str) and message.string != message.id:
            english.add(message.id)
            vietnamese.add(str(message.string))
    return english, vietnamese


def _data_words() -> set[str]:
    """Every text the database holds: names of people, departments, products, perks..."""
    words: set[str] = set()
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text)]
        for column in columns:
            for value in db.session.scalars(select(column).where(column.is_not(None)).distinct()):
                words.add(" ".join(str(value).split()))
    return words


def _read_every_page(client, locale: str) -> tuple[Choices, Texts]:  # type: ignore[no-untyped-def]
    """Every page of every demo person's role, as HTML; each page must answer someone. Its
    choices, and its texts with the pages each is on."""
    logins = dict(demo_logins())
    choices: Choices = {}
    texts: Texts = defaultdict(set)
    unreached = set(PAGES)
    for role in ROLES:
        user = None
        if role != ANONYMOUS:
            user = db.session.scalar(select(User).where(User.email == logins[role]))
            login(client, user, DEMO_PASSWORD)
        client.post("/language", data={"locale": locale})
        for page in pages_for(role):
            url = page.url(user)
            if url is None:
                continue
            if page.needs_cart:
                client.post("/shop/cart/add", data={"product": any_product_slug(), "quantity": 1})
            response = client.get(url)
            assert response.status_code == 200, (role, url)
            assert response.mimetype == "text/html", (role, url)
            unreached.discard(page.endpoint)
            for (field, value), label in ChoiceReader().read(response.text).items():
                choices[(f"{role} {url}", field, value)] = label
            for text in TextReader(locale).read(response.text):
                texts[text].add(f"{role} {url}")
        client.post("/logout")
    assert unreached == set(), "the demo shows nobody these pages"
    return choices, texts


@pytest.fixture
def rendered(client, demo_company) -> tuple[Choices, Choices, Texts]:  # type: ignore[no-untyped-def]
    vietnamese, texts = _read_every_page(client, "vi")
    english, _ = _read_every_page(client, "en")
    return vietnamese, english, texts


def test_every_choice_and_text_reads_in_the_language_of_its_page(rendered):
    vietnamese_pages, english_pages, vietnamese_texts = rendered
    english_messages, vietnamese_messages = _catalog()
    data = _data_words()
    assert len(vietnamese_pages) > 300, "the pages have far fewer choices than the demo gives"
    problems = defaultdict(list)

    def is_words(label: str) -> bool:
        """Words for the reader: not data ("Name <e-mail>" is data too), a code or a name."""
        bare = EMAIL.sub("", label)
        return (
            bool(re.search(r"[^\W\d_]", bare))
            and not CODE.match(bare)
            and bare not in data
            and label not in AUTONYMS
        )

    for key, label in vietnamese_pages.items():
        if label in english_messages:
            problems["English on a Vietnamese page"].append((*key, label))
        elif english_pages.get(key) == label and is_words(label) and not VIETNAMESE.search(label):
            problems["the same in English and Vietnamese"].append((*key, label))
    for key, label in english_pages.items():
        if label in vietnamese_messages and label not in english_messages and is_words(label):
            problems["Vietnamese on an English page"].append((*key, label))
        elif VIETNAMESE.search(label) and is_words(label):
            problems["Vietnamese letters on an English page"].append((*key, label))
    stored_values = _stored_values()
    for text, pages in vietnamese_texts.items():
        where, *_ = sorted(pages)
        if text in stored_values:  # before data: the database holds them too, as codes
            problems["a stored value on a Vietnamese page"].append((where, "", "", text))
        elif text in data or text in AUTONYMS:
            continue
        elif text in english_messages:
            problems["English text on a Vietnamese page"].append((where, "", "", text))
        elif ENGLISH_AMOUNT.search(text):
            problems["an amount written the English way"].append((where, "", "", text))
    assert not problems, "\n".join(
        f"{kind}: {where} {field}={value!r}: {label!r}"
        for kind, found in problems.items()
        for where, field, value, label in found
    )


def test_the_reader_finds_options_radio_buttons_and_check_boxes():
    html = """
      <select name="state"><option value="">Mọi trạng thái</option>
        <option value="paid" selected>Đã chi trả</option></select>
      <input type="radio" name="kind" id="kind-0" value="code"><label for="kind-0">Mã <b>giảm</b>
        giá</label>
      <input type="checkbox" name="roles" id="roles-1" value="hr"><label for="roles-1">HR</label>
      <input type="text" name="q" id="q"><label for="q">Tìm</label>
    """
    assert ChoiceReader().read(html) == {
        ("state", ""): "Mọi trạng thái",
        ("state", "paid"): "Đã chi trả",
        ("kind", "code"): "Mã giảm giá",
        ("roles", "hr"): "HR",
    }


def test_the_text_reader_skips_scripts_code_and_parts_in_another_language():
    html = """
      <h1 title="Đơn hàng">Đơn   hàng <code>order_paid</code></h1>
      <script>var x = "Pending";</script>
      <td class="small font-monospace">product</td>
      <div lang="en"><p>Name (English)</p><img alt="Logo"></div>
      <input placeholder="Tìm theo tên"><br><p>Chờ xử lý</p>
    """
    assert TextReader("vi").read(html) == ["Đơn hàng", "Đơn hàng", "Tìm theo tên", "Chờ xử lý"]


def test_the_stored_values_are_those_whose_label_differs():
    values = _stored_values()
    assert {"pending", "staff", "write_off"} <= values

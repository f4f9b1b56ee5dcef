"""Text compared the way people type it: without accents, in any case; and names sorted the
way people alphabetise them (:func:`name_order` in Python, :func:`alphabetical` in SQL).

HR types "nguyen" for "Nguyễn" and "dang" for "Đặng" on a phone keyboard without Telex. The
same fold is computed in Python (:func:`fold`, for what was typed) and in SQL
(:class:`folded`, for the column), identically on both databases:

* PostgreSQL: ``lower(translate(column, <accented letters>, <their base letters>))``, which
  needs no extension (``unaccent`` is not installed everywhere) and no locale (``lower()``
  only has to lower ASCII once the accents are gone). Combining marks, as in text typed
  decomposed (NFD), are listed without a counterpart, so ``translate`` drops them.
* SQLite: :func:`fold` itself, registered on each connection as ``perks_fold``
  (:func:`register_on_sqlite`): SQLite's ``lower()`` lowers ASCII only ("Đ" stays "Đ").

Searches stay a scan of the column, as the accented ``LIKE '%...%'`` was: no index serves a
``LIKE`` with a leading wildcard either way.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, String, event, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

#: the name of the SQL function registered on SQLite connections
SQLITE_FUNCTION = "perks_fold"


def fold(text: str) -> str:
    """ "Đặng Thị Ánh" → "dang thi anh": no accents, lower case, "đ" as "d" (and "ð", the
    Latin-1 letter text from older Vietnamese encodings has where "đ" was meant)."""
    lowered = text.casefold().replace("đ", "d").replace("ð", "d")
    decomposed = unicodedata.normalize("NFD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def name_order(text: str) -> tuple[str, str]:
    """A sort key that reads Vietnamese as people alphabetise it: "Đặng" among the Ds, "Ánh"
    among the As (by code point, both would come after "Z").

    Accents and case are compared only to break ties, so "Ăn tối" sorts with "An". The same
    order as :func:`alphabetical` gives in SQL.
    """
    return fold(text), text


#: the commonest Vietnamese family names, without their accents: a name that starts with one
#: is written family name first whatever language its owner reads ("Lê Thị Hoa" is Ms Hoa,
#: in an English e-mail too), and one that ends with one is written given name first
#: ("Linh Nguyen"). Family names that are also common given names (Mai, Hà, Lan, Kim, Châu,
#: Giang, Lâm...) are left out: they would tell nothing.
VIETNAMESE_FAMILY_NAMES = frozenset(
    {
        "nguyen",
        "tran",
        "le",
        "pham",
        "hoang",
        "huynh",
        "phan",
        "vu",
        "vo",
        "dang",
        "bui",
        "do",
        "ho",
        "ngo",
        "duong",
        "ly",
        "dao",
        "doan",
        "vuong",
        "trinh",
        "truong",
        "dinh",
        "luong",
        "luu",
        "ta",
        "cao",
        "quach",
        "ton",
        "trieu",
        "phung",
        "kieu",
        "thach",
        "lai",
        "nong",
        "khuc",
        "bach",
        "tong",
        "diep",
        "tang",
    }
)


def given_name(name: str, locale: str) -> str:
    """The given name in ``name`` ("Nguyễn Văn An" → "An", "Lucas Martin" → "Lucas"), to greet
    someone by: last when the name starts with a Vietnamese family name, first when it ends
    with one; otherwise as names are written in ``locale`` (last in Vietnamese, first in
    English). Empty for an empty name. Raises nothing."""
    parts = name.split()
    if not parts:
        return ""
    if len(parts) > 1:
        if fold(parts[0]) in VIETNAMESE_FAMILY_NAMES:
            return parts[-1]
        if fold(parts[-1]) in VIETNAMESE_FAMILY_NAMES:
            return parts[0]
    return parts[-1] if locale == "vi" else parts[0]


def names_in_order(names: Iterable[str]) -> list[str]:
    """The names a form or file gave (places, for instance), each once, trimmed, blanks left
    out, in :func:`name_order`: how a rule keeps them and shows them."""
    return sorted({name.strip() for name in names if name.strip()}, key=name_order)


def name_key(text: str) -> str:
    """What two names that read the same share: in any case ("Đ" and "đ" too, which SQLite's
    ``lower()`` leaves apart), composed or not; accents count ("Nhóm" is not "Nhôm"). Names
    HR and finance give (departments, groups, file mappings and headers) are unique by it,
    compared in Python: there are a few dozen of each."""
    return unicodedata.normalize("NFC", text).casefold()


def _translate_table() -> tuple[str, str]:
    """What ``translate`` maps: every letter of Latin-1, Latin Extended-A and B and Latin
    Extended Additional (Vietnamese's stacked accents) that folds to one ASCII letter, then
    the combining diacritical marks, which it drops."""
    letters: list[str] = []
    bases: list[str] = []
    for block in ((0x00C0, 0x0250), (0x1E00, 0x1F00)):
        for point in range(*block):
            char = chr(point)
            base = fold(char)
            if len(base) == 1 and base.isascii() and base.isalpha() and base != char:
                letters.append(char)
                bases.append(base)
    marks = "".join(chr(p) for p in range(0x0300, 0x0370) if unicodedata.combining(chr(p)))
    return "".join(letters) + marks, "".join(bases)


_FROM, _TO = _translate_table()


class folded(FunctionElement[str]):  # noqa: N801 - used like SQLAlchemy's func.lower
    """SQL: ``expression`` folded as :func:`fold` folds text."""

    type = String()
    inherit_cache = True
    name = "folded"


@compiles(folded)
def _folded_on_sqlite(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_FUNCTION}({compiler.process(element.clauses, **kw)})"


@compiles(folded, "postgresql")
def _folded_on_postgresql(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    letters = compiler.process(literal(_FROM, String()), **kw)
    bases = compiler.process(literal(_TO, String()), **kw)
    return f"lower(translate({column}, {letters}, {bases}))"


def _typed_words(text: str) -> str:
    """What was typed in a search box, folded, as words one space apart: two spaces, a
    no-break space or a pasted zero-width one between or around them do not make it
    miss. Raises nothing."""
    visible = "".join(c for c in fold(text) if unicodedata.category(c) != "Cf")
    return " ".join(visible.split())


def contains_folded(expression: Any, text: str) -> ColumnElement[bool]:
    """SQL: whether ``expression`` contains ``text``, both folded, the text's words one
    space apart (:func:`_typed_words`; ``%`` and ``_`` in the text are matched as
    themselves)."""
    return folded(expression).contains(_typed_words(text), autoescape=True)


def equals_folded(expression: Any, text: str) -> ColumnElement[bool]:
    """SQL: whether ``expression`` is ``text``, both folded, the text's words one space apart
    (as :func:`contains_folded` reads it): "nguyen van an" is "Nguyễn Văn An", not "Nguyễn
    Văn Anh"."""
    return folded(expression) == _typed_words(text)


def alphabetical(column: Any) -> tuple[ColumnElement[str], Any]:
    """SQL: ``ORDER BY`` terms for ``column`` in the order of :func:`name_order`, identical on
    both databases (their collations would put "Đặng" and "Ánh" after "Zoe"):
    ``order_by(*alphabetical(User.name), User.id)``."""
    return folded(column), column


def register_on_sqlite(engine: Engine) -> None:
    """Give every SQLite connection of ``engine`` the ``perks_fold`` function."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function(SQLITE_FUNCTION, 1, _fold_or_null, deterministic=True)


def _fold_or_null(value: str | None) -> str | None:
    return None if value is None else fold(value)

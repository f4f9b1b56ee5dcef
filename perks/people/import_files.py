"""Reading a people file: its bytes decoded to text, its lines one at a time.

An upload arrives as bytes (UTF-8 with or without a byte-order mark, or BOM-marked UTF-16) and
is kept as text in the database (``PeopleImport.content``), from which it is read back a piece
at a time: a file of a hundred thousand people is never whole in the worker's memory. What the
lines mean (the header, the cells, the people) is ``import_plan``'s job.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator

from flask_babel import gettext as _
from sqlalchemy import func, select

from perks.errors import ValidationFailed
from perks.extensions import db
from perks.people.models import PeopleImport

#: characters of a stored upload read at a time. Each read makes PostgreSQL decompress the
#: whole value and count characters up to the offset: 1,000,000 took 1.1 s for a 14 MB file,
#: the whole file at once 0.05 s but 30 MB more at the worker's peak (bench.people_import).
READ_PIECE = 4_000_000


def decode_csv(data: bytes) -> str:
    """The text of an uploaded or read file: UTF-8 (a BOM is dropped) or BOM-marked UTF-16.

    Raises:
        ValidationFailed: binary content, or text in another encoding.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise ValidationFailed(_("The file could not be read as text.")) from error
    elif b"\x00" in data:
        raise ValidationFailed(_("This is not a CSV file. Export the list as CSV and try again."))
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ValidationFailed(
                _(
                    "The file is not UTF-8 text. In Excel, save it as “CSV UTF-8 "
                    "(Comma delimited)” and upload it again."
                )
            ) from error
    if "\x00" in text:
        raise ValidationFailed(_("This is not a CSV file. Export the list as CSV and try again."))
    return text


def content_sha256(text: str) -> str:
    """The fingerprint of a file's text (UTF-8, without a BOM), as stored and audited."""
    return hashlib.sha256(text.removeprefix("\ufeff").encode("utf-8")).hexdigest()


def estimated_rows(text: str) -> int:
    """About how many people the file holds (its lines but the header), for progress bars."""
    return max(1, text.count("\n") - (0 if text.endswith("\n") else -1) - 1)


def stored_rows(import_id: int) -> int:
    """``estimated_rows`` of a stored upload, counted by the database."""
    content = PeopleImport.content
    newlines = db.session.scalar(
        select(func.length(content) - func.length(func.replace(content, "\n", ""))).where(
            PeopleImport.id == import_id
        )
    )
    return max(1, int(newlines or 0) - 1)


def stored_text(upload_id: int) -> Iterator[str]:
    """A stored upload's text, ``READ_PIECE`` characters at a time."""
    offset = 1
    while True:
        piece = db.session.scalar(
            select(func.substr(PeopleImport.content, offset, READ_PIECE)).where(
                PeopleImport.id == upload_id
            )
        )
        if not piece:
            return
        yield piece
        offset += len(piece)


def read_lines(text: str | Iterable[str]) -> Iterator[str]:
    """The lines of ``text`` (the file's text, or its pieces in order) with their endings, one
    at a time, without the byte-order mark.

    Raises:
        NotText: a NUL character, when the line holding it is reached.
    """
    return _lines(_refuse_nul(_pieces(text)))


#: one line and its ending, as universal newlines split them ("\r\n", "\r" or "\n")
_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+\Z")


def _lines(pieces: Iterable[str]) -> Iterator[str]:
    """The lines of the text made of ``pieces``, with their endings, one at a time: a file
    read from the database a piece at a time is never whole in memory (and ``io.StringIO``
    would copy it into a buffer of four bytes per character)."""
    rest = ""
    for piece in pieces:
        text = rest + piece
        # A line is complete once its ending is: a final "\r" may be the start of "\r\n".
        end = max(text.rfind("\n"), text.rfind("\r", 0, len(text) - 1))
        if end < 0:
            rest = text
            continue
        rest = text[end + 1 :]
        for match in _LINE.finditer(text, 0, end + 1):
            yield match.group()
    if rest:
        for match in _LINE.finditer(rest):
            yield match.group()


def sniff_delimiter(first: str) -> str:
    """The file's delimiter, told by its first line: the commonest of comma, semicolon and tab
    (a comma if it has none)."""
    counts = {delimiter: first.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _pieces(text: str | Iterable[str]) -> Iterator[str]:
    """The text's pieces, without its byte-order mark."""
    pieces = iter([text] if isinstance(text, str) else text)
    for piece in pieces:
        if piece:
            yield piece.removeprefix("\ufeff")
            break
    yield from pieces


class NotText(Exception):
    """The text holds a NUL character: it is not a CSV file."""


def _refuse_nul(pieces: Iterable[str]) -> Iterator[str]:
    for piece in pieces:
        if "\x00" in piece:
            raise NotText()
        yield piece

"""Uploaded images (perk and product pictures), kept where every host can read them.

A host's disk is seen by that host alone: an image uploaded through one gunicorn host would
be a 404 on the next. So images live behind one small interface, ``save_image``,
``load_image`` and ``delete_image``, whose backend is the database (``StoredImage``, one row
per image). It is the default and, for now, the only backend: an S3-compatible store could
sit behind the same three functions later (``ImageStore``) without a change to the callers.

* An image is judged by its content, never by its file name or the browser's word: PNG or
  JPEG only, at most ``MAX_IMAGE_BYTES``, and at most ``MAX_IMAGE_SIDE`` pixels on a side and
  ``MAX_IMAGE_PIXELS`` in all as its header announces them (``image_type``): a few kB of
  zeros can announce 20,000 × 20,000 pixels, gigabytes in every browser and mail reader that
  shows them.
* Its name is random (``<32 hex>.<png|jpg>``) and never reused: replacing an image stores a new
  one under a new name and deletes the old row, so a URL holding the name can be cached
  forever (``image_response``: ``immutable``, a year, an ``ETag``).
* ``save_image`` and ``delete_image`` only flush: the image and the perk or product that
  points at it are written in the caller's one transaction, so nothing is ever left behind
  by a refused form or a rollback.
"""

from __future__ import annotations

import re
import secrets
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from flask import Response, request
from flask_babel import gettext as _
from sqlalchemy import DateTime, Integer, LargeBinary, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from perks.db import Base, utcnow
from perks.errors import NotFound, ValidationFailed
from perks.extensions import db

MAX_IMAGE_BYTES = 2 * 1024 * 1024
#: the first bytes of the image formats we accept: their content type and stored extension
IMAGE_SIGNATURES: dict[bytes, tuple[str, str]] = {
    b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
    b"\xff\xd8\xff": ("image/jpeg", "jpg"),
}
#: other names browsers give the same types
CONTENT_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}
#: the names ``save_image`` gives: random, so they can be cached forever and not guessed
NAME_PATTERN = re.compile(r"[0-9a-f]{32}\.(?:png|jpg)")
#: the most pixels an image may have on a side, and in all (40 megapixels: 160 MB unpacked)
MAX_IMAGE_SIDE = 10_000
MAX_IMAGE_PIXELS = 40_000_000
#: the JPEG markers that start a frame and give its size (SOF0-SOF15 but DHT, JPG, DAC)
JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
#: a year: an image's name changes whenever its content does
MAX_AGE_SECONDS = 365 * 24 * 3600


class StoredImage(Base):
    """One uploaded image, bytes and all (the database backend of ``ImageStore``)."""

    __tablename__ = "stored_image"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the public name, ``<32 hex>.<png|jpg>``: random and never reused
    name: Mapped[str] = mapped_column(String(80), unique=True)
    #: judged from the content when it was stored: ``image/png`` or ``image/jpeg``
    content_type: Mapped[str] = mapped_column(String(40))
    #: the length of ``data`` in bytes (read without loading the image)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


@dataclass(frozen=True)
class Image:
    """A stored image as every backend returns it."""

    name: str
    content_type: str
    data: bytes
    created_at: datetime

    @property
    def size(self) -> int:
        return len(self.data)


class ImageStore(Protocol):
    """Where image bytes live. ``DatabaseImageStore`` is the default and only one for now."""

    def save(self, name: str, content_type: str, data: bytes) -> None: ...

    def load(self, name: str) -> Image | None: ...

    def delete(self, name: str) -> None: ...


class DatabaseImageStore:
    """Images as rows of ``stored_image``, in the caller's transaction (flush only)."""

    def save(self, name: str, content_type: str, data: bytes) -> None:
        db.session.add(StoredImage(name=name, content_type=content_type, size=len(data), data=data))
        db.session.flush()

    def load(self, name: str) -> Image | None:
        row = db.session.execute(
            select(
                StoredImage.name,
                StoredImage.content_type,
                StoredImage.data,
                StoredImage.created_at,
            ).where(StoredImage.name == name)
        ).one_or_none()
        if row is None:
            return None
        return Image(
            name=row.name,
            content_type=row.content_type,
            data=bytes(row.data),
            created_at=row.created_at,
        )

    def delete(self, name: str) -> None:
        db.session.execute(delete(StoredImage).where(StoredImage.name == name))


_STORE: ImageStore = DatabaseImageStore()


def image_type(data: bytes) -> tuple[str, str]:
    """The content type and extension of an uploaded image, judged by its first bytes.

    Raises:
        ValidationFailed: larger than 2 MB, not a PNG or JPEG, or announcing more pixels than
            ``MAX_IMAGE_SIDE`` on a side or ``MAX_IMAGE_PIXELS`` in all (``field="image"``).
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationFailed(_("The image is larger than 2 MB."), field="image")
    for signature, kind in IMAGE_SIGNATURES.items():
        if data.startswith(signature):
            size = _pixel_size(data)
            if size is not None and (
                max(size) > MAX_IMAGE_SIDE or size[0] * size[1] > MAX_IMAGE_PIXELS
            ):
                raise ValidationFailed(
                    _(
                        "The image has too many pixels: at most 10,000 on a side and "
                        "40 megapixels in all."
                    ),
                    field="image",
                )
            return kind
    raise ValidationFailed(_("Upload a PNG or JPEG image."), field="image")


def _pixel_size(data: bytes) -> tuple[int, int] | None:
    """The width and height a PNG's or JPEG's header announces (None if it cannot be read)."""
    if data.startswith(b"\x89PNG") and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    at = 2  # after a JPEG's start of image: segments of marker, length, body
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in JPEG_FRAME_MARKERS:
            if at + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        if marker == 0xDA or marker == 0xD9:  # the image data, or its end, before any frame
            return None
        if 0xD0 <= marker <= 0xD8 or marker == 0x01:  # markers without a body
            at += 2
            continue
        at += 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]
    return None


def save_image(data: bytes, content_type: str | None = None) -> str:
    """Store an image in the caller's transaction (flush only) and return its new name.

    ``content_type``, when given (the browser's claim), must agree with the content.

    Raises:
        ValidationFailed: as ``image_type``; or the content is not of ``content_type``.
    """
    judged, extension = image_type(data)
    if content_type is not None:
        claimed = content_type.split(";")[0].strip().lower()
        if CONTENT_TYPE_ALIASES.get(claimed, claimed) != judged:
            raise ValidationFailed(_("Upload a PNG or JPEG image."), field="image")
    name = f"{secrets.token_hex(16)}.{extension}"
    _STORE.save(name, judged, data)
    return name


def load_image(name: str) -> Image | None:
    """The image stored under ``name``, or None (a malformed name is never looked up)."""
    if not NAME_PATTERN.fullmatch(name):
        return None
    return _STORE.load(name)


def delete_image(name: str | None) -> None:
    """Remove an image in the caller's transaction (nothing when ``name`` is empty)."""
    if name:
        _STORE.delete(name)


def image_response(name: str, *, public: bool = True) -> Response:
    """The HTTP answer for the image stored under ``name``: cacheable for a year, immutable
    (its name changes with its content), with an ``ETag`` that answers 304 when it matches.

    ``public=False`` (images only signed-in people may see) keeps shared caches out.

    Raises:
        NotFound: no image is stored under ``name``.
    """
    image = load_image(name)
    if image is None:
        raise NotFound()
    response = Response(image.data, mimetype=image.content_type)
    response.set_etag(image.name)
    response.last_modified = image.created_at
    audience = "public" if public else "private"
    response.headers["Cache-Control"] = f"{audience}, max-age={MAX_AGE_SECONDS}, immutable"
    response.make_conditional(request)  # typed as returning werkzeug's Response; it is ``response``
    return response

"""A create form sent twice makes one thing.

A double-clicked Save, or the answer page reloaded, sends the same form again. Each staff
create form carries a random token drawn with the page (``forms.sending_field``); the
service that makes the thing asks ``made_before`` first, inside its transaction, and calls
``remember`` once it has made it. The same form sent again is then the thing it made, not a
second product on sale, a second commission rule or a second gift programme. On PostgreSQL two
sendings at the same moment take turns on the token (an advisory lock), and the token is the
table's primary key besides: one row, one thing, whatever the timing.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TypeVar

from flask_babel import gettext as _
from sqlalchemy import DateTime, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from perks.db import Base, take_turns, utcnow
from perks.errors import ValidationFailed
from perks.extensions import db
from perks.people.models import User

Made = TypeVar("Made", bound=Base)

#: the form of a token: 32 hexadecimal digits
SENDING_PATTERN = r"^[0-9a-f]{32}$"


class FormSending(Base):
    """What the create form that carried ``sending`` made."""

    __tablename__ = "form_sending"

    sending: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: the table of what it made ("product", "commission_rule", ...)
    kind: Mapped[str] = mapped_column(String(64))
    made_id: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def new_sending() -> str:
    """The token of a create form drawn now. Raises nothing."""
    return secrets.token_hex(16)


def made_before(model: type[Made], sending: str | None, actor: User) -> Made | None:
    """What the form that carried ``sending`` made already, if it was sent before; call it
    first inside the creating transaction, which then holds the token until it ends.

    Raises:
        ValidationFailed: the form made something since removed, or is not ``actor``'s form
            for a ``model``: it is not made again; a form opened anew makes a new one.
    """
    if not sending:
        return None
    take_turns(f"perks.form-sending:{sending}")  # the same form sent twice at once: one thing
    row = db.session.scalar(select(FormSending).where(FormSending.sending == sending))
    if row is None:
        return None
    made = db.session.get(model, row.made_id) if row.kind == model.__tablename__ else None
    if made is None or row.actor_id != actor.id:
        raise ValidationFailed(_("This form was sent already: open it again to make another."))
    return made


def remember(sending: str | None, made: Base, actor: User) -> None:
    """Note that the form that carried ``sending`` made ``made`` (flushed, with an id).
    Raises nothing (a token already noted fails the flush: ``made_before`` comes first)."""
    if not sending:
        return
    made_id = getattr(made, "id")  # noqa: B009  every model made by a form has an integer id
    db.session.add(
        FormSending(
            sending=sending, kind=type(made).__tablename__, made_id=made_id, actor_id=actor.id
        )
    )
    db.session.flush()

"""The form that makes a new referral link."""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired

from perks.forms import Form, Length, trimmed
from perks.referrals.models import Destination
from perks.referrals.services import LABEL_MAX_LENGTH

STOREFRONT_CHOICE = "storefront"


def composed(value: Any) -> Any:
    """A field filter: the text composed (NFC), so that Vietnamese typed decomposed (Unikey's
    "Unicode tổ hợp": a letter, then its marks) is measured, and kept, as it reads. Leaves
    anything but a string as it is."""
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def target_value(destination: Destination, destination_id: int | None = None) -> str:
    """The select's value for a page: ``storefront``, ``category:3``, ``product:12``."""
    if destination is Destination.STOREFRONT:
        return STOREFRONT_CHOICE
    return f"{destination.value}:{destination_id}"


class LinkForm(Form):
    """A label and the page the link leads to: one select with a group per kind of page.

    Only the label and the page are read: the code, the owner and the state are the server's.
    """

    label = StringField(
        _l("Label"),
        validators=[DataRequired(), Length(max=LABEL_MAX_LENGTH)],
        filters=[trimmed, composed],
        description=_l(
            "Only you see it. Say where you will share the link, for example "
            "“Zalo group” or “Facebook post”, to tell your links apart."
        ),
    )
    target = SelectField(_l("Where the link leads"), validators=[DataRequired()])
    submit = SubmitField(_l("Make the link"))

    def __init__(
        self,
        *args: object,
        products: list[tuple[int, str]],
        categories: list[tuple[int, str]],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        groups: dict[str, list[tuple[str, str]]] = {
            str(_l("Storefront")): [(STOREFRONT_CHOICE, str(_l("The storefront's home page")))],
        }
        if products:
            groups[str(_l("Products"))] = [
                (target_value(Destination.PRODUCT, pid), name) for pid, name in products
            ]
        if categories:
            groups[str(_l("Categories"))] = [
                (target_value(Destination.CATEGORY, cid), name) for cid, name in categories
            ]
        self.target.choices = groups

    def offered_targets(self) -> set[str]:
        return {value for options in self.target.choices.values() for value, _label in options}

    @property
    def destination(self) -> tuple[Destination, int | None]:
        """The chosen page, after validation (the value is one of the offered choices)."""
        value = self.target.data or STOREFRONT_CHOICE
        if value == STOREFRONT_CHOICE:
            return Destination.STOREFRONT, None
        kind, _, number = value.partition(":")
        return Destination(kind), int(number)

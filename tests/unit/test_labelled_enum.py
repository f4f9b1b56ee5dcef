"""Behaviour of perks.i18n.LabelledEnum: members carry their value and a translated label."""

from __future__ import annotations

import copy

import pytest
from flask import Flask
from flask_babel import Babel
from flask_babel import lazy_gettext as _l

from perks.i18n import LabelledEnum


class Colour(LabelledEnum):
    RED = "red", _l("Red")
    DARK_BLUE = "dark_blue", _l("Dark blue")


def test_the_value_is_the_stored_string_and_the_label_the_text() -> None:
    app = Flask(__name__)
    Babel(app)
    with app.app_context():
        assert Colour.DARK_BLUE.label == "Dark blue"
    assert Colour.DARK_BLUE.value == "dark_blue"
    assert isinstance(Colour.DARK_BLUE, str)
    assert str(Colour.DARK_BLUE) == "dark_blue"
    assert [c.value for c in Colour] == ["red", "dark_blue"]


def test_members_are_found_by_value_and_survive_copying() -> None:
    assert Colour("red") is Colour.RED
    assert copy.deepcopy(Colour.RED) is Colour.RED
    with pytest.raises(ValueError, match="green"):
        Colour("green")

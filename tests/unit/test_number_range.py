"""Range errors of forms write their limits as the reader writes numbers."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict
from wtforms import IntegerField

from perks.forms import Form, NumberRange


class _AllowanceForm(Form):
    class Meta:
        csrf = False

    between = IntegerField(validators=[NumberRange(min=1, max=1_000_000)])
    at_least = IntegerField(validators=[NumberRange(min=10_000)])
    at_most = IntegerField(validators=[NumberRange(max=5_000)])
    told = IntegerField(validators=[NumberRange(min=1, max=9, message="From 1 to 9.")])


@pytest.mark.parametrize(
    ("locale", "between", "at_least", "at_most"),
    [
        (
            "en",
            "Number must be between 1 and 1,000,000.",
            "Number must be at least 10,000.",
            "Number must be at most 5,000.",
        ),
        (
            "vi",
            "Số phải nằm trong khoảng từ 1 đến 1.000.000.",
            "Số phải lớn hơn hoặc bằng 10.000.",
            "Số phải nhỏ hơn hoặc bằng 5.000.",
        ),
    ],
)
def test_a_range_error_groups_the_digits_of_its_limits(
    app: Flask, locale: str, between: str, at_least: str, at_most: str
) -> None:
    data = MultiDict({"between": "0", "at_least": "5", "at_most": "9999", "told": "10"})
    with app.test_request_context(), force_locale(locale):
        form = _AllowanceForm(formdata=data)
        assert not form.validate()
        assert form.errors == {
            "between": [between],
            "at_least": [at_least],
            "at_most": [at_most],
            "told": ["From 1 to 9."],
        }

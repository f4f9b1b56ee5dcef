"""The limits in form errors (a text's length, a number's range) are written as the reader
writes numbers ("2,000" in English, "2.000" in Vietnamese), never as Python prints them, and
every form of perks/ takes its ``Length`` and ``NumberRange`` from ``perks.forms``."""

from __future__ import annotations

import ast
from decimal import Decimal

import pytest
from flask import Flask
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import IntegerField, StringField

from perks.forms import Form, Length, NumberRange
from tests.helpers import ROOT


class _AllowanceForm(Form):
    class Meta:
        csrf = False

    between = IntegerField(validators=[NumberRange(min=1, max=1_000_000)])
    at_least = IntegerField(validators=[NumberRange(min=10_000)])
    at_most = IntegerField(validators=[NumberRange(max=5_000)])
    told = IntegerField(validators=[NumberRange(min=1, max=9, message="From 1 to 9.")])
    told_with_limits = IntegerField(
        validators=[NumberRange(min=1, max=5_000, message="From %(min)s to %(max)s.")]
    )


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
    data = MultiDict(
        {"between": "0", "at_least": "5", "at_most": "9999", "told": "10", "told_with_limits": "0"}
    )
    with app.test_request_context(), force_locale(locale):
        form = _AllowanceForm(formdata=data)
        assert not form.validate()
        assert form.errors == {
            "between": [between],
            "at_least": [at_least],
            "at_most": [at_most],
            "told": ["From 1 to 9."],
            "told_with_limits": ["From 1 to 5,000." if locale == "en" else "From 1 to 5.000."],
        }


@pytest.mark.parametrize("limit", [2000.0, Decimal("2000"), Decimal("0.5"), True, "2000"])
def test_a_range_takes_only_whole_number_limits_so_no_amount_prints_unlike_money(
    limit: object,
) -> None:
    with pytest.raises(TypeError, match="whole-number limits"):
        NumberRange(min=0, max=limit)
    with pytest.raises(TypeError, match="whole-number limits"):
        NumberRange(min=limit)


def test_a_callable_limit_is_resolved_and_grouped(app: Flask) -> None:
    class _Form(Form):
        class Meta:
            csrf = False

        points = IntegerField(validators=[NumberRange(min=1, max=lambda: 12_000)])

    with app.test_request_context(), force_locale("vi"):
        form = _Form(formdata=MultiDict({"points": "12001"}))
        assert not form.validate()
        assert form.errors == {"points": ["Số phải nằm trong khoảng từ 1 đến 12.000."]}


class _TextsForm(Form):
    class Meta:
        csrf = False

    reason = StringField(validators=[Length(max=2000)])
    letter = StringField(validators=[Length(max=1)])
    password = StringField(validators=[Length(min=1000, max=2000)])
    greeting = StringField(validators=[Length(min=1500)])
    code = StringField(validators=[Length(min=1200, max=1200)])
    note = StringField(validators=[Length(max=1000, message="At most %(max)d, not %(length)d.")])
    lazy_note = StringField(validators=[Length(max=1000, message=_l("Too long."))])


#: (English, Vietnamese) for each field of ``_TextsForm``, refused
TEXT_ERRORS = {
    "reason": (
        "Field cannot be longer than 2,000 characters.",
        "Trường này không được dài quá 2.000 ký tự.",
    ),
    "letter": (
        "Field cannot be longer than 1 character.",
        "Trường này không được dài quá 1 ký tự.",
    ),
    "password": (
        "Field must be between 1,000 and 2,000 characters long.",
        "Trường này phải có từ 1.000 đến 2.000 ký tự.",
    ),
    "greeting": (
        "Field must be at least 1,500 characters long.",
        "Trường này phải có ít nhất 1.500 ký tự.",
    ),
    "code": (
        "Field must be exactly 1,200 characters long.",
        "Trường này phải có đúng 1.200 ký tự.",
    ),
    "note": ("At most 1,000, not 1,001.", "At most 1.000, not 1.001."),
    "lazy_note": ("Too long.", "Too long."),
}


@pytest.mark.parametrize(("locale", "which"), [("en", 0), ("vi", 1)])
def test_a_length_error_groups_the_digits_of_its_limits(
    app: Flask, locale: str, which: int
) -> None:
    data = MultiDict(
        {
            "reason": "x" * 2001,
            "letter": "xy",
            "password": "short",
            "greeting": "hi",
            "code": "x" * 1201,
            "note": "x" * 1001,
            "lazy_note": "x" * 1001,
        }
    )
    with app.test_request_context(), force_locale(locale):
        form = _TextsForm(formdata=data)
        assert not form.validate()
        assert form.errors == {name: [texts[which]] for name, texts in TEXT_ERRORS.items()}


def test_a_length_within_its_limits_passes_and_the_browser_gets_them_ungrouped(
    app: Flask,
) -> None:
    data = MultiDict(
        {
            "reason": "x" * 2000,
            "letter": "",
            "password": "x" * 1000,
            "greeting": "x" * 1500,
            "code": "x" * 1200,
            "note": "",
            "lazy_note": "",
        }
    )
    with app.test_request_context(), force_locale("vi"):
        form = _TextsForm(formdata=data)
        assert form.validate(), form.errors
        assert 'maxlength="2000"' in form.reason()
        assert 'minlength="1000"' in form.password()


# --- every form of perks/ uses these ---------------------------------------------------------

#: the WTForms validators whose messages print their limits ungrouped
UNGROUPED_VALIDATORS = frozenset({"Length", "NumberRange"})
#: the modules WTForms' validators can be reached through
WTFORMS_MODULES = ("wtforms", "wtforms.validators")


def wtforms_limit_validators(source: str) -> list[int]:
    """The lines of ``source`` that import or name WTForms' own ``Length`` or ``NumberRange``
    (``from wtforms.validators import Length``, ``validators.Length``...)."""
    tree = ast.parse(source)
    modules: set[str] = set()  # local names of wtforms or wtforms.validators
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in WTFORMS_MODULES:
            for alias in node.names:
                if alias.name in UNGROUPED_VALIDATORS:
                    found.append(node.lineno)
                elif alias.name == "validators":
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in WTFORMS_MODULES:
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in UNGROUPED_VALIDATORS
            and ast.unparse(node.value) in modules | {"wtforms.validators"}
        ):
            found.append(node.lineno)
    return sorted(found)


def test_the_scan_finds_every_way_of_naming_wtforms_limits() -> None:
    assert wtforms_limit_validators("from wtforms.validators import DataRequired, Length") == [1]
    assert wtforms_limit_validators("from wtforms import validators\nv = validators.Length") == [2]
    assert wtforms_limit_validators("from wtforms import validators as v\nv.NumberRange()") == [2]
    assert wtforms_limit_validators("import wtforms\nwtforms.validators.Length()") == [2]
    assert wtforms_limit_validators("import wtforms.validators as v\nv.Length()") == [2]
    assert wtforms_limit_validators("from perks.forms import Length, NumberRange") == []
    assert wtforms_limit_validators("from marshmallow import validate\nvalidate.Length()") == []


def test_every_form_takes_length_and_number_range_from_perks_forms() -> None:
    """WTForms' own print their limits as "2000" in both languages: import ``Length`` and
    ``NumberRange`` from ``perks.forms``, which group the digits as the reader does."""
    found = {
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted((ROOT / "perks").rglob("*.py"))
        for line in wtforms_limit_validators(path.read_text(encoding="utf-8"))
    }
    # perks.forms builds its own on WTForms' (class Length(validators.Length)...)
    shared = ROOT / "perks" / "forms.py"
    subclassed = {
        f"{shared.relative_to(ROOT)}:{node.lineno}"
        for node in ast.walk(ast.parse(shared.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name in UNGROUPED_VALIDATORS
    }
    assert len(subclassed) == 2
    assert found == subclassed

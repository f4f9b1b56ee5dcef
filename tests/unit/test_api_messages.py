"""The API's request validation writes its messages in the caller's language, its limits
grouped as the caller writes numbers ("1,000" in English, "1.000" in Vietnamese), through
``perks.api.validation``: no schema of ``perks.api.schemas`` is left with marshmallow's own
English messages or its validators, which print limits as Python does ("1000")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask_babel import LazyString, force_locale
from marshmallow import Schema, ValidationError, fields, validate

from perks.api import schemas
from perks.api.validation import ApiSchema, Length, OneOf, Range


def _schema_classes() -> list[type[Schema]]:
    return [
        value
        for value in vars(schemas).values()
        if isinstance(value, type)
        and issubclass(value, Schema)
        and value.__module__ == schemas.__name__
    ]


def _fields(field: fields.Field, name: str) -> Iterator[tuple[str, fields.Field]]:
    yield name, field
    for inner in (getattr(field, "inner", None), getattr(field, "value_field", None)):
        if isinstance(inner, fields.Field):
            yield from _fields(inner, name + "[]")


@pytest.mark.parametrize("schema_class", _schema_classes(), ids=lambda cls: cls.__name__)
def test_every_api_schema_gives_its_fields_messages_in_the_callers_language(
    schema_class: type[Schema],
) -> None:
    assert issubclass(schema_class, ApiSchema)
    schema = schema_class()
    assert all(isinstance(text, LazyString) for text in schema.error_messages.values())
    for field_name, field in schema.fields.items():
        for name, each in _fields(field, field_name):
            english = {
                key: text
                for key, text in each.error_messages.items()
                if not isinstance(text, LazyString)
            }
            assert not english, (name, english)
            for check in each.validators:
                if isinstance(check, validate.Length | validate.Range | validate.OneOf):
                    assert isinstance(check, Length | Range | OneOf), (name, check)


def _refusal(schema: Schema, data: Any, language: str, app: Flask) -> dict[str, Any]:
    with app.test_request_context(), force_locale(language):
        with pytest.raises(ValidationError) as refused:
            schema.load(data)
        return {
            name: [str(message) for message in messages]
            for name, messages in refused.value.messages.items()
        }


def test_the_limits_are_written_as_the_caller_writes_numbers(app: Flask) -> None:
    """Marshmallow's "Length must be between 1 and 1000." read "1000" in Vietnamese too."""
    assert _refusal(schemas.PeopleBatch(), {"people": []}, "en", app) == {
        "people": ["Length must be between 1 and 1,000."]
    }
    assert _refusal(schemas.PeopleBatch(), {"people": []}, "vi", app) == {
        "people": ["Độ dài phải từ 1 đến 1.000."]
    }


class _Limits(ApiSchema):
    title = fields.String(validate=Length(max=2_000))
    code = fields.String(validate=Length(min=1_500))
    tags = fields.List(fields.String(), validate=Length(max=1_200))
    pair = fields.List(fields.String(), validate=Length(equal=2))
    amount = fields.Integer(validate=Range(min=10_000))
    points = fields.Integer(validate=Range(max=5_000))
    kind = fields.String(validate=OneOf(["gift", "earn"]))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            {
                "title": ["At most 2,000 characters."],
                "code": ["At least 1,500 characters."],
                "tags": ["At most 1,200 items."],
                "pair": ["Exactly 2 items."],
                "amount": ["Must be at least 10,000."],
                "points": ["Must be at most 5,000."],
                "kind": ["Must be one of: gift, earn."],
            },
        ),
        (
            "vi",
            {
                "title": ["Tối đa 2.000 ký tự."],
                "code": ["Tối thiểu 1.500 ký tự."],
                "tags": ["Tối đa 1.200 mục."],
                "pair": ["Đúng 2 mục."],
                "amount": ["Phải lớn hơn hoặc bằng 10.000."],
                "points": ["Phải nhỏ hơn hoặc bằng 5.000."],
                "kind": ["Phải là một trong: gift, earn."],
            },
        ),
    ],
)
def test_each_kind_of_limit_reads_in_the_callers_language(
    app: Flask, language: str, expected: dict[str, list[str]]
) -> None:
    data = {
        "title": "x" * 2_001,
        "code": "x",
        "tags": ["x"] * 1_201,
        "pair": ["x"],
        "amount": 1,
        "points": 5_001,
        "kind": "gifts",
    }
    assert _refusal(_Limits(), data, language, app) == expected


def test_a_message_given_to_a_validator_or_a_field_is_kept(app: Flask) -> None:
    class Told(ApiSchema):
        title = fields.String(
            validate=Length(max=3, error="Three at most."),
            error_messages={"invalid": "Text, please."},
        )

    assert _refusal(Told(), {"title": "long"}, "vi", app) == {"title": ["Three at most."]}
    assert _refusal(Told(), {"title": 7}, "vi", app) == {"title": ["Text, please."]}


def test_an_exclusive_range_is_refused_where_it_is_made() -> None:
    with pytest.raises(ValueError, match="include their bounds"):
        Range(min=0, min_inclusive=False)

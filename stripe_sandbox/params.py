"""Stripe's form-encoded parameters: decoding ``a[b][0][c]=...`` and reading them field by field.

Stripe's API takes ``application/x-www-form-urlencoded`` bodies (and query strings) whose keys
nest with brackets: ``line_items[0][price_data][currency]=vnd``, ``metadata[order_id]=7``,
``expand[]=payment_intent``. :func:`decode_form` turns them into nested dicts of strings
(lists stay dicts keyed ``"0"``, ``"1"``, ... until a field reads them as a list, because
``metadata[0]`` is a hash key, not an index). :class:`Params` reads the fields an endpoint
knows, checks and converts them, and :meth:`Params.finish` refuses whatever was left over,
as Stripe does ("Received unknown parameter").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from stripe_sandbox.errors import (
    StripeApiError,
    invalid_parameter,
    missing_parameter,
    unknown_parameter,
)

Decoded = dict[str, Any]

MAX_PAIRS = 2_000
MAX_DEPTH = 6
_NAME = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
#: an integer as Stripe accepts it, and no longer than any amount or timestamp can be
_INTEGER = re.compile(r"^-?[0-9]{1,15}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def decode_form(pairs: Iterable[tuple[str, str]]) -> Decoded:
    """Nest ``(name, value)`` pairs by their bracketed names (a later value wins).

    Raises:
        StripeApiError: a malformed name, too deep or too many parameters, or a name used
            both as a value and as a hash (``a=1&a[b]=2``).
    """
    root: Decoded = {}
    for count, (name, value) in enumerate(pairs, start=1):
        if count > MAX_PAIRS:
            raise StripeApiError("Too many parameters in the request.")
        match = _NAME.match(name)
        if match is None:
            raise StripeApiError(f"Invalid parameter name: {name}", param=name)
        parts = [match.group(1), *_SEGMENT.findall(match.group(2))]
        if len(parts) > MAX_DEPTH:
            raise StripeApiError(f"Too deeply nested parameter: {name}", param=name)
        node = root
        for depth, part in enumerate(parts):
            key = str(len(node)) if part == "" else part  # "a[]" appends
            if depth == len(parts) - 1:
                if isinstance(node.get(key), dict):
                    raise StripeApiError(f"Invalid hash: {name}", param=name)
                node[key] = value
                break
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise StripeApiError(f"Invalid hash: {name}", param=name)
            node = child
    return root


def canonical(decoded: Mapping[str, Any]) -> str:
    """One text per set of parameters, whatever their order (idempotency compares these)."""
    return json.dumps(decoded, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def as_list(value: Any, param: str) -> list[Any]:
    """A decoded ``a[0]..a[n]`` (or ``a[]``) as a list, in index order.

    Raises:
        StripeApiError: not a list, or indexes with gaps.
    """
    if isinstance(value, dict) and all(key.isdigit() for key in value):
        indexes = sorted(int(key) for key in value)
        if indexes == list(range(len(indexes))):
            return [value[str(i)] for i in indexes]
    raise StripeApiError(f"Invalid array: {param}", param=param, code="parameter_invalid_array")


class Params:
    """A hash of parameters read field by field, with Stripe's error for each bad one."""

    def __init__(self, data: Mapping[str, Any], prefix: str = "") -> None:
        self._data = data
        self._prefix = prefix
        self._read: set[str] = set()
        self._children: list[Params] = []

    def path(self, key: str) -> str:
        return f"{self._prefix}[{key}]" if self._prefix else key

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def _take(self, key: str, required: bool) -> Any:
        self._read.add(key)
        value = self._data.get(key)
        if value is None or value == "":
            if required:
                raise missing_parameter(self.path(key))
            return None
        return value

    def _text(self, key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise invalid_parameter(self.path(key), f"Invalid string: {self.path(key)}")
        return value

    def string(self, key: str, *, required: bool = False, max_length: int = 5000) -> str | None:
        value = self._take(key, required)
        if value is None:
            return None
        text = self._text(key, value)
        if len(text) > max_length:
            raise invalid_parameter(
                self.path(key),
                f"Invalid string: {text[:20]}...; must be at most {max_length} characters",
            )
        return text

    def integer(
        self,
        key: str,
        *,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        value = self._take(key, required)
        if value is None:
            return None
        text = self._text(key, value)
        if not _INTEGER.match(text):
            raise StripeApiError(
                f"Invalid integer: {text[:40]}",
                param=self.path(key),
                code="parameter_invalid_integer",
            )
        number = int(text)
        if minimum is not None and number < minimum:
            raise StripeApiError(
                f"This value must be greater than or equal to {minimum}.",
                param=self.path(key),
                code="parameter_invalid_integer",
            )
        if maximum is not None and number > maximum:
            raise StripeApiError(
                f"This value must be less than or equal to {maximum}.",
                param=self.path(key),
                code="parameter_invalid_integer",
            )
        return number

    def choice(self, key: str, choices: Iterable[str], *, required: bool = False) -> str | None:
        value = self.string(key, required=required)
        allowed = list(choices)
        if value is not None and value not in allowed:
            raise invalid_parameter(
                self.path(key),
                f"Invalid {self.path(key)}: must be one of {', '.join(allowed)}",
            )
        return value

    def url(self, key: str, *, required: bool = False) -> str | None:
        value = self.string(key, required=required, max_length=5000)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise invalid_parameter(self.path(key), "Not a valid URL")
        return value

    def email(self, key: str) -> str | None:
        value = self.string(key, max_length=800)
        if value is not None and not _EMAIL.match(value):
            raise invalid_parameter(self.path(key), f"Invalid email address: {value}")
        return value

    def hash(self, key: str, *, required: bool = False) -> Params | None:
        value = self._take(key, required)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise StripeApiError(
                f"Invalid object: {self.path(key)}",
                param=self.path(key),
                code="parameter_invalid_object",
            )
        child = Params(value, self.path(key))
        self._children.append(child)
        return child

    def hashes(self, key: str, *, required: bool = False) -> list[Params]:
        value = self._take(key, required)
        if value is None:
            return []
        items = []
        for index, item in enumerate(as_list(value, self.path(key))):
            path = f"{self.path(key)}[{index}]"
            if not isinstance(item, dict):
                raise StripeApiError(
                    f"Invalid object: {path}", param=path, code="parameter_invalid_object"
                )
            child = Params(item, path)
            self._children.append(child)
            items.append(child)
        return items

    def strings(self, key: str) -> list[str]:
        value = self._take(key, False)
        if value is None:
            return []
        items = as_list(value, self.path(key))
        for index, item in enumerate(items):
            if not isinstance(item, str):
                raise invalid_parameter(
                    f"{self.path(key)}[{index}]", f"Invalid string: {self.path(key)}[{index}]"
                )
        return items

    def metadata(self, key: str = "metadata") -> dict[str, str]:
        """Stripe's metadata rules: at most 50 keys of 40 characters, values of 500.

        Raises:
            StripeApiError: too many keys, a key or value too long, or a nested value.
        """
        value = self._take(key, False)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise StripeApiError(
                f"Invalid object: {self.path(key)}",
                param=self.path(key),
                code="parameter_invalid_object",
            )
        if len(value) > 50:
            raise invalid_parameter(self.path(key), "Metadata can have at most 50 keys.")
        result: dict[str, str] = {}
        for name, item in value.items():
            path = f"{self.path(key)}[{name}]"
            if len(name) > 40:
                raise invalid_parameter(path, "Metadata keys can be at most 40 characters.")
            if not isinstance(item, str):
                raise invalid_parameter(path, f"Invalid string: {path}")
            if len(item) > 500:
                raise invalid_parameter(path, "Metadata values can be at most 500 characters.")
            if item != "":  # an empty value unsets the key
                result[name] = item
        return result

    def range_filter(self, key: str) -> dict[str, int]:
        """``created=<t>`` or ``created[gt|gte|lt|lte]=<t>``, as a dict of bounds."""
        self._read.add(key)
        value = self._data.get(key)
        if value is None or value == "":
            return {}
        if isinstance(value, str):
            exact = self.integer(key)
            return {"gte": exact, "lte": exact} if exact is not None else {}
        bounds = self.hash(key)
        assert bounds is not None
        result = {}
        for name in ("gt", "gte", "lt", "lte"):
            number = bounds.integer(name)
            if number is not None:
                result[name] = number
        return result

    def finish(self) -> None:
        """Refuse any parameter no field asked for.

        Raises:
            StripeApiError: ``Received unknown parameter: <name>``.
        """
        for key in self._data:
            if key not in self._read:
                raise unknown_parameter(self.path(key))
        for child in self._children:
            child.finish()

"""Errors the sandbox's API answers with, in Stripe's shape.

``{"error": {"type": "invalid_request_error", "message": ..., "param": ..., "code": ...}}``
with Stripe's status codes (400 bad request, 401 bad key, 402 card error, 404 no such object,
409 idempotency key in use). The messages are Stripe's own words, in English like Stripe's:
they are read by programs and developers, not shown to customers as they are.
"""

from __future__ import annotations

from typing import Any

DOCS = "https://docs.stripe.com/error-codes"


class StripeApiError(Exception):
    """A request the sandbox refuses, answered like Stripe would."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        decline_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.param = param
        self.code = code
        self.decline_code = decline_code

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.param is not None:
            error["param"] = self.param
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"{DOCS}#{self.code.replace('_', '-')}"
        if self.decline_code is not None:
            error["decline_code"] = self.decline_code
        if request_id:
            error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        return {"error": error}


def no_such(kind: str, object_id: str, param: str = "id") -> StripeApiError:
    """Stripe's 404 for an id it does not know."""
    return StripeApiError(
        f"No such {kind}: '{object_id}'", status=404, param=param, code="resource_missing"
    )


def unknown_parameter(param: str) -> StripeApiError:
    return StripeApiError(
        f"Received unknown parameter: {param}", param=param, code="parameter_unknown"
    )


def missing_parameter(param: str) -> StripeApiError:
    return StripeApiError(
        f"Missing required param: {param}.", param=param, code="parameter_missing"
    )


def invalid_parameter(param: str, message: str) -> StripeApiError:
    return StripeApiError(message, param=param, code="parameter_invalid_string")

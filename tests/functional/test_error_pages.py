"""Error pages: a status without words of its own is said as its class is (4xx as a bad
request, 5xx as our failure), never a server's failure as the reader's mistake."""

from __future__ import annotations

import pytest
from flask import Flask

from perks.error_pages import render_error


@pytest.mark.parametrize(
    ("status", "title", "message"),
    [
        (502, "Something went wrong", "something went wrong on our side"),
        (503, "Something went wrong", "something went wrong on our side"),
        (416, "Bad request", "Check what you entered"),
    ],
)
def test_a_status_without_words_of_its_own_is_said_as_its_class(
    app: Flask, status: int, title: str, message: str
) -> None:
    with app.test_request_context(headers={"Accept-Language": "en"}):
        page, answered = render_error(status)

    assert answered == status
    assert f"<title>{title}" in str(page)
    assert message in str(page)

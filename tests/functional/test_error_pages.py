"""Error pages: a status without words of its own is said as its class is (4xx as a bad
request, 5xx as our failure), never a server's failure as the reader's mistake."""

from __future__ import annotations

import pytest
from flask import Flask

from perks.error_pages import render_error
from perks.people.models import Role
from tests.helpers import login, text_of


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


def test_a_text_too_large_to_send_is_not_called_a_file(app: Flask, client, login_as) -> None:
    """A form field over the form size limit was refused as 'File too large' with 'The file
    is too large.' when no file had been sent."""
    login(client, login_as(Role.EMPLOYEE))
    too_long = "x" * (app.config["MAX_FORM_MEMORY_SIZE"] + 1)
    response = client.post(
        "/feedback/new",
        data={"subject": "Long", "text": too_long},
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    )

    assert response.status_code == 413
    page = text_of(response)
    assert "Too large to send" in page
    assert "send less text at once" in page
    assert "The file is too large." not in page


@pytest.mark.parametrize(
    "path", ["/shop/p/tour-da-ngung-ban", "/shop/orders/khong-co", "/shop/c/nope", "/shop/khong-co"]
)
def test_a_customer_who_meets_an_error_on_the_storefront_is_led_back_to_it(
    app: Flask, client, path: str
) -> None:
    """A customer following an old link (a product taken off sale, a mistyped order link) got
    the staff's error page: the staff's slogan, and its only way back, "Back to the home
    page", and the company's name in the menu, led to the staff sign-in page."""
    response = client.get(path, headers={"Accept-Language": "vi"})

    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert 'href="/shop/"' in html
    assert 'href="/"' not in html
    assert "Perks for the people who make the company" not in text_of(response)
    assert "Phúc lợi dành cho những người làm nên công ty" not in text_of(response)


def test_a_missing_staff_page_still_leads_to_the_home_page(app: Flask, client) -> None:
    response = client.get("/perks/999999/khong-co", headers={"Accept-Language": "en"})

    assert response.status_code == 404
    assert 'href="/"' in response.get_data(as_text=True)
    assert "Back to the home page" in text_of(response)

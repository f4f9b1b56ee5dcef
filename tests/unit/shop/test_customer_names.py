"""The customer's given name, as their confirmation e-mail greets them and the counter and
the referring employee see them: a Vietnamese name gives it last whatever language the
customer reads the shop in, a name written given name first gives it first."""

from __future__ import annotations

import pytest

from perks.shop.models import Order


@pytest.mark.parametrize(
    ("name", "locale", "given"),
    [
        ("Nguyễn Văn An", "vi", "An"),
        # a Vietnamese customer, or a member of staff, who reads the shop in English
        ("Lê Thị Hoa", "en", "Hoa"),
        ("Huỳnh Ngọc Trâm", "en", "Trâm"),
        ("Tran Minh Duc", "en", "Duc"),  # typed without accents
        ("ĐẶNG THU HÀ", "en", "HÀ"),
        # a name written given name first, in either language
        ("Linh Nguyen", "vi", "Linh"),
        ("Lucas Martin", "en", "Lucas"),
        ("Mai Nguyễn", "en", "Mai"),
        # a single word, or a name the rule cannot tell: by the language, as before
        ("Hoa", "en", "Hoa"),
        ("Sophie Dubois", "vi", "Dubois"),
        ("", "en", ""),
    ],
)
def test_the_given_name_of_a_customer(name: str, locale: str, given: str) -> None:
    assert Order(customer_name=name, locale=locale).customer_first_name == given

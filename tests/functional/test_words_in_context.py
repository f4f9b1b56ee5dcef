"""A word that means two things on two pages carries a message context, so that each page
says it as a Vietnamese finance team would: a withholding "Rate" is a tax rate (thuế suất),
not the percentage of a commission rule; a group's "Rules" are commission rules (quy tắc),
not the perks' rules of use (quy định)."""

from __future__ import annotations

import re

from perks.commissions import groups
from perks.people.models import Role
from tests import factories
from tests.helpers import login


def _headers(html: str, testid: str) -> list[str]:
    table = html[html.index(f'data-testid="{testid}"') :]
    return re.findall(r"<th[^>]*>([^<]+)</th>", table[: table.index("</thead>")])


def test_the_withholding_rates_page_calls_a_rate_a_tax_rate(client):
    login(client, factories.UserFactory(roles={Role.FINANCE}, locale="vi"))

    html = client.get("/finance/tax/rates").get_data(as_text=True)

    assert "Thuế suất" in _headers(html, "withholding-rates"), _headers(html, "withholding-rates")
    assert "Tỷ lệ" not in _headers(html, "withholding-rates")
    assert "Thuế suất (%)" in html  # the form to add a rate


def test_the_commission_groups_count_their_commission_rules(client):
    finance = factories.UserFactory(roles={Role.FINANCE}, locale="vi")
    groups.create_group("Kinh doanh miền Nam", "", actor=finance)
    login(client, finance)

    html = client.get("/finance/commission-groups").get_data(as_text=True)

    assert _headers(html, "groups")[-1] == "Quy tắc"
    assert 'data-label="Quy tắc"' in html

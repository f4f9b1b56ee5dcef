"""The navigation bar: a person's own pages, then one menu per kind of work their roles allow."""

from __future__ import annotations

import re

import pytest

from perks.people.models import Role


def _menus(html: str) -> list[str]:
    return re.findall(r'data-testid="nav-menu">([^<]+)</a>', html)


#: a person with any work has their own pages in three menus, so the bar fits on one line
MINE = ["Perks", "Recognition", "Referrals", "Feedback"]

#: the recognition menu's pages, in order: every person has it
RECOGNITION = ["/wall", "/kudos/new", "/points", "/rewards", "/awards", "/occasions"]


def test_an_employee_sees_only_their_own_pages(client, login_as):
    login_as(Role.EMPLOYEE)
    html = client.get("/").get_data(as_text=True)
    assert _menus(html) == ["Recognition", "Referrals", "Feedback"]  # the perks' pages are links
    for href in ("/perks", "/my-perks", "/rules", "/links", "/stats/links", "/earnings"):
        assert f'href="{href}"' in html, href
    assert 'href="/manage/products"' not in html


@pytest.mark.parametrize(
    ("roles", "menus", "links", "hidden"),
    [
        # a few work pages are plain links
        ({Role.REDEEMER}, MINE, ["/redeem", "/redeem-order"], ["/manage/products"]),
        # more are menus, and a menu of one page is that page's link
        (
            {Role.HR},
            [*MINE, "HR"],
            ["/people/", "/settings/brand", "/manage/products"],
            ["/manage/orders", "/finance/"],
        ),
        (
            {Role.HR, Role.REDEEMER},
            [*MINE, "Counter", "HR"],
            ["/redeem-order", "/people/", "/manage/products"],
            ["/manage/orders"],
        ),
        (
            {Role.FINANCE},
            [*MINE, "Shop", "Finance"],
            ["/manage/orders", "/finance/payouts", "/finance/reports", "/finance/fraud"],
            ["/people/", "/redeem-order", "/admin/audit"],
        ),
        (
            {Role.ADMIN},
            [*MINE, "Counter", "HR", "Shop", "Finance", "Administration"],
            ["/admin/audit", "/finance/payouts", "/people/"],
            [],
        ),
    ],
)
def test_each_kind_of_work_is_one_menu(client, login_as, roles, menus, links, hidden):
    login_as(*roles)
    html = client.get("/").get_data(as_text=True)
    assert _menus(html) == menus
    for href in links:
        assert f'href="{href}' in html, href
    for href in hidden:
        assert f'href="{href}' not in html, href


@pytest.mark.parametrize("role", list(Role))
def test_every_person_has_the_recognition_menu(client, login_as, role):
    login_as(role)
    html = client.get("/").get_data(as_text=True)
    menu = re.search(
        r'data-testid="nav-menu">Recognition</a>\s*<ul class="dropdown-menu">(.*?)</ul>', html, re.S
    )
    assert menu is not None
    assert re.findall(r'href="([^"]+)"', menu.group(1)) == RECOGNITION


def test_the_recognition_menu_is_marked_on_the_wall(client, login_as):
    login_as(Role.EMPLOYEE)
    html = client.get("/wall").get_data(as_text=True)
    assert re.search(r'dropdown-toggle[^"]* active"[^>]*data-testid="nav-menu">Recognition<', html)
    assert re.search(r'aria-current="page"\s+href="/wall"', html)


def test_the_menu_of_the_current_page_is_marked(client, login_as):
    login_as(Role.FINANCE)
    html = client.get("/finance/payouts").get_data(as_text=True)
    assert re.search(r'dropdown-toggle[^"]* active"[^>]*data-testid="nav-menu">Finance<', html)
    assert re.search(r'aria-current="page"\s+href="/finance/payouts"', html)


def test_the_perks_pages_are_called_phuc_loi_in_vietnamese(client, login_as):
    login_as(Role.EMPLOYEE, locale="vi")
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'href="/perks"[^>]*>\s*Phúc lợi\s*<', html)
    catalog = client.get("/perks").get_data(as_text=True)
    assert re.search(r"<h1[^>]*>Phúc lợi</h1>", catalog)
    assert "<title>Phúc lợi" in catalog

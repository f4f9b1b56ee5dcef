"""The language switcher in the page's header: pressed on any page, it shows that page again
in the other language, never an error page."""

from __future__ import annotations

import re

from perks.catalog import claims
from tests import factories
from tests.helpers import login, text_of


def switcher_next(response) -> str:  # type: ignore[no-untyped-def]
    """The page the switcher's form sends the browser back to."""
    match = re.search(r'name="next" value="([^"]*)"', response.get_data(as_text=True))
    assert match is not None
    return match.group(1).replace("&amp;", "&")


def test_switching_language_on_a_refused_claim_goes_back_to_the_perk_not_to_an_error(client):
    """A claim refused (sold out) is answered on the perk's page at the claim's address,
    which only takes a POST: the switcher sent the browser there again with a GET, and the
    person got "Method Not Allowed" instead of the perk in their language."""
    person = factories.UserFactory(locale="vi")
    perk = factories.PerkFactory(total_stock=1)
    claims.claim_perk(perk.id, factories.UserFactory())
    login(client, person)
    refused = client.post(
        f"/perks/{perk.id}/claim",
        headers={"Referer": f"http://localhost/perks/{perk.id}"},
    )
    assert refused.status_code == 409
    back = client.post(
        "/language",
        data={"locale": "en", "next": switcher_next(refused)},
        headers={"Referer": f"http://localhost/perks/{perk.id}/claim"},
    )
    assert back.status_code == 302
    shown = client.get(back.headers["Location"])
    assert shown.status_code == 200
    assert perk.title_en in text_of(shown)


def test_a_next_page_that_only_takes_posts_falls_back_to_home(client):
    """Whatever ``next`` the switcher is sent (an old page, a form's address), the browser
    lands on a page that answers."""
    person = factories.UserFactory()
    login(client, person)
    back = client.post("/language", data={"locale": "en", "next": "/perks/1/claim"})
    assert back.status_code == 302
    assert back.headers["Location"] == "/"


def test_the_switcher_never_sends_the_browser_to_another_site(client):
    """``next`` is a field anyone can fill (a form on another site posting to /language, which
    takes no sign-in): only a path of this site is followed. With the path check removed, a
    page address on another host (``//evil.example/perks``) matched this site's routes and
    was followed, and every test passed."""
    for target in (
        "//evil.example/perks",
        "https://evil.example/perks",
        "/\\evil.example/perks",
        "http:/perks",
    ):
        back = client.post("/language", data={"locale": "en", "next": target})
        assert back.status_code == 302
        assert back.headers["Location"] == "/", target

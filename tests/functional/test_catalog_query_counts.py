"""The employee catalog pages run as many SQL statements with 200 perks as with 10
(PERFORMANCE.md, P4): no query per perk, claim or entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from perks.catalog import claims, draws
from perks.catalog.models import CodeMode, LimitPeriod, PerkCategory
from perks.extensions import db
from perks.people.models import Role, User
from tests import factories
from tests.helpers import clean_database, counting_statements, login, make_draw

CATEGORIES = list(PerkCategory)


def seed_catalog(perks: int, claims_each: int) -> tuple[User, dict[str, int]]:
    """``perks`` published perks of every kind, the viewer's and colleagues' claims of them,
    and draws with entries: everything in proportion to ``perks``."""
    sales = factories.DepartmentFactory(name="Sales")
    support = factories.DepartmentFactory(name="Support")
    viewer = factories.UserFactory(roles={Role.EMPLOYEE, Role.REDEEMER}, department=sales)
    colleagues = [factories.UserFactory(department=support) for _ in range(claims_each)]
    created = []
    for n in range(perks):
        kind = n % 5
        fields: dict[str, object] = {
            "category": CATEGORIES[n % len(CATEGORIES)],
            "departments": [sales, support] if n % 3 == 0 else [],
            "per_person_limit": None if n % 2 else 3,
            "limit_period": LimitPeriod.YEAR if n % 4 else LimitPeriod.MONTH,
        }
        if kind == 0:
            perk = factories.PerkFactory(
                code_mode=CodeMode.POOL,
                codes=[f"C{n}-{i}" for i in range(claims_each + 3)],
                **fields,
            )
        elif kind == 1:
            perk = factories.PerkFactory(
                code_mode=CodeMode.SHARED, shared_code="STAFF", total_stock=1000, **fields
            )
        elif kind == 2:
            perk = factories.PerkFactory(total_stock=0, **fields)  # sold out
        else:
            perk = factories.PerkFactory(**fields)
        created.append(perk)
    # The viewer and colleagues claim; a claim per colleague on each claimable perk.
    my_claims = []
    for perk in created:
        if perk.total_stock == 0:
            continue
        my_claims.append(claims.claim_perk(perk.id, viewer))
        for colleague in colleagues:
            if not perk.departments:
                claims.claim_perk(perk.id, colleague)
    claims.mark_claim_used(my_claims[0].id, viewer)
    # Draws: one made with everyone in it, one open that the viewer entered, in proportion.
    made = factories.DrawFactory(perk__departments=[], recent_winner_draws=1, show_names=True)
    for person in [viewer, *colleagues]:
        draws.enter_draw(made.perk.id, person)
    make_draw(made.id, datetime.now(UTC) + timedelta(days=8))
    for _ in range(max(1, perks // 10)):
        open_draw = factories.DrawFactory()
        draws.enter_draw(open_draw.perk.id, viewer)
    return viewer, {
        "perk": created[3].id,
        "pool_perk": created[0].id,
        "draw_perk": open_draw.perk.id,
        "draw": made.id,
        "claim": my_claims[1].id,
        "reference": my_claims[1].reference,
    }


PAGES = {
    "catalog": lambda s: "/perks",
    "catalog searched": lambda s: "/perks?q=perk&category=other&claimable=y",
    "perk": lambda s: f"/perks/{s['perk']}",
    "pool perk": lambda s: f"/perks/{s['pool_perk']}",
    "draw perk": lambda s: f"/perks/{s['draw_perk']}",
    "my perks": lambda s: "/my-perks",
    "my claim": lambda s: f"/my-perks/{s['claim']}",
    "rules": lambda s: "/rules",
    "draw": lambda s: f"/draws/{s['draw']}",
    "redeem": lambda s: f"/redeem?code={s['reference']}",
}


def statements_per_page(client, perks: int, claims_each: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    viewer, samples = seed_catalog(perks, claims_each)
    login(client, viewer)
    counts = {}
    for name, url in PAGES.items():
        with counting_statements() as statements:
            response = client.get(url(samples))
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = len(statements)
    client.post("/logout")
    return counts


def test_statements_per_catalog_page_do_not_grow_with_the_data(client):
    small = statements_per_page(client, perks=10, claims_each=1)
    db.session.remove()
    clean_database()
    large = statements_per_page(client, perks=200, claims_each=10)

    assert large == small
    # and the numbers stay modest: the catalog is a handful of statements
    assert small["catalog"] <= 10, small

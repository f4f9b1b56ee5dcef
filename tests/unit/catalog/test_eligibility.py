"""Who may claim a perk, and the reason given when they may not, in English and Vietnamese.

Every rule is checked on its boundary day, and every reason in both languages: the English
sentence literally, the Vietnamese one as the catalog translates it (and different from the
English, which proves the catalog has it).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale, gettext, ngettext

from perks.catalog import eligibility
from perks.catalog.claims import claim_perk, claims_in_period
from perks.catalog.draws import decline_seat, enter_draw, open_draw
from perks.catalog.eligibility import (
    audience_reasons,
    eligible_from,
    limit_reason,
    next_period_start,
    period_key,
    window_reasons,
)
from perks.catalog.models import (
    Allocation,
    ClaimStatus,
    DrawEntry,
    EntryOutcome,
    LimitPeriod,
    PerkKind,
    PerkStatus,
)
from perks.db import utcnow
from perks.errors import LimitReached, NotEligible, SoldOut
from perks.extensions import db
from perks.i18n import company_today
from perks.i18n import format_day as format_date
from perks.people.models import EmploymentType
from tests.factories import DepartmentFactory, PerkFactory, UserFactory
from tests.helpers import make_draw

HIRED = date(2024, 1, 15)


@pytest.fixture(autouse=True)
def _in_english(app: Flask, _app_context: None):  # type: ignore[no-untyped-def]
    """Errors raised outside the bilingual checks are read in English."""
    with force_locale("en"):
        yield


def said_in(app: Flask, locale: str, produce: Callable[[], Any]) -> Any:
    """What ``produce()`` says in a request served in ``locale``."""
    with app.test_request_context(), force_locale(locale):
        return produce()


def assert_says(
    app: Flask,
    produce: Callable[[], str],
    english: str,
    msgid: str,
    *,
    plural: str | None = None,
    **params: Any,
) -> None:
    """``produce()`` says ``english`` in English and the catalog's ``msgid`` in Vietnamese
    (with ``plural``: the plural entry, for the number ``days``).

    A callable parameter (a date, a label) is evaluated in Vietnamese for the expected text.
    """
    assert said_in(app, "en", produce) == english
    vietnamese = said_in(app, "vi", produce)

    def translated() -> str:
        values = {k: v() if callable(v) else v for k, v in params.items()}
        if plural is not None:
            return ngettext(msgid, plural, values["days"], **values)
        return gettext(msgid, **values)

    assert vietnamese == said_in(app, "vi", translated)
    assert vietnamese != english, "the Vietnamese catalog does not translate this message"


def audience_message(perk, user, today: date, code: str) -> Callable[[], str]:  # type: ignore[no-untyped-def]
    def produce() -> str:
        reasons = {r.code: r.message for r in audience_reasons(perk, user, today)}
        return reasons[code]

    return produce


def window_message(perk, today: date) -> Callable[[], str]:  # type: ignore[no-untyped-def]
    def produce() -> str:
        [reason] = window_reasons(perk, today)
        return reason.message

    return produce


def codes(reasons: list[eligibility.Reason]) -> list[str]:
    return [reason.code for reason in reasons]


# --- who the person is ----------------------------------------------------------------------


def test_a_department_perk_is_only_for_people_in_that_department(app):
    sales = DepartmentFactory(name="Sales")
    perk = PerkFactory(departments=[sales])
    seller = UserFactory(department=sales)
    engineer = UserFactory(department=DepartmentFactory(name="Engineering"))
    nobody = UserFactory(department=None)
    today = date(2026, 5, 4)

    assert audience_reasons(perk, seller, today) == []
    assert codes(audience_reasons(perk, engineer, today)) == ["department"]
    assert codes(audience_reasons(perk, nobody, today)) == ["department"]
    assert_says(
        app,
        audience_message(perk, engineer, today, "department"),
        "Only for Sales.",
        "Only for %(departments)s.",
        departments="Sales",
    )


def test_a_perk_for_several_departments_names_them_all(app):
    sales, support = DepartmentFactory(name="Sales"), DepartmentFactory(name="Support")
    perk = PerkFactory(departments=[support, sales])
    engineer = UserFactory(department=DepartmentFactory(name="Engineering"))
    assert audience_reasons(perk, UserFactory(department=support), date(2026, 5, 4)) == []
    produce = audience_message(perk, engineer, date(2026, 5, 4), "department")
    assert said_in(app, "en", produce) == "Only for Sales, Support."


def test_a_location_perk_is_only_for_people_in_those_places(app):
    perk = PerkFactory(locations=["Đà Nẵng", "Huế"])
    today = date(2026, 5, 4)
    assert audience_reasons(perk, UserFactory(location="Huế"), today) == []
    in_hanoi = UserFactory(location="Hà Nội")
    assert codes(audience_reasons(perk, in_hanoi, today)) == ["location"]
    assert_says(
        app,
        audience_message(perk, in_hanoi, today, "location"),
        "Only for people in Đà Nẵng, Huế.",
        "Only for people in %(places)s.",
        places="Đà Nẵng, Huế",
    )


def test_an_employment_type_perk_is_only_for_those_contracts(app):
    perk = PerkFactory(employment_types=["contractor"])
    today = date(2026, 5, 4)
    contractor = UserFactory(employment_type=EmploymentType.CONTRACTOR)
    staff = UserFactory(employment_type=EmploymentType.STAFF)
    assert audience_reasons(perk, contractor, today) == []
    assert codes(audience_reasons(perk, staff, today)) == ["employment_type"]
    assert_says(
        app,
        audience_message(perk, staff, today, "employment_type"),
        "Only for: Contractor.",
        "Only for: %(kinds)s.",
        kinds=lambda: EmploymentType.CONTRACTOR.label,
    )


def test_minimum_tenure_counts_from_the_hire_date_and_is_met_exactly_on_the_day(app):
    perk = PerkFactory(min_tenure_days=90)
    person = UserFactory(hire_date=HIRED)
    first_day = HIRED + timedelta(days=90)
    assert first_day == date(2024, 4, 14)
    assert eligible_from(perk, person) == first_day

    assert audience_reasons(perk, person, first_day) == []
    assert audience_reasons(perk, person, first_day + timedelta(days=365)) == []
    day_before = first_day - timedelta(days=1)
    assert codes(audience_reasons(perk, person, day_before)) == ["tenure"]
    assert_says(
        app,
        audience_message(perk, person, day_before, "tenure"),
        "After 90 days with the company: from 14 Apr 2024.",
        "After %(days)s day with the company: from %(date)s.",
        plural="After %(days)s days with the company: from %(date)s.",
        days=90,
        date=lambda: format_date(first_day),
    )


def test_a_tenure_rule_of_one_day_says_day_not_days(app):
    perk = PerkFactory(min_tenure_days=1)
    person = UserFactory(hire_date=HIRED)
    assert_says(
        app,
        audience_message(perk, person, HIRED, "tenure"),
        f"After 1 day with the company: from {format_date(HIRED + timedelta(days=1))}.",
        "After %(days)s day with the company: from %(date)s.",
        plural="After %(days)s days with the company: from %(date)s.",
        days=1,
        date=lambda: format_date(HIRED + timedelta(days=1)),
    )


def test_a_person_without_a_hire_date_cannot_meet_a_tenure_rule_and_is_told_to_ask_hr(app):
    # the rule alone ('After 30 days with the company.') said nothing they could act on
    perk = PerkFactory(min_tenure_days=30)
    newcomer = UserFactory(hire_date=None)
    assert eligible_from(perk, newcomer) is None
    assert codes(audience_reasons(perk, newcomer, date(2030, 1, 1))) == ["tenure"]
    assert_says(
        app,
        audience_message(perk, newcomer, date(2030, 1, 1), "tenure"),
        "After 30 days with the company; your first day is not recorded, ask HR.",
        "After %(days)s day with the company; your first day is not recorded, ask HR.",
        plural="After %(days)s days with the company; your first day is not recorded, ask HR.",
        days=30,
    )


def test_without_a_tenure_rule_a_missing_hire_date_does_not_matter():
    perk = PerkFactory(min_tenure_days=0)
    assert audience_reasons(perk, UserFactory(hire_date=None), date(2026, 5, 4)) == []


def test_every_unmet_rule_is_given_not_only_the_first():
    sales = DepartmentFactory(name="Sales")
    perk = PerkFactory(
        departments=[sales],
        locations=["Huế"],
        employment_types=["staff"],
        min_tenure_days=10,
    )
    outsider = UserFactory(
        department=None, location="Hà Nội", employment_type=EmploymentType.SUPPLIER, hire_date=None
    )
    reasons = audience_reasons(perk, outsider, date(2026, 5, 4))
    assert codes(reasons) == ["department", "location", "employment_type", "tenure"]


def test_from_their_leaving_date_a_person_claims_nothing_though_still_active():
    """The daily task deactivates a leaver some time after midnight (and never the last
    administrator): from their leaving day they are no longer with the company."""
    perk = PerkFactory()
    leaver = UserFactory(leaving_date=date(2026, 5, 4))
    assert audience_reasons(perk, leaver, date(2026, 5, 3)) == []
    assert codes(audience_reasons(perk, leaver, date(2026, 5, 4))) == ["inactive"]
    with pytest.raises(NotEligible) as refused:
        claim_perk(perk.id, leaver, today=date(2026, 5, 4))
    assert refused.value.details["reasons"] == ["inactive"]
    assert claims_in_period(perk, leaver.id, "ever") == 0


def test_before_their_first_day_a_person_claims_nothing_even_without_a_tenure_rule(app):
    """Someone imported ahead of their start is not with the company yet: a perk open to
    everyone waits for their hire date, as gift programmes and surveys do."""
    perk = PerkFactory(min_tenure_days=0)
    first_day = date(2026, 6, 1)
    starter = UserFactory(hire_date=first_day)
    assert codes(audience_reasons(perk, starter, date(2026, 5, 31))) == ["not_joined"]
    assert audience_reasons(perk, starter, first_day) == []
    assert_says(
        app,
        audience_message(perk, starter, date(2026, 5, 31), "not_joined"),
        f"Not with the company yet: from {said_in(app, 'en', lambda: format_date(first_day))}.",
        "Not with the company yet: from %(date)s.",
        date=lambda: format_date(first_day),
    )
    with pytest.raises(NotEligible) as refused:
        claim_perk(perk.id, starter, today=date(2026, 5, 31))
    assert refused.value.details["reasons"] == ["not_joined"]
    assert claim_perk(perk.id, starter, today=date(2026, 6, 1)).status is ClaimStatus.CLAIMED


# --- the perk itself ------------------------------------------------------------------------


def test_a_perk_opens_on_its_first_day(app):
    perk = PerkFactory(starts_on=date(2026, 3, 1))
    assert window_reasons(perk, date(2026, 3, 1)) == []
    assert codes(window_reasons(perk, date(2026, 2, 28))) == ["not_started"]
    assert_says(
        app,
        window_message(perk, date(2026, 2, 28)),
        "Opens on 1 Mar 2026.",
        "Opens on %(date)s.",
        date=lambda: format_date(date(2026, 3, 1)),
    )


def test_a_perk_can_be_claimed_on_its_last_day_and_not_after(app):
    perk = PerkFactory(starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 31))
    assert window_reasons(perk, date(2026, 3, 31)) == []
    assert codes(window_reasons(perk, date(2026, 4, 1))) == ["ended"]
    assert_says(
        app,
        window_message(perk, date(2026, 4, 1)),
        "Ended on 31 Mar 2026.",
        "Ended on %(date)s.",
        date=lambda: format_date(date(2026, 3, 31)),
    )


@pytest.mark.parametrize("status", [PerkStatus.DRAFT, PerkStatus.ARCHIVED])
def test_a_perk_that_is_not_published_cannot_be_claimed(app, status):
    perk = PerkFactory(status=status)
    assert codes(window_reasons(perk, date(2026, 5, 4))) == ["not_published"]
    assert_says(
        app,
        window_message(perk, date(2026, 5, 4)),
        "This perk is not available.",
        "This perk is not available.",
    )


def test_a_gift_is_given_not_claimed(app):
    perk = PerkFactory(kind=PerkKind.GIFT)
    assert codes(window_reasons(perk, date(2026, 5, 4))) == ["gift"]
    assert_says(
        app,
        window_message(perk, date(2026, 5, 4)),
        "Gifts are given, not claimed.",
        "Gifts are given, not claimed.",
    )


def test_sold_out_is_a_reason_only_when_nothing_is_left(app):
    perk = PerkFactory(total_stock=3)
    assert eligibility.stock_reason(perk, None) is None
    assert eligibility.stock_reason(perk, 1) is None
    assert eligibility.stock_reason(perk, 0).code == "sold_out"
    assert_says(app, lambda: eligibility.stock_reason(perk, 0).message, "Sold out.", "Sold out.")


# --- limit periods --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "day", "key", "next_start"),
    [
        (LimitPeriod.EVER, date(2026, 12, 31), "ever", None),
        (LimitPeriod.EVER, date(2027, 1, 1), "ever", None),
        (LimitPeriod.YEAR, date(2026, 1, 1), "2026", date(2027, 1, 1)),
        (LimitPeriod.YEAR, date(2026, 12, 31), "2026", date(2027, 1, 1)),
        (LimitPeriod.YEAR, date(2027, 1, 1), "2027", date(2028, 1, 1)),
        (LimitPeriod.YEAR, date(2028, 2, 29), "2028", date(2029, 1, 1)),
        (LimitPeriod.MONTH, date(2026, 11, 30), "2026-11", date(2026, 12, 1)),
        (LimitPeriod.MONTH, date(2026, 12, 1), "2026-12", date(2027, 1, 1)),
        (LimitPeriod.MONTH, date(2026, 12, 31), "2026-12", date(2027, 1, 1)),
        (LimitPeriod.MONTH, date(2027, 1, 1), "2027-01", date(2027, 2, 1)),
        (LimitPeriod.MONTH, date(2027, 1, 31), "2027-01", date(2027, 2, 1)),
        (LimitPeriod.MONTH, date(2027, 2, 1), "2027-02", date(2027, 3, 1)),
        (LimitPeriod.MONTH, date(2027, 2, 28), "2027-02", date(2027, 3, 1)),
        (LimitPeriod.MONTH, date(2028, 2, 28), "2028-02", date(2028, 3, 1)),
        (LimitPeriod.MONTH, date(2028, 2, 29), "2028-02", date(2028, 3, 1)),
        (LimitPeriod.MONTH, date(2028, 3, 1), "2028-03", date(2028, 4, 1)),
    ],
)
def test_period_key_and_the_start_of_the_next_period(period, day, key, next_start):
    assert period_key(period, day) == key
    assert next_period_start(period, day) == next_start


def test_under_the_limit_there_is_no_reason():
    perk = PerkFactory(per_person_limit=2, limit_period=LimitPeriod.MONTH)
    assert limit_reason(perk, 0, date(2026, 11, 30)) is None
    assert limit_reason(perk, 1, date(2026, 11, 30)) is None
    assert limit_reason(perk, 2, date(2026, 11, 30)).code == "limit"


def test_no_limit_per_person_never_stops_anyone():
    perk = PerkFactory(per_person_limit=None)
    assert limit_reason(perk, 1000, date(2026, 11, 30)) is None


@pytest.mark.parametrize(
    ("period", "today", "next_start", "english_date"),
    [
        (LimitPeriod.MONTH, date(2026, 11, 30), date(2026, 12, 1), "1 December 2026"),
        (LimitPeriod.MONTH, date(2026, 12, 31), date(2027, 1, 1), "1 January 2027"),
        (LimitPeriod.MONTH, date(2027, 1, 31), date(2027, 2, 1), "1 February 2027"),
        (LimitPeriod.MONTH, date(2028, 2, 29), date(2028, 3, 1), "1 March 2028"),
        (LimitPeriod.YEAR, date(2026, 12, 31), date(2027, 1, 1), "1 January 2027"),
        (LimitPeriod.YEAR, date(2026, 1, 1), date(2027, 1, 1), "1 January 2027"),
    ],
)
def test_limit_reached_says_when_the_next_claim_is_possible(
    app, period, today, next_start, english_date
):
    perk = PerkFactory(per_person_limit=1, limit_period=period)
    assert_says(
        app,
        lambda: limit_reason(perk, 1, today).message,
        f"Limit reached: next claim from {english_date}.",
        "Limit reached: next claim from %(date)s.",
        date=lambda: format_date(next_start, "long"),
    )


def reached_again(perk) -> str:  # type: ignore[no-untyped-def]
    return limit_reason(perk, 1, date(2026, 5, 4)).message


def test_a_once_ever_limit_names_no_next_date(app):
    perk = PerkFactory(per_person_limit=1, limit_period=LimitPeriod.EVER)
    reached = limit_reason(perk, 1, date(2026, 5, 4))
    assert reached.code == "limit"
    assert_says(app, lambda: reached_again(perk), "Limit reached.", "Limit reached.")


def test_no_next_date_is_promised_after_the_perk_ends(app):
    perk = PerkFactory(limit_period=LimitPeriod.MONTH, ends_on=date(2026, 11, 30))
    assert limit_reason(perk, 1, date(2026, 11, 15)).message == "Limit reached."
    on_last_month = PerkFactory(limit_period=LimitPeriod.MONTH, ends_on=date(2026, 12, 1))
    assert "1 December 2026" in limit_reason(on_last_month, 1, date(2026, 11, 15)).message


# --- the claim service applies the same rules, whatever a page showed ------------------------


def test_claiming_a_perk_one_is_not_eligible_for_is_refused_with_every_reason():
    perk = PerkFactory(departments=[DepartmentFactory(name="Sales")], min_tenure_days=90)
    newcomer = UserFactory(department=None, hire_date=date(2026, 5, 1))
    with pytest.raises(NotEligible) as refused:
        claim_perk(perk.id, newcomer, today=date(2026, 5, 4))
    assert refused.value.message == "Only for Sales."
    assert refused.value.details["reasons"] == ["department", "tenure"]
    assert claims_in_period(perk, newcomer.id, "ever") == 0


def test_claiming_before_the_tenure_day_is_refused_and_on_it_accepted():
    perk = PerkFactory(min_tenure_days=90)
    person = UserFactory(hire_date=HIRED)
    with pytest.raises(NotEligible, match="14 Apr 2024"):
        claim_perk(perk.id, person, today=date(2024, 4, 13))
    claim = claim_perk(perk.id, person, today=date(2024, 4, 14))
    assert claim.status is ClaimStatus.CLAIMED


def test_claiming_outside_the_window_is_refused():
    perk = PerkFactory(starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 31))
    person = UserFactory()
    with pytest.raises(NotEligible) as early:
        claim_perk(perk.id, person, today=date(2026, 2, 28))
    assert early.value.details["reasons"] == ["not_started"]
    with pytest.raises(NotEligible) as late:
        claim_perk(perk.id, person, today=date(2026, 4, 1))
    assert late.value.details["reasons"] == ["ended"]
    assert claim_perk(perk.id, person, today=date(2026, 3, 31)).expires_on == date(2026, 3, 31)


def test_a_gift_cannot_be_claimed():
    perk = PerkFactory(kind=PerkKind.GIFT)
    with pytest.raises(NotEligible) as refused:
        claim_perk(perk.id, UserFactory(), today=date(2026, 5, 4))
    assert refused.value.details["reasons"] == ["gift"]


def test_second_claim_of_a_once_ever_perk_is_refused():
    perk = PerkFactory(per_person_limit=1, limit_period=LimitPeriod.EVER)
    person = UserFactory()
    claim_perk(perk.id, person, today=date(2026, 5, 4))
    with pytest.raises(LimitReached, match=r"^Limit reached\.$"):
        claim_perk(perk.id, person, today=date(2028, 5, 4))


def test_second_claim_in_same_month_is_refused_and_allowed_on_the_first_of_next_month():
    perk = PerkFactory(per_person_limit=1, limit_period=LimitPeriod.MONTH)
    person = UserFactory()
    first = claim_perk(perk.id, person, today=date(2026, 11, 1))
    assert first.period_key == "2026-11"
    with pytest.raises(LimitReached) as refused:
        claim_perk(perk.id, person, today=date(2026, 11, 30))
    assert refused.value.message == "Limit reached: next claim from 1 December 2026."
    second = claim_perk(perk.id, person, today=date(2026, 12, 1))
    assert (second.period_key, second.slot) == ("2026-12", 1)


def test_a_yearly_limit_frees_up_on_the_first_of_january():
    perk = PerkFactory(per_person_limit=1, limit_period=LimitPeriod.YEAR)
    person = UserFactory()
    claim_perk(perk.id, person, today=date(2026, 1, 1))
    with pytest.raises(LimitReached, match="1 January 2027"):
        claim_perk(perk.id, person, today=date(2026, 12, 31))
    assert claim_perk(perk.id, person, today=date(2027, 1, 1)).period_key == "2027"


def test_a_limit_of_two_a_month_allows_two_claims_and_refuses_the_third():
    perk = PerkFactory(per_person_limit=2, limit_period=LimitPeriod.MONTH)
    person = UserFactory()
    slots = [claim_perk(perk.id, person, today=date(2027, 1, 31)).slot for _ in range(2)]
    assert slots == [1, 2]
    with pytest.raises(LimitReached, match="1 February 2027"):
        claim_perk(perk.id, person, today=date(2027, 1, 31))


def test_the_limit_is_per_person():
    perk = PerkFactory(per_person_limit=1)
    claim_perk(perk.id, UserFactory(), today=date(2026, 5, 4))
    claim_perk(perk.id, UserFactory(), today=date(2026, 5, 4))


def test_claiming_a_sold_out_perk_is_refused():
    perk = PerkFactory(total_stock=1)
    claim_perk(perk.id, UserFactory(), today=date(2026, 5, 4))
    with pytest.raises(SoldOut, match=r"^Sold out\.$"):
        claim_perk(perk.id, UserFactory(), today=date(2026, 5, 4))


def test_a_declined_draw_seat_no_longer_counts_against_the_limit():
    perk = PerkFactory(
        allocation=Allocation.DRAW, kind=PerkKind.EXPERIENCE, total_stock=1, per_person_limit=1
    )
    person = UserFactory()
    close = utcnow() + timedelta(hours=1)
    draw = open_draw(perk.id, entries_close_at=close, actor=person)
    entry = enter_draw(perk.id, person)
    make_draw(draw.id, close)
    assert db.session.get(DrawEntry, entry.id).outcome is EntryOutcome.WON
    key = period_key(perk.limit_period, company_today())
    assert claims_in_period(perk, person.id, key) == 1

    decline_seat(entry.id, person, now=close)
    assert claims_in_period(perk, person.id, key) == 0

    # The freed slot and seat let the same person win the next round of the same perk.
    close = utcnow() + timedelta(hours=1)
    next_round = open_draw(perk.id, entries_close_at=close, actor=person)
    assert next_round.seats == 1
    again = enter_draw(perk.id, person)
    make_draw(next_round.id, close)
    again = db.session.get(DrawEntry, again.id)
    assert again.outcome is EntryOutcome.WON
    assert claims_in_period(perk, person.id, key) == 1


def test_a_seat_declined_after_winning_a_later_round_frees_its_slot_for_the_next_round():
    perk = PerkFactory(
        allocation=Allocation.DRAW, kind=PerkKind.EXPERIENCE, total_stock=3, per_person_limit=2
    )
    person = UserFactory()
    rounds = []
    for _ in range(2):
        close = utcnow() + timedelta(hours=1)
        draw = open_draw(perk.id, entries_close_at=close, actor=person)
        entry = enter_draw(perk.id, person)
        make_draw(draw.id, close)
        rounds.append((db.session.get(DrawEntry, entry.id), close))
    assert [entry.outcome for entry, _close in rounds] == [EntryOutcome.WON] * 2

    # Giving back the first seat leaves one live claim (in the second slot) of the two allowed.
    first_entry, first_close = rounds[0]
    decline_seat(first_entry.id, person, now=first_close)
    key = period_key(perk.limit_period, company_today())
    assert claims_in_period(perk, person.id, key) == 1

    close = utcnow() + timedelta(hours=1)
    third = open_draw(perk.id, entries_close_at=close, actor=person)
    entry = enter_draw(perk.id, person)
    make_draw(third.id, close)
    assert db.session.get(DrawEntry, entry.id).outcome is EntryOutcome.WON
    assert claims_in_period(perk, person.id, key) == 2


def test_places_are_compared_as_people_read_them(app):
    """The directory spells a place as whoever typed it or imported it: in another case,
    with a space around it or in between, decomposed (as some keyboards send accents). The
    rule names the place once; everyone there is in it."""
    perk = PerkFactory(locations=["Hà Nội"])
    today = date(2026, 5, 4)
    decomposed = unicodedata.normalize("NFD", "Hà Nội")
    for spelling in ("Hà nội", "hà nội", "HÀ NỘI", "Hà Nội ", " Hà  Nội", decomposed):
        person = UserFactory(location=spelling)
        assert audience_reasons(perk, person, today) == [], repr(spelling)
    # accents still count: another place is another place
    assert codes(audience_reasons(perk, UserFactory(location="Hà Nam"), today)) == ["location"]

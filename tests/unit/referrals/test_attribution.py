"""Which link an order earns for: the cookie's window, a typed code against the cookie, paused
links, deactivated people, self-referral and staff purchases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perks.extensions import db
from perks.referrals.attribution import (
    AttributionReason,
    attribute_order,
    dump_referral_cookie,
    load_referral_cookie,
)
from tests.factories import ReferralLinkFactory, UserFactory

NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
CUSTOMER = "khach.hang@gmail.com"


def cookie(link, *, ago: timedelta = timedelta(hours=1), click_id: int | None = 7) -> str:
    return dump_referral_cookie(link.id, click_id, NOW - ago)


def attribute(cookie_value=None, typed=None, email=CUSTOMER, user=None, now=NOW):  # type: ignore[no-untyped-def]
    return attribute_order(cookie_value, typed, email, user, now)


# --- the cookie and its window ---------------------------------------------------------------


def test_a_fresh_cookie_attributes_the_order_to_its_link(app):
    link = ReferralLinkFactory()
    result = attribute(cookie(link, click_id=41))
    assert result.link == link
    assert result.reason is AttributionReason.COOKIE
    assert result.click_id == 41
    assert not result.flagged


@pytest.mark.parametrize(
    ("age", "attributed"),
    [
        (timedelta(days=29, hours=23), True),
        (timedelta(days=30), True),
        (timedelta(days=30, seconds=1), False),
        (timedelta(days=45), False),
    ],
    ids=["29d23h", "exactly-30d", "30d+1s", "45d"],
)
def test_the_cookie_counts_for_30_days_after_its_click(app, age, attributed):
    link = ReferralLinkFactory()
    result = attribute(cookie(link, ago=age))
    if attributed:
        assert (result.link, result.reason) == (link, AttributionReason.COOKIE)
    else:
        assert (result.link, result.reason) == (None, AttributionReason.EXPIRED)


def test_the_window_follows_the_setting(app):
    link = ReferralLinkFactory()
    app.config["ATTRIBUTION_WINDOW_DAYS"] = 7
    try:
        assert attribute(cookie(link, ago=timedelta(days=7))).link == link
        assert attribute(cookie(link, ago=timedelta(days=7, seconds=1))).link is None
    finally:
        app.config["ATTRIBUTION_WINDOW_DAYS"] = 30


def test_the_last_click_wins(app):
    """Each click writes the cookie again: the order goes to the link in the newest one."""
    first, last = ReferralLinkFactory(), ReferralLinkFactory()
    jar = cookie(first, ago=timedelta(days=3))
    jar = cookie(last, ago=timedelta(hours=2))  # the second click replaced the cookie
    assert attribute(jar).link == last


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "not-a-cookie",
        "WzEsbnVsbCwxNzgxNTEzMDAwXQ.forged-signature",
    ],
)
def test_no_cookie_or_an_altered_one_is_no_referral(app, value):
    ReferralLinkFactory()
    assert attribute(value).reason is AttributionReason.NONE


def test_a_cookie_signed_with_another_key_is_ignored(app):
    from itsdangerous import URLSafeSerializer

    link = ReferralLinkFactory()
    forged = URLSafeSerializer("someone else's key", salt="perks.referrals.attribution-cookie")
    value = forged.dumps([link.id, None, int(NOW.timestamp())])
    assert load_referral_cookie(value) is None
    assert attribute(value).link is None


def test_a_cookie_from_the_future_is_not_believed(app):
    link = ReferralLinkFactory()
    assert attribute(cookie(link, ago=-timedelta(days=1))).reason is AttributionReason.NONE
    # A little clock skew between servers is fine.
    assert attribute(cookie(link, ago=-timedelta(minutes=1))).link == link


def test_the_cookie_round_trips_link_click_and_time(app):
    value = dump_referral_cookie(12, None, NOW)
    read = load_referral_cookie(value)
    assert read is not None
    assert (read.link_id, read.click_id, read.clicked_at) == (12, None, NOW)


# --- a typed code -----------------------------------------------------------------------------


def test_a_typed_code_beats_the_cookie(app):
    clicked, typed = ReferralLinkFactory(), ReferralLinkFactory()
    result = attribute(cookie(clicked), typed=typed.code)
    assert (result.link, result.reason) == (typed, AttributionReason.TYPED_CODE)
    assert result.click_id is None


@pytest.mark.parametrize(
    "how", [str.upper, lambda c: f"  {c} ", lambda c: f"https://perks.example/r/{c}?utm=x"]
)
def test_a_typed_code_is_read_in_any_case_with_spaces_or_as_a_whole_link(app, how):
    link = ReferralLinkFactory()
    assert attribute(typed=how(link.code)).link == link


def test_an_unknown_typed_code_falls_back_to_the_cookie(app):
    clicked = ReferralLinkFactory()
    result = attribute(cookie(clicked), typed="zzzzzzz")
    assert (result.link, result.reason) == (clicked, AttributionReason.COOKIE)


def test_an_unknown_typed_code_without_a_cookie_says_so(app):
    assert attribute(typed="zzzzzzz").reason is AttributionReason.UNKNOWN_CODE
    assert attribute(typed="//evil.com").reason is AttributionReason.UNKNOWN_CODE


def test_a_paused_typed_code_falls_back_to_the_cookie(app):
    clicked, paused = ReferralLinkFactory(), ReferralLinkFactory(paused=True)
    assert attribute(cookie(clicked), typed=paused.code).link == clicked
    alone = attribute(typed=paused.code)
    assert (alone.link, alone.reason) == (None, AttributionReason.PAUSED)


def test_a_blank_typed_code_is_no_code(app):
    link = ReferralLinkFactory()
    assert attribute(cookie(link), typed="   ").reason is AttributionReason.COOKIE


# --- paused links and deactivated people ------------------------------------------------------


def test_a_paused_link_attributes_nothing_even_for_earlier_clicks(app):
    link = ReferralLinkFactory()
    value = cookie(link)
    link.paused = True
    db.session.commit()
    result = attribute(value)
    assert (result.link, result.reason) == (None, AttributionReason.PAUSED)


def test_a_deactivated_persons_links_attribute_nothing(app):
    link = ReferralLinkFactory()
    value = cookie(link)
    link.user.active = False
    db.session.commit()
    assert attribute(value).reason is AttributionReason.DEACTIVATED
    assert attribute(typed=link.code).reason is AttributionReason.DEACTIVATED


def test_the_links_of_someone_whose_leaving_date_has_come_attribute_nothing(app):
    """Still active until the daily task deactivates them (and for good when they are the
    last administrator), they earn nothing: their typed code must not take the order from
    the colleague whose link the customer clicked."""
    from perks.i18n import company_date
    from perks.referrals.attribution import typed_code_problem

    leaver, colleague = ReferralLinkFactory(), ReferralLinkFactory()
    leaver.user.leaving_date = company_date(NOW)
    db.session.commit()
    result = attribute(cookie(colleague), typed=leaver.code)
    assert (result.link, result.reason) == (colleague, AttributionReason.COOKIE)
    assert attribute(cookie(leaver)).reason is AttributionReason.DEACTIVATED
    assert attribute(typed=leaver.code).reason is AttributionReason.DEACTIVATED
    assert typed_code_problem(leaver.code) is not None
    # the day before, they still earn
    the_day_before = NOW - timedelta(days=1)
    assert attribute(typed=leaver.code, now=the_day_before).link == leaver


# --- staff purchases --------------------------------------------------------------------------


def test_an_employee_buying_through_their_own_link_is_a_flagged_self_referral(app):
    link = ReferralLinkFactory(user=UserFactory(email="lan.tran@example.com"))
    result = attribute(cookie(link), email="Lan.Tran@Example.COM ")
    assert (result.link, result.reason, result.flagged) == (
        None,
        AttributionReason.SELF_REFERRAL,
        True,
    )


@pytest.mark.parametrize("given", ["lan.tran+shop@example.com", "Lan.Tran+Ban.Be@EXAMPLE.com"])
def test_an_employee_adding_a_tag_to_their_address_is_still_a_self_referral(app, given):
    """A tag after ``+`` reaches the same mailbox: the address is still the employee's."""
    link = ReferralLinkFactory(user=UserFactory(email="lan.tran@example.com"))
    result = attribute(cookie(link), email=given)
    assert (result.link, result.reason, result.flagged) == (
        None,
        AttributionReason.SELF_REFERRAL,
        True,
    )


def test_typing_ones_own_code_is_a_self_referral_too(app):
    link = ReferralLinkFactory(user=UserFactory(email="lan.tran@example.com"))
    result = attribute(typed=link.code, email="LAN.TRAN@EXAMPLE.COM")
    assert result.reason is AttributionReason.SELF_REFERRAL
    assert result.flagged


def test_a_signed_in_owner_is_a_self_referral_whatever_email_they_give(app):
    link = ReferralLinkFactory()
    result = attribute(cookie(link), email="a.friend@gmail.com", user=link.user)
    assert (result.reason, result.link, result.flagged) == (
        AttributionReason.SELF_REFERRAL,
        None,
        True,
    )


def test_an_employee_buying_through_a_colleagues_link_is_a_flagged_staff_purchase(app):
    link = ReferralLinkFactory()
    colleague = UserFactory(email="binh@example.com")
    by_email = attribute(cookie(link), email="BINH@example.com")
    signed_in = attribute(cookie(link), email=CUSTOMER, user=colleague)
    for result in (by_email, signed_in):
        assert (result.link, result.reason, result.flagged) == (
            None,
            AttributionReason.EMPLOYEE_BUYER,
            True,
        )


def test_a_former_employee_is_still_staff(app):
    link = ReferralLinkFactory()
    UserFactory(email="da.nghi@example.com", active=False)
    assert attribute(cookie(link), email="da.nghi@example.com").reason is (
        AttributionReason.EMPLOYEE_BUYER
    )


def test_an_employee_buying_without_any_referral_is_a_staff_purchase(app):
    staff = UserFactory()
    result = attribute(email=staff.email)
    assert (result.link, result.reason, result.flagged) == (
        None,
        AttributionReason.EMPLOYEE_BUYER,
        True,
    )


def test_attribution_writes_nothing(app):
    link = ReferralLinkFactory()
    db.session.commit()
    attribute(cookie(link), typed=link.code)
    assert not db.session.new
    assert not db.session.dirty
    assert not db.session.deleted


def test_every_reason_has_a_label(app):
    for reason in AttributionReason:
        assert reason.label


@given(
    st.lists(
        st.one_of(st.none(), st.integers(), st.text(max_size=80)),
        max_size=12,
    )
)
def test_the_cookie_serializer_writes_what_itsdangerous_writes(value):  # type: ignore[no-untyped-def]
    """The redirect's faster serializer: byte for byte the same, compressed or not, and
    read back by the plain one."""
    from itsdangerous import URLSafeSerializer

    from perks.referrals.attribution import COOKIE_SALT, CookieSerializer

    fast = CookieSerializer("k" * 48, salt=COOKIE_SALT)
    plain = URLSafeSerializer("k" * 48, salt=COOKIE_SALT)
    assert fast.dumps(value) == plain.dumps(value)
    assert fast.dumps(value) == fast.dumps(value)  # the one signer, reused
    assert plain.loads(fast.dumps(value)) == value
    assert fast.dumps(value, salt="other") == plain.dumps(value, salt="other")

"""Every GET page of every role runs as many SQL statements with 10× the rows (PERFORMANCE.md,
P4): no page issues a query per row.

The pages and who may see them come from the route table (``tests/routes.py``); a world of
people, perks, products, links, orders, commissions and payouts is built through factories and
the real services, once at scale 1 and then with nine more units, and each page is measured by
each role that gets a 200 on it, with the same objects in its URL at both scales (or the newest
one of its kind, where the newest holds ``scale`` rows: a payout batch, an order, an upload).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from perks.catalog import claims, draws
from perks.catalog import services as catalog
from perks.catalog.models import CodeMode, Draw, Perk, PerkCode, PerkKind, PerkStatus
from perks.catalog.services import PerkData
from perks.commissions import groups as commission_groups
from perks.commissions import ledger
from perks.commissions.models import BalanceOutcome, CommissionTier, RuleScope, TierMeasure
from perks.extensions import db
from perks.feedback import items as feedback
from perks.feedback import ratings, surveys
from perks.feedback.models import Topic
from perks.feedback.surveys_models import QuestionKind, Survey, SurveyQuestion, SurveyState
from perks.finance import leavers as finance_leavers
from perks.finance import payouts
from perks.i18n import company_today
from perks.mail import OutboxMessage
from perks.money import Money
from perks.payments.models import EventOutcome, StripeEvent
from perks.people import imports
from perks.people.models import Role, User
from perks.recognition import awards, gifts, kudos
from perks.recognition import services as occasions
from perks.recognition.awards import AwardData
from perks.recognition.gifts import ProgrammeData
from perks.recognition.models import Occasion, OccasionKind
from perks.recognition.services import OccasionData
from perks.referrals.fraud import BOT_SHARE_MIN_CLICKS, SAME_VISITOR_CLICKS_PER_DAY
from perks.referrals.models import Click
from perks.shop.models import Order, Product, ProductCategory
from tests import factories
from tests.helpers import counting_statements, login, make_draw
from tests.routes import ANONYMOUS, ROLES, ROUTES
from tests.unit.finance.helpers import make_payable, pay, redeem, refund_to

#: GET routes not measured, and why
EXCLUDED = {
    # A streamed download: it reads its rows in batches (yield_per), and on PostgreSQL through
    # a raw psycopg cursor that SQLAlchemy's events never see; P2 and P3 measure it.
    "finance.export_file": "streamed export, reads the ledger in batches",
    "people_import.example": "a fixed example CSV: no rows read",
    # A job's stored file, streamed a piece at a time (404 here: the sample job has none).
    "people_import.problems": "a dry run's stored CSV of problems, streamed by pieces",
    "finance.export_job_file": "a background export's stored file, streamed by pieces",
    # Images of one object: no list in them.
    "shop.order_qr_png": "QR image of one order",
    "shop.order_qr_svg": "QR image of one order",
    "referrals.qr_png": "QR image of one link",
    "referrals.qr_svg": "QR image of one link",
    "shop_images.product_image": "image of one product, by its stored name",
    "branding.logo": "the company's logo, by its stored name (404 here: no logo is set)",
    "catalog.perk_image": "image of one perk (404 here: the factories' perks have none)",
    # 404 here: the sample draw is not made (its seed is secret); once made, the file reads
    # its entries in one statement (draws.verification_data), as columns
    "catalog.draw_data": "a made draw's data file (404 here: the sample draw is not made)",
    # Not pages: a redirect that records a click (its cost is P1's), invalid tokens (400).
    "referrals.redirect": "a 302 that records a click in the background (measured by P1)",
    "auth.accept_invitation": "400 for a made-up token: no page",
    "auth.reset_password": "400 for a made-up token: no page",
    # The JSON API answers 401 to a browser: its lists (cursor pages of at most 200 rows) are
    # measured with a token in tests/functional/test_api.py.
    **dict.fromkeys(
        (
            "api.list_people",
            "api.get_person",
            "api.catalog",
            "api.list_claims",
            "api.look_up_claim",
            "api.look_up_order",
            "api.list_commissions",
            "api.list_ledger",
            "api.list_payouts",
            "api.get_payout",
        ),
        "JSON API: 401 without a token; measured in test_api.py",
    ),
    "finance_tax.withholding_summary_form": "a 302 to the summary file, which is measured",
    # 409 here: the sample survey is open, and its file waits until it closes; the file holds
    # the figures the results page computes (surveys.results), one row per figure
    "surveys.results_file": "409 for the open sample survey: the results page's figures",
}

#: pages whose object must belong to the viewer (the route table shows someone else's: 404)
OWNED_BY = {
    "catalog.my_claim": Role.EMPLOYEE.value,
    "referral_stats.link": Role.EMPLOYEE.value,
    "referrals.share": Role.EMPLOYEE.value,
    "people_import.review": Role.HR.value,
    "feedback.mine_item": Role.EMPLOYEE.value,
    "ratings.rate_claim": Role.EMPLOYEE.value,
    "ratings.rate_order": Role.EMPLOYEE.value,
}

#: pages the route table sees turned away (a redirect), shown here: endpoint -> roles
MADE_VISIBLE = {
    # every client here has a product in its cart (an empty cart goes back to it: 303)
    "shop.checkout_page": ROLES,
    # opened on a paid batch, not a draft (a draft has no payroll file: back to it, 302)
    "finance.payroll_file": [Role.FINANCE.value, Role.ADMIN.value],
    "finance_tax.pay_file": [Role.FINANCE.value, Role.ADMIN.value],
}

#: pages opened on another object than the route table's key: endpoint -> {key: world's key}
OTHER_SAMPLES = {
    "finance.payroll_file": {"payout_batch": "paid_batch"},
    "finance_tax.pay_file": {"payout_batch": "paid_batch"},
    "feedback.mine_item": {"feedback": "own_feedback"},
    # the employee's own used claim and staff purchase, not rated yet
    "ratings.rate_claim": {"claim": "claim_to_rate"},
    "ratings.rate_order": {"order_id": "order_to_rate"},
}

#: pages that list the world's rows (a longer page at 10×): proof the world reaches them
SHOWS_THE_ROWS = {
    "admin.audit_log",
    "admin.messages",
    "admin.outbox",
    "catalog.detail",
    "catalog.draw",
    "catalog.index",
    "catalog.my_perks",
    "catalog.rules",
    "catalog_admin.index",
    "commissions.my_earnings",
    "commissions_finance.adjustments",
    "commissions_finance.flagged",
    "commissions_finance.group",
    "commissions_finance.groups_index",
    "commissions_finance.index",
    "feedback.answer_times",
    "feedback.desks",
    "feedback.follow_up",
    "feedback.inbox_item",
    "feedback.inbox_page",
    "feedback.mine",
    "feedback.mine_item",
    "finance.batch_page",
    "finance.payroll_file",
    "finance.payouts_page",
    "finance_tax.pay_file",
    "finance_tax.withholding_summary",
    "finance.reconciliation_page",
    "finance.report_lines",
    "finance.reports_page",
    "leavers.index",
    "notifications.index",
    "payments.events",
    "people.departments",
    "people.directory",
    "people_import.review",
    "points.give",
    "points.mine",
    "points.rewards",
    "points.settings",
    "ratings.perk_comments",
    "ratings.product_comments",
    "recognition.calendar",
    "recognition.manage",
    "recognition.preview",
    "referral_stats.company",
    "referral_stats.fraud",
    "referral_stats.my_links",
    "referral_stats.team",
    "referrals.my_links",
    "shop.category",
    "shop.index",
    "shop.order",
    "shop.product",
    "shop_admin.categories",
    "shop_admin.order",
    "shop_admin.orders",
    "shop_admin.products",
}


def measured_pages() -> list[tuple[str, str]]:
    """(endpoint, role) for every GET page and every role that sees it."""
    pages = []
    for endpoint, route in sorted(ROUTES.items()):
        if route.method != "GET" or endpoint in EXCLUDED:
            continue
        if endpoint in OWNED_BY:
            pages.append((endpoint, OWNED_BY[endpoint]))
            continue
        for role in ROLES:
            status = route.expected[role]
            if status == 200 or role in MADE_VISIBLE.get(endpoint, ()):
                pages.append((endpoint, role))
    return pages


@dataclass
class World:
    """The viewers (a person per role), the objects pages are opened on, the next unit."""

    viewers: dict[str, User]
    samples: dict[str, object] = field(default_factory=dict)
    units: int = 0


def _viewers() -> dict[str, User]:
    """A person per role, who holds only that role: each signs in to the pages of their role."""
    return {role.value: factories.UserFactory(roles={role}) for role in Role}


def _start(viewers: dict[str, User]) -> World:
    """The objects every page is opened on, made once: each unit adds rows to them."""
    world = World(viewers)
    employee = viewers[Role.EMPLOYEE.value]
    rule = factories.CommissionRuleFactory()
    person = factories.UserFactory(name="Trần Thị Mục Tiêu", manager=viewers[Role.MANAGER.value])
    message = OutboxMessage(recipient="a@example.com", subject="Hi", body_text="x", body_html="x")
    db.session.add(message)
    perk = factories.PerkFactory(total_stock=10_000, remaining_stock=10_000)
    pool_perk = factories.PerkFactory(code_mode=CodeMode.POOL, codes=["P-0"])
    draft_perk = factories.PerkFactory(status=PerkStatus.DRAFT)
    draw = factories.DrawFactory(perk__total_stock=3, seats=3)
    category = factories.ProductCategoryFactory()
    product = factories.ProductFactory(category=category)
    link = factories.ReferralLinkFactory(user=employee)
    commission_group = commission_groups.create_group(
        "Đối tác", "", actor=viewers[Role.FINANCE.value]
    )
    stripe_event = _stripe_event("evt_sample")
    claim = claims.claim_perk(perk.id, employee)
    occasions.add_vietnamese_calendar(actor=viewers[Role.HR.value])
    own_occasion = occasions.create_occasion(
        OccasionData("Ngày hội", "Family day", OccasionKind.SOLAR, 6, 28),
        actor=viewers[Role.HR.value],
    )
    birthday = db.session.scalars(select(Occasion).where(Occasion.key == "birthday")).one()
    programme = gifts.create_programme(
        ProgrammeData(
            name_vi="Quà sinh nhật",
            name_en="Birthday gift",
            occasion_id=birthday.id,
            perk_id=factories.PerkFactory(kind=PerkKind.GIFT, per_person_limit=None).id,
            days_ahead=0,
            message_vi="Chúc mừng sinh nhật!",
            message_en="Happy birthday!",
            unit_cost=Money(200_000, "VND"),
            budget=None,
        ),
        actor=viewers[Role.HR.value],
    )
    hr, manager = viewers[Role.HR.value], viewers[Role.MANAGER.value]
    employee.manager_id = manager.id  # the employee's home shows their awards
    db.session.commit()
    award = awards.create_award(
        AwardData("Xuất sắc", "Star", "Xuất sắc", "Outstanding", None, 10), actor=hr
    )
    nomination = awards.nominate(award.id, person.id, "Great work", actor=manager)
    named = feedback.send_feedback(person, None, Topic.TOOL, "Wi-Fi", "It drops.")
    anonymous = feedback.send_feedback(
        person, None, Topic.POLICY, "Leave", "Unclear.", anonymous=True
    )
    # The surveys are written straight (HR's services would fill the audit log's first page,
    # whose growth the test checks): an open one for everyone, a closed one and a draft.
    today = company_today()
    survey = Survey(title_vi="Khảo sát", title_en="Pulse", state=SurveyState.OPEN, opened_on=today)
    closed = Survey(
        title_vi="Đã đóng",
        title_en="Closed",
        state=SurveyState.CLOSED,
        opened_on=today,
        closed_on=today,
    )
    draft = Survey(title_vi="Nháp", title_en="Draft")
    db.session.add_all([survey, closed, draft])
    db.session.flush()
    question = SurveyQuestion(
        survey_id=survey.id,
        position=1,
        kind=QuestionKind.NPS,
        text_vi="Giới thiệu?",
        text_en="Recommend?",
    )
    db.session.add(question)
    db.session.commit()
    for score in range(5):  # enough answers for the results to show from the first measure
        surveys.answer(survey.id, {question.id: score + 5}, factories.UserFactory())
    db.session.add(
        SurveyQuestion(
            survey_id=closed.id, position=1, kind=QuestionKind.SCALE, text_vi="a", text_en="b"
        )
    )
    db.session.commit()
    world.samples.update(
        survey=survey.id,
        survey_question=question.id,
        draft_survey=draft.id,
        closed_survey=closed.id,
        feedback=named.item.id,
        feedback_secret=anonymous.follow_up_secret,
        own_feedback=feedback.send_feedback(employee, None, Topic.TOOL, "VPN", "Slow.").item.id,
        department=factories.DepartmentFactory().id,
        award=award.id,
        nomination=nomination.id,
        value=factories.CompanyValueFactory().id,
        programme=programme.id,
        occasion=own_occasion.id,
        person=person.id,
        message=message.id,
        perk=perk.id,
        draft_perk=draft_perk.id,
        pool_perk=pool_perk.id,
        draw_perk=draw.perk_id,
        draw=draw.id,
        claim=claim.id,
        entry=draws.enter_draw(draw.perk_id, employee).id,
        product=product.slug,
        product_id=product.id,
        category=category.slug,
        category_id=category.id,
        link=link.id,
        link_code=link.code,
        commission_rule=rule.id,
        commission_group=commission_group.id,
        stripe_event=stripe_event.id,
    )
    return world


def _stripe_event(event_id: str, order: Order | None = None) -> StripeEvent:
    stripe_event = StripeEvent(
        event_id=event_id,
        type="checkout.session.completed" if order else "plan.created",
        stripe_created_at=datetime.now(UTC),
        payload={"id": event_id, "type": "plan.created", "data": {"object": {}}},
        order_id=order.id if order else None,
        outcome=EventOutcome.APPLIED if order else EventOutcome.IGNORED,
    )
    db.session.add(stripe_event)
    db.session.commit()
    return stripe_event


def _order(products: list[Product], link_id: int | None, *, paid: bool) -> Order:
    """An order of one of each of ``products``, referred by ``link_id``, paid or pending."""
    total = sum(p.price_amount for p in products)
    order = factories.OrderFactory(
        with_line=False,
        product=products[0],
        subtotal_amount=total,
        total_amount=total,
        referral_link_id=link_id,
        attribution_reason="cookie" if link_id else "",
    )
    for product in products:
        factories.OrderLineFactory(order=order, product=product)
    db.session.refresh(order)
    if paid:
        pay(order)
    return order


def grow(world: World, scale: int) -> None:
    """Add ``scale`` units of everything, and point the pages that show the newest object of
    a kind (an order, a payout batch, an upload) at one holding ``scale`` rows."""
    viewers = world.viewers
    employee, manager = viewers[Role.EMPLOYEE.value], viewers[Role.MANAGER.value]
    finance, other_finance = (
        viewers[Role.FINANCE.value],
        factories.UserFactory(roles={Role.FINANCE}),
    )
    hr = viewers[Role.HR.value]
    samples = world.samples
    perk = db.session.get(Perk, samples["perk"])
    draw = db.session.get(Draw, samples["draw"])
    category = db.session.get(ProductCategory, samples["category_id"])
    assert perk is not None
    assert draw is not None
    assert category is not None
    sample_person = db.session.get(User, samples["person"])
    assert sample_person is not None
    products: list[Product] = []
    today_ = company_today()
    for _ in range(scale):
        world.units += 1
        n = world.units
        department = factories.DepartmentFactory()
        team = [factories.UserFactory(department=department, manager=manager) for _ in range(2)]
        outsider = factories.UserFactory(department=department, manager=team[0])
        people = [*team, outsider]
        # Perks: a new perk and pool perk claimed by everyone, a made draw; the samples'
        # perk claimed and draw entered by the unit's people, the pool refilled.
        new_perk = factories.PerkFactory()
        pool = factories.PerkFactory(code_mode=CodeMode.POOL, codes=[f"U{n}-{i}" for i in range(5)])
        db.session.add(PerkCode(perk_id=samples["pool_perk"], code=f"P-{n}"))
        db.session.commit()
        for person in [employee, sample_person, *people]:
            new_claim = claims.claim_perk(new_perk.id, person)
            claims.claim_perk(pool.id, person)
            if person is employee:
                employee_claim = new_claim
        for person in people:
            used = claims.claim_perk(perk.id, person)
            draws.enter_draw(draw.perk_id, person)
            # Ratings: each uses the sample perk and rates it; HR shows the comment.
            claims.mark_claim_used(used.id, person)
            rating = ratings.rate_claim(used.id, person, 1 + n % 5, f"Nice {n}", show_name=True)
            ratings.set_published(rating.id, True, hr)
        # ... the employee's used claim waits for a rating (the prompt on "My perks")
        claims.mark_claim_used(employee_claim.id, employee)
        samples.setdefault("claim_to_rate", employee_claim.id)
        made = factories.DrawFactory(show_names=True)
        for person in [employee, *people]:
            draws.enter_draw(made.perk_id, person)
        make_draw(made.id, datetime.now(UTC) + timedelta(days=8))
        # ... and a draw whose entries are frozen, waiting for its public value
        waiting = factories.DrawFactory()
        draws.enter_draw(waiting.perk_id, people[0])
        draws.close_entries(waiting.id, actor=None, now=datetime.now(UTC) + timedelta(days=8))
        # Products: two on the sample shelf, one on a shelf of its own.
        unit_products = [factories.ProductFactory(category=category) for _ in range(2)]
        unit_products.append(factories.ProductFactory())
        products.extend(unit_products)
        # Links and clicks: the viewer's sample link, a new one of each viewer and person.
        for _click in range(3):
            factories.ClickFactory(link_id=samples["link"])
        links = {}
        for person in [employee, manager, *people]:
            link = factories.ReferralLinkFactory(user=person)
            links[person.id] = link.id
            for _click in range(2):
                factories.ClickFactory(link_id=link.id)
        factories.ClickFactory(link_id=links[employee.id], is_bot=True)
        # A link the fraud page flags: one visitor clicking all day, and mostly bots.
        suspicious = factories.ReferralLinkFactory(user=outsider)
        now = datetime.now(UTC)
        db.session.add_all(
            Click(link_id=suspicious.id, clicked_at=now, ip_hash=f"{n:x}".rjust(64, "f"))
            for _click in range(SAME_VISITOR_CLICKS_PER_DAY)
        )
        db.session.add_all(
            Click(link_id=suspicious.id, clicked_at=now, ip_hash=f"{i:064x}", is_bot=True)
            for i in range(BOT_SHARE_MIN_CLICKS + SAME_VISITOR_CLICKS_PER_DAY)
        )
        db.session.commit()
        # A named group of commission rules and a member more in the sample one; a tiered rule
        # for the unit's first product (the earnings page shows each tiered rule's progress).
        commission_groups.create_group(f"Nhóm {n}", "", actor=finance)
        commission_groups.add_member(samples["commission_group"], team[0].id, actor=finance)
        tiered = factories.CommissionRuleFactory(
            scope=RuleScope.PRODUCT,
            product_id=unit_products[0].id,
            tier_measure=TierMeasure.COUNT,
        )
        tiered.tiers = [CommissionTier(threshold=2, rate_bps=1200)]
        db.session.commit()
        # Orders: paid and used (payable), paid and refunded in part, paid only, pending.
        for person in [employee, manager, sample_person, *team]:
            link_id = links.get(person.id) or factories.ReferralLinkFactory(user=person).id
            used = _order(unit_products[:2], link_id, paid=True)
            redeem(used)
            refunded = _order(unit_products[1:], link_id, paid=True)
            refund_to(refunded, unit_products[1].price_amount)
            flagged = _order(unit_products[:1], link_id, paid=True)
            flagged.attribution_flagged = True
            flagged.mismatch = "Stripe reported another amount."
            db.session.commit()
            _order(unit_products[2:], link_id, paid=False)
            _stripe_event(f"evt_{n}_{person.id}", used)
        # Staff purchases of the sample product, used and rated, the comment shown; the
        # employee's waits for a rating.
        sample_product = db.session.get(Product, samples["product_id"])
        for person in [*team, employee]:
            bought = factories.OrderFactory(product=sample_product, buyer=person)
            pay(bought)
            redeem(bought)
            if person is employee:
                samples.setdefault("order_to_rate", bought.id)
            else:
                rating = ratings.rate_order(bought.id, person, 5, f"Great {n}", show_name=False)
                ratings.set_published(rating.id, True, hr)
        _order(unit_products, None, paid=True)
        make_payable()
        # Occasions: one solar and one lunar of the company's own; a birthday and a work
        # anniversary in the next days.
        for kind, month, day in ((OccasionKind.SOLAR, 11, 20), (OccasionKind.LUNAR, 7, 7)):
            occasions.create_occasion(
                OccasionData(
                    f"Dịp {n} {kind.value}", f"Occasion {n} {kind.value}", kind, month, day
                ),
                actor=hr,
            )
        soon = company_today() + timedelta(days=3)
        factories.UserFactory(
            birth_month=soon.month,
            birth_day=soon.day,
            hire_date=date(soon.year - 1, soon.month, min(soon.day, 28)),
        )
        # Awards: one with a gift; the employee and a team member receive it, another waits;
        # a birthday today brings a gift of the birthday programme.
        award = awards.create_award(
            AwardData(
                f"Giải {n}",
                f"Award {n}",
                "Mô tả",
                "Description",
                factories.PerkFactory(kind=PerkKind.GIFT, per_person_limit=None).id,
                5,
            ),
            actor=hr,
        )
        for person in (employee, team[0]):
            awards.approve(
                awards.nominate(award.id, person.id, "Great", actor=manager).id, actor=hr
            )
        awards.nominate(award.id, team[1].id, "Great", actor=manager)
        today = company_today()
        factories.UserFactory(department=department, birth_month=today.month, birth_day=today.day)
        gifts.grant_due_gifts(today)
        # Kudos and points: a value, kudos from the unit's people to every viewer and from the
        # employee to one of them, a reward the employee buys, a gift of points.
        value = factories.CompanyValueFactory()
        for giver in people:
            for viewer in viewers.values():
                kudos.give_kudos(giver, viewer.id, 2, value.id, f"Cảm ơn {n}", today=today_)
        kudos.give_kudos(employee, team[0].id, 1, value.id, f"Giỏi lắm {n}", today=today_)
        reward = factories.PerkFactory(points_price=1, per_person_limit=None)
        kudos.spend_points(reward.id, employee, today=today_)
        # Feedback: the unit's department owned by the manager, named and anonymous items
        # from its people to it and to HR, some answered and published; messages on the
        # samples; the employee's own items.
        feedback.set_desk(department.id, feedback.DeskData(manager.id, 2, 10), hr)
        for sender in people:
            for department_id in (department.id, None):
                feedback.send_feedback(sender, department_id, Topic.TOOL, f"Máy {n}", "Chậm.")
            answered = feedback.send_feedback(
                sender, None, Topic.PERK, f"Quà {n}", "Ít.", anonymous=True
            ).item.id
            feedback.acknowledge(answered, hr)
            feedback.answer(answered, hr, f"Thêm quà {n}.", publish=True)
        feedback.send_feedback(employee, department.id, Topic.PROCESS, f"Quy trình {n}", "Dài.")
        feedback.reply(f"Thêm {n}", secret=str(samples["feedback_secret"]))
        feedback.reply(f"Nữa {n}", item_id=int(samples["feedback"]), sender=sample_person)
        # The open survey: answered by a newcomer (everyone is its audience).
        surveys.answer(
            int(samples["survey"]),
            {int(samples["survey_question"]): n % 11},
            factories.UserFactory(),
        )
        feedback.reply(f"Và {n}", item_id=int(samples["own_feedback"]), sender=employee)
        # The rules history: the sample programme paused and resumed, a perk published.
        gifts.set_programme_active(int(samples["programme"]), False, actor=hr)
        gifts.set_programme_active(int(samples["programme"]), True, actor=hr)
        published = catalog.create_perk(PerkData(f"Ưu đãi {n}", f"Perk {n}"), actor=hr)
        catalog.publish_perk(published.id, actor=hr)
        # Ledger adjustments, and an e-mail in the outbox.
        for person in [employee, team[0]]:
            ledger.record_adjustment(
                person.id, Money(10_000 * n, "VND"), f"Bonus {n}", actor=finance
            )
        # Leavers: one owing money after they left, one whose balance finance closed.
        for closed in (False, True):
            leaver = factories.UserFactory(leaving_date=today_ - timedelta(days=1))
            ledger.record_adjustment(
                leaver.id, Money(-5_000 * n, "VND"), f"Clawed back {n}", actor=finance
            )
            if closed:
                finance_leavers.close_negative_balance(
                    leaver.id,
                    Money(-5_000 * n, "VND"),
                    BalanceOutcome.WRITE_OFF,
                    f"Small {n}",
                    actor=finance,
                )
        db.session.add(
            OutboxMessage(recipient=f"u{n}@example.com", subject="Hi", body_text="x", body_html="x")
        )
        db.session.commit()
    # A paid payout batch of everything owed so far, then more commissions in a new draft.
    today = company_today()
    batch = payouts.draft_batch(today, actor=finance)
    payouts.approve_batch(batch.id, actor=other_finance)
    payouts.mark_batch_paid(batch.id, f"PAYROLL-{world.units}", actor=finance)
    samples["paid_batch"] = batch.id
    newest_order = _order(products[: min(len(products), 2 * scale)], None, paid=True)
    for person in [employee, manager, *people]:
        link_id = factories.ReferralLinkFactory(user=person).id
        redeem(_order(products[:2], link_id, paid=True))
    for _ in range(scale):
        for person in [employee, factories.UserFactory(manager=manager)]:
            redeem(_order(products[:1], factories.ReferralLinkFactory(user=person).id, paid=True))
    make_payable()
    refund_to(newest_order, products[0].price_amount)
    samples["payout_batch"] = payouts.draft_batch(today, actor=finance).id
    samples["order_id"] = newest_order.id
    samples["order_token"] = newest_order.token
    samples["pending_order_token"] = _order(products[:1], None, paid=False).token
    rows = "".join(f"new{world.units}-{i}@example.com,Người {i}\n" for i in range(5 * scale))
    upload = imports.store_upload(f"email,name\n{rows}".encode(), filename="people.csv", actor=hr)
    samples["import"] = upload.id
    samples["job"] = imports.check_job(upload).token  # type: ignore[union-attr]


def _clients(app: Flask, world: World) -> dict[str, FlaskClient]:
    """A signed-in client per role (and an anonymous one), each with a product in its cart."""
    clients = {}
    for role in ROLES:
        client = app.test_client()
        if role != ANONYMOUS:
            login(client, world.viewers[role])
        response = client.post(
            "/shop/cart/add", data={"product": world.samples["product"], "quantity": "1"}
        )
        assert response.status_code == 303
        clients[role] = client
    return clients


Page = tuple[str, str]


def _measure(
    clients: dict[str, FlaskClient], world: World
) -> tuple[dict[Page, int], dict[Page, int]]:
    """The statements each (page, role) ran, and the size of its body."""
    counts, sizes = {}, {}
    for endpoint, role in measured_pages():
        samples = dict(world.samples)
        for key, other in OTHER_SAMPLES.get(endpoint, {}).items():
            samples[key] = samples[other]
        url = ROUTES[endpoint].url(samples)
        with counting_statements() as statements:
            response = clients[role].get(url)
            response.get_data()
        assert response.status_code == 200, (endpoint, role, url, response.status_code)
        counts[(endpoint, role)] = len(statements)
        sizes[(endpoint, role)] = len(response.get_data())
    return counts, sizes


@pytest.fixture
def world() -> World:
    return _start(_viewers())


def test_every_get_page_is_measured_or_excluded_with_a_reason():
    gets = {e for e, r in ROUTES.items() if r.method == "GET"}
    measured = {endpoint for endpoint, _role in measured_pages()}
    assert gets - measured - set(EXCLUDED) == set()


def test_no_page_runs_more_statements_with_ten_times_the_rows(app, world):
    grow(world, 1)
    clients = _clients(app, world)
    # Once first, unmeasured: what a process or a session loads once (and each page's status)
    # must not count as the page's.
    _measure(clients, world)
    before, small = _measure(clients, world)
    grow(world, 9)
    after, large = _measure(clients, world)
    # The world reaches the pages: each list shows more with 10× the rows.
    shown = {endpoint for (endpoint, role), size in large.items() if size > small[(endpoint, role)]}
    assert sorted(SHOWS_THE_ROWS - shown) == []
    growing = sorted(
        f"{endpoint} as {role}: {before[(endpoint, role)]} -> {after[(endpoint, role)]}"
        for endpoint, role in before
        if after[(endpoint, role)] != before[(endpoint, role)]
    )
    assert growing == [], "statements per page grow with the data:\n" + "\n".join(growing)

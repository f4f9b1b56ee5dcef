"""The audit log's details read as sentences in the viewer's language: translated names,
lists joined, nothing as "none", money and dates in the reader's format, choices by their
labels and people by name; never the raw Python the services stored."""

from __future__ import annotations

import re
from html import unescape

import pytest
from flask_babel import force_locale

from perks import audit
from perks.extensions import db
from perks.people.models import Role
from tests import factories
from tests.helpers import counting_statements, login


def details_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    """Each event's details cell as text, newest event first."""
    html = response.get_data(as_text=True)
    cells = re.findall(r'data-testid="audit-details">(.*?)</td>', html, flags=re.S)
    return [re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", c))).strip() for c in cells]


def record(action: str, **details: object) -> None:
    audit.record(action, actor=None, **details)
    db.session.commit()


@pytest.fixture
def events():  # type: ignore[no-untyped-def]
    """Events with details as the services write them (see each ``audit.record`` call)."""
    person = factories.UserFactory(name="Lê Văn Nam")
    record("auth.roles_changed", before=["employee"], after=["employee", "manager"])
    record(
        "commissions.rule_created",
        scope="default",
        kind="percent",
        category_id=None,
        product_id=None,
        rate_bps=250,
        flat_amount=None,
        cap_amount=None,
        currency=None,
        effective_from="2026-04-12",
        effective_to=None,
    )
    record(
        "commissions.adjustment",
        user_id=person.id,
        amount=150000,
        currency="VND",
        reason="Bonus",
        commission_id=None,
    )
    record("shop.product_updated", changes={"price_amount": [100000, 120000]}, image=False)
    record("people.updated", fields=["birth_day", "birth_month", "manager_id"])
    # newest first on the page
    return [
        "people.updated",
        "shop.product_updated",
        "commissions.adjustment",
        "commissions.rule_created",
        "auth.roles_changed",
    ]


def test_details_read_as_english_sentences(client, login_as, events):
    login_as(Role.ADMIN, locale="en")

    response = client.get("/admin/audit")

    assert response.status_code == 200
    people, product, adjustment, rule, roles = details_of(response)[:5]
    assert roles == "Before: Employee After: Employee, Manager"
    assert "Applies to: Every product" in rule
    assert "Kind: Percentage of the line total" in rule
    assert "Rate: 2.5%" in rule
    assert "Currency: none" in rule
    assert "Effective from: 12 Apr 2026" in rule
    assert "Effective until: none" in rule
    assert adjustment == "Person: Lê Văn Nam Amount: ₫150,000 Reason: Bonus Commission: none"
    assert product == "Changes: Price: 100,000 → 120,000 Picture: no"
    assert people == "Fields changed: Birthday, Manager"
    page = response.get_data(as_text=True)
    for raw in ("['employee']", "None", "rate_bps", "user_id", "2026-04-12"):
        assert raw not in page


def test_details_read_as_vietnamese_sentences(client, login_as, events, vietnamese):
    login_as(Role.ADMIN, locale="vi")

    response = client.get("/admin/audit")

    people, product, adjustment, rule, roles = details_of(response)[:5]
    with force_locale("vi"):
        employee, manager = Role.EMPLOYEE.label, Role.MANAGER.label
    assert employee != "Employee"
    assert roles == (
        f"{vietnamese('Before')}: {employee} {vietnamese('After')}: {employee}, {manager}"
    )
    assert f"{vietnamese('Currency')}: {vietnamese('none')}" in rule
    assert f"{vietnamese('Effective from')}: 12 tháng 4, 2026" in rule
    assert f"{vietnamese('Rate')}: 2,5%" in rule
    assert f"{vietnamese('Amount')}: 150.000 ₫" in adjustment
    assert f"{vietnamese('Person')}: Lê Văn Nam" in adjustment
    assert f"{vietnamese('Price')}: 100.000 → 120.000" in product
    assert f"{vietnamese('Picture')}: {vietnamese('no')}" in product
    assert people == f"{vietnamese('Fields changed')}: {vietnamese('Birthday')}, " + vietnamese(
        "Manager"
    )


def test_a_page_of_details_names_its_people_in_one_query(client, login_as):
    login_as(Role.ADMIN)

    def statements_for(people: int) -> int:
        for index in range(people):
            person = factories.UserFactory(name=f"Người {people}-{index}")
            record("commissions.adjustment", user_id=person.id, amount=1, currency="VND")
        with counting_statements() as statements:
            page = client.get("/admin/audit").get_data(as_text=True)
        assert all(f"Người {people}-{index}" in page for index in range(people))
        return len(statements)

    assert statements_for(1) == statements_for(6)


def test_every_action_the_code_records_has_a_name():
    """Each action the code gives ``audit.record`` or ``audit.record_each`` (a string, or
    either string of a conditional), or the API's writes give ``idempotency.run_once``, is
    named in ``ACTIONS``."""
    import ast
    from pathlib import Path

    from perks.admin.audit_details import ACTIONS

    modules = [
        ast.parse(source.read_text(encoding="utf-8"))
        for source in (Path(__file__).resolve().parents[2] / "perks").rglob("*.py")
    ]
    # the modules' constants (REFUND_REQUESTED = "shop.refund_requested"), as imported by name
    constants = {
        target.id: node.value.value
        for module in modules
        for node in module.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    recorded = set()
    for module in modules:
        for node in ast.walk(module):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            func = node.func
            if not isinstance(func.value, ast.Name):
                continue
            if func.value.id == "audit" and func.attr in {"record", "record_each"}:
                position = 0
            elif func.value.id == "idempotency" and func.attr == "run_once":
                position = 1
            else:
                continue
            if len(node.args) <= position:
                continue
            for part in ast.walk(node.args[position]):
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    recorded.add(part.value)
                elif isinstance(part, ast.Name) and part.id in constants:
                    recorded.add(constants[part.id])
    assert len(recorded) > 30
    assert recorded - set(ACTIONS) == set()


def test_every_area_of_the_actions_has_a_name():
    """The audit log's Action filter groups the actions by their code's area (``people.``),
    each group named in the reader's language."""
    from perks.admin.audit_details import ACTIONS, AREAS, area_of

    assert {area_of(action) for action in ACTIONS} == set(AREAS)


def test_every_detail_the_code_records_has_a_label():
    """Each keyword given to ``audit.record`` (but the actor and target) is named in
    ``LABELS``: the log showed ``file:``, ``mapping:``, ``token:`` and ``leaving_date:``."""
    import ast
    from pathlib import Path

    from perks.admin.audit_details import LABELS

    recorded = set()
    for source in (Path(__file__).resolve().parents[2] / "perks").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            func = getattr(node, "func", None)
            if isinstance(node, ast.Call) and (
                (
                    isinstance(func, ast.Attribute)
                    and func.attr == "record"
                    and isinstance(func.value, ast.Name)
                    and func.value.id == "audit"
                )
                or (isinstance(func, ast.Attribute) and func.attr == "run_once")
            ):
                recorded |= {k.arg for k in node.keywords if k.arg is not None}
    recorded -= {"actor", "target", "actor_id"}
    assert len(recorded) > 50
    missing = sorted(recorded - set(LABELS))
    assert not missing, ", ".join(missing)


def test_a_payout_and_its_files_read_in_words(client, login_as):
    login_as(Role.ADMIN, locale="en")
    record(
        "finance.payout_paid",
        reference="PO-1",
        payment_reference="LUONG-12",
        lines=2,
        totals={"VND": 364800},
        withheld={},
    )
    record(
        "finance.payout_exported",
        reference="PO-1",
        format="csv",
        rows=2,
        file="bank",
        mapping="Chuyển khoản",
    )

    exported, paid = details_of(client.get("/admin/audit"))[:2]

    assert "Lines: 2" in paid
    assert "Totals: ₫364,800" in paid
    assert "Tax withheld: none" in paid
    assert "File: Bank transfer" in exported
    assert "File columns: Chuyển khoản" in exported


def test_actions_and_targets_read_in_the_viewers_language(client):
    admin = factories.UserFactory(roles={Role.ADMIN}, locale="vi")
    person = factories.UserFactory(name="Lê Văn Đích")

    audit.record("people.deactivated", actor=admin, target=person)
    audit.record("made.up_action", actor=admin)
    db.session.commit()
    login(client, admin)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "Đã ngừng kích hoạt người" in html
    assert f"Người #{person.id}" in html
    assert "made.up_action" in html  # unknown: as it is stored


def test_every_kind_of_record_the_services_audit_is_named_in_the_viewers_language(client):
    """The log showed "ExportMapping #6", "TaxProfile #3" and the like: the Python class of
    the record a finance, feedback or settings page had changed."""
    from perks.commissions.models import CommissionGroup, LeaverBalanceDecision, LeaverSettings
    from perks.commissions.tax_models import TaxProfile, WithholdingRate
    from perks.feedback.models import FeedbackItem
    from perks.finance.mapping_models import ExportMapping
    from perks.referrals.models import ReturningCustomerSettings

    audited = (
        CommissionGroup,
        ExportMapping,
        FeedbackItem,
        LeaverBalanceDecision,
        LeaverSettings,
        ReturningCustomerSettings,
        TaxProfile,
        WithholdingRate,
    )
    admin = factories.UserFactory(roles={Role.ADMIN}, locale="vi")
    for model in audited:
        audit.record("mail.retry", actor=admin, target=model(id=7))
    db.session.commit()
    login(client, admin)
    html = client.get("/admin/audit").get_data(as_text=True)
    for model in audited:
        assert f"{model.__name__} #7" not in html


def test_a_change_recorded_by_any_service_reads_before_and_after(client):
    """Every service records changes with ``audit.changes``: the viewer reads each pair."""
    admin = factories.UserFactory(roles={Role.ADMIN}, locale="en")
    changes = audit.changes({"name": "An", "active": True}, {"name": "Bình", "active": True})
    assert changes == {"name": ["An", "Bình"]}  # what stayed the same is left out
    audit.record("people.updated", actor=admin, changes=changes)
    db.session.commit()
    login(client, admin)
    shown = " ".join(details_of(client.get("/admin/audit")))
    assert "An → Bình" in shown


def test_a_declined_draw_seat_names_the_draw_entry_not_a_ledger_entry(client, login_as):
    """ "Draw seat declined" stores the declined entry's key: it read "Bút toán: 7F3A…" (a
    ledger entry) in Vietnamese. It is the person's draw entry (lượt đăng ký), as the draw's
    pages and the "Entries" of "Draw made" say."""
    record("catalog.draw_seat_declined", entry="7F3A9C21B0")
    record("catalog.draw_made", entries=12, seats=2)
    login_as(Role.ADMIN, locale="vi")

    made, declined = details_of(client.get("/admin/audit"))[:2]

    assert made.startswith("Lượt đăng ký: 12"), made
    assert declined == "Lượt đăng ký: 7F3A9C21B0"


def test_a_commission_rules_tiers_read_in_words(client, login_as):
    """A tier from $50,000.00 sold at 5% read "Tiers: 5,000,000, 500, none": the
    threshold in cents and the rate in basis points, as stored."""
    record(
        "commissions.rule_created",
        scope="default",
        kind="percent",
        rate_bps=300,
        currency="USD",
        tier_measure="amount",
        tiers=[[5_000_000, 500, None], [10_000_000, 700, None]],
    )
    record(
        "commissions.rule_changed",
        kind="flat",
        flat_amount=30_000,
        currency="VND",
        tier_measure="count",
        tiers=[[10, None, 50_000]],
    )
    login_as(Role.ADMIN, locale="en")

    counted, amounts = details_of(client.get("/admin/audit"))[:2]

    assert (
        "Tiers: from $50,000.00 sold in the month: 5%; "
        "from $100,000.00 sold in the month: 7%" in amounts
    )
    assert "Tiers: from 10 lines sold in the month: ₫50,000 per unit" in counted

"""A payout batch's reasons and payment reference are taken without the spaces and invisible
characters (zero-width space, byte order mark, word joiner) around them: one made only of
them is refused as empty (its message in the person's language, nothing changed), one with
them around is kept without them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from perks.background import BackgroundJob
from perks.errors import ValidationFailed
from perks.extensions import db
from perks.finance import payouts
from perks.finance.forms import CancelBatchForm, ExcludeLineForm, MarkPaidForm
from perks.finance.models import BatchStatus, LineStatus, PayoutBatch
from perks.i18n import company_today
from perks.people.models import User
from tests import factories
from tests.helpers import login, text_of
from tests.unit.finance.helpers import finance_person, payable_order

INVISIBLE = "\u200b\ufeff\u2060"


@pytest.fixture(autouse=True)
def _rule() -> None:
    factories.CommissionRuleFactory()  # 10 % of every line


def _batch() -> PayoutBatch:
    db.session.expire_all()
    return db.session.scalars(select(PayoutBatch)).one()


def _drafted(client) -> tuple[PayoutBatch, User]:  # type: ignore[no-untyped-def]
    """A draft batch of one line, drafted by a Vietnamese-speaking finance person signed in
    on ``client``."""
    payable_order(factories.UserFactory())
    drafter = finance_person(locale="vi")
    login(client, drafter)
    client.post("/finance/payouts", data={"cutoff": company_today().isoformat()})
    return _batch(), drafter


def _refused(client, url: str, data: dict[str, str], message: str) -> None:  # type: ignore[no-untyped-def]
    response = client.post(url, data=data)
    assert response.status_code == 302
    assert message in text_of(client.get(response.headers["Location"]))


def test_an_invisible_exclusion_reason_is_refused_and_invisible_ends_are_not_kept(client):
    batch, _drafter = _drafted(client)
    url = f"/finance/payouts/{batch.id}/lines/{batch.lines[0].id}/exclude"

    _refused(client, url, {"reason": INVISIBLE}, "Hãy ghi lý do loại dòng này ra.")
    line = _batch().lines[0]
    assert (line.status, line.exclusion_reason) == (LineStatus.INCLUDED, "")

    client.post(url, data={"reason": f" {INVISIBLE}Nghỉ phép\u200b "})
    line = _batch().lines[0]
    assert (line.status, line.exclusion_reason) == (LineStatus.EXCLUDED, "Nghỉ phép")


def test_an_invisible_cancellation_reason_is_refused_and_invisible_ends_are_not_kept(client):
    batch, _drafter = _drafted(client)
    url = f"/finance/payouts/{batch.id}/cancel"

    _refused(client, url, {"reason": INVISIBLE}, "Hãy ghi lý do hủy đợt chi trả.")
    assert (_batch().status, _batch().cancel_reason) == (BatchStatus.DRAFT, "")

    client.post(url, data={"reason": f"{INVISIBLE}Làm lại\ufeff"})
    assert (_batch().status, _batch().cancel_reason) == (BatchStatus.CANCELLED, "Làm lại")


def test_an_invisible_payment_reference_is_refused_and_invisible_ends_are_not_kept(client, app):
    batch, _drafter = _drafted(client)
    approver = app.test_client()
    login(approver, finance_person())
    approver.post(
        f"/finance/payouts/{batch.id}/approve", data={"row_version": str(batch.row_version)}
    )
    assert _batch().status is BatchStatus.APPROVED
    url = f"/finance/payouts/{batch.id}/paid"

    _refused(
        client,
        url,
        {"payment_reference": INVISIBLE},
        "Hãy nhập mã tham chiếu của khoản thanh toán (kỳ trả lương hoặc lệnh chuyển khoản).",
    )
    assert (_batch().status, _batch().payment_reference) == (BatchStatus.APPROVED, "")
    assert db.session.scalars(select(BackgroundJob)).all() == []

    paid = client.post(url, data={"payment_reference": f" \u200bPR-11{INVISIBLE}"})
    assert paid.headers["Location"].startswith("/jobs/")
    assert (_batch().status, _batch().payment_reference) == (BatchStatus.PAID, "PR-11")


def test_the_services_refuse_an_invisible_reason_or_reference(client):
    batch, drafter = _drafted(client)
    with pytest.raises(ValidationFailed):
        payouts.exclude_line(batch.id, batch.lines[0].id, INVISIBLE, actor=drafter)
    with pytest.raises(ValidationFailed):
        payouts.cancel_batch(batch.id, INVISIBLE, actor=drafter)
    with pytest.raises(ValidationFailed):
        payouts.mark_batch_paid(batch.id, INVISIBLE, actor=drafter)
    with pytest.raises(ValidationFailed):
        payouts.start_marking_paid(batch.id, INVISIBLE, actor=drafter)
    assert _batch().status is BatchStatus.DRAFT
    assert _batch().lines[0].status is LineStatus.INCLUDED


@pytest.mark.parametrize(
    ("form_class", "field"),
    [(ExcludeLineForm, "reason"), (CancelBatchForm, "reason"), (MarkPaidForm, "payment_reference")],
)
def test_the_forms_take_an_invisible_value_as_empty(app, form_class, field):
    with app.test_request_context(method="POST", data={field: INVISIBLE}):
        form = form_class()
        assert not form.validate()
        assert form[field].data == ""
        assert form[field].errors
    with app.test_request_context(method="POST", data={field: f" {INVISIBLE}PR-7\u200b"}):
        form = form_class()
        assert form.validate()
        assert form[field].data == "PR-7"

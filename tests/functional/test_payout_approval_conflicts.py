"""Four eyes on the batch that is paid: an approval from a page opened before a line was left
out of the batch, or before the tax profile of someone it pays changed, is refused in the
approver's language, naming what changed, with nothing approved; the page shows the batch as
it is now, and approving from it works. On PostgreSQL, a line left out or a tax profile
changed at the moment of the approval: one of them wins, never both."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import NamedTuple

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from perks.api import tokens
from perks.api.models import Scope
from perks.audit import AuditEvent
from perks.background import JobState
from perks.commissions import tax
from perks.commissions.tax import ProfileFields
from perks.extensions import db
from perks.finance.models import BatchStatus, LineStatus, PayoutBatch
from perks.i18n import company_today
from perks.people import imports
from perks.people.models import EmploymentType, PeopleImport, Role, User
from tests import factories
from tests.factories import PASSWORD
from tests.helpers import is_postgres, person_form, signed_in
from tests.racing import all_at_once
from tests.stale_saves import FINGERPRINT, GuardedForm, audit_events
from tests.unit.finance.helpers import finance_person, payable_order


@pytest.fixture(autouse=True)
def _rule(app) -> None:  # type: ignore[no-untyped-def]
    factories.CommissionRuleFactory()  # 10 % of every line


def drafted(drafter: FlaskClient) -> PayoutBatch:
    response = drafter.post("/finance/payouts", data={"cutoff": company_today().isoformat()})
    assert response.status_code == 302
    return db.session.scalars(select(PayoutBatch)).one()


def approval(batch_id: int) -> GuardedForm:
    """The batch's page and its approve form."""
    return GuardedForm(
        f"/finance/payouts/{batch_id}",
        field="row_version",
        audited=("finance.payout_approved",),
        action=f"/finance/payouts/{batch_id}/approve",
        lists_entered=False,
    )


def leave_out(client: FlaskClient, batch: PayoutBatch, person: User, reason: str):  # type: ignore[no-untyped-def]
    line = next(line for line in batch.lines if line.user_id == person.id)
    return client.post(
        f"/finance/payouts/{batch.id}/lines/{line.id}/exclude", data={"reason": reason}
    )


#: a payee's tax profile outside payroll, as finance keeps it
BANK = {"bank_account_number": "11112222", "bank_name": "ACB", "account_holder": "LE CUC"}


def contractor(name: str) -> User:
    """Someone paid by bank transfer, with a tax profile."""
    person = factories.UserFactory(name=name, employment_type=EmploymentType.CONTRACTOR)
    tax.save_tax_profile(person.id, ProfileFields(**BANK), actor=finance_person())
    return person


def save_profile(client: FlaskClient, person: User, **changes: str):  # type: ignore[no-untyped-def]
    """Open the person's tax profile page and save it with ``changes``."""
    page = client.get(f"/finance/tax/people/{person.id}").get_data(as_text=True)
    version = re.search(r'<input[^>]*name="version"[^>]*value="(\d+)"', page)
    assert version is not None
    data = {**BANK, "resident": "y", "version": version.group(1), **changes}
    return client.post(f"/finance/tax/people/{person.id}", data=data)


def approvals() -> int:
    return audit_events("finance.payout_approved")


class Opened(NamedTuple):
    """A draft as the approver's page shows it: the drafter and the approver signed in, the
    batch, its page with the approve form, and the row version the page shows."""

    drafter: FlaskClient
    approver: FlaskClient
    batch: PayoutBatch
    page: GuardedForm
    seen: str


def opened_for_approval(
    app: Flask,
    drafter: User | None = None,
    approver: User | None = None,
    leaving_out: User | None = None,
) -> Opened:
    """A draft of what is payable, drafted by ``drafter`` (a finance person by default), with
    ``leaving_out``'s line left out ("On hold") before ``approver`` (another one) opens its
    page."""
    drafting = signed_in(app, drafter or finance_person())
    approving = signed_in(app, approver or finance_person())
    batch = drafted(drafting)
    if leaving_out is not None:
        assert leave_out(drafting, batch, leaving_out, "On hold").status_code == 302
    page = approval(batch.id)
    return Opened(drafting, approving, batch, page, page.version_shown(approving))


def test_an_approval_from_a_page_opened_before_a_line_was_left_out_is_refused(app):
    cuc, dung = factories.UserFactory(name="Lê Cúc"), factories.UserFactory(name="Trần Dũng")
    payable_order(cuc)
    payable_order(dung)
    drafter, approver, batch, page, seen = opened_for_approval(
        app, drafter=finance_person(name="Phạm Thu Hà"), approver=finance_person(locale="vi")
    )

    assert leave_out(drafter, batch, cuc, "Chờ xác minh").status_code == 302
    refused = page.refuses(approver, {"row_version": seen})

    assert (
        "Đợt chi trả này đã thay đổi sau khi bạn mở trang, nên chưa được duyệt: "
        "Phạm Thu Hà đã loại dòng của Lê Cúc (240.000 ₫)."
    ) in refused.text
    db.session.expire_all()
    assert db.session.get(PayoutBatch, batch.id).status is BatchStatus.DRAFT
    assert approvals() == 0
    # the page shows the batch as it is now, and its form the row version it shows
    assert 'data-line-status="excluded"' in refused.html
    assert int(refused.version) > int(seen)

    page.saves(approver, {"row_version": refused.version})
    db.session.expire_all()
    saved = db.session.get(PayoutBatch, batch.id)
    assert saved.status is BatchStatus.APPROVED
    assert [(line.user_id, line.status) for line in saved.lines if line.user_id == cuc.id] == [
        (cuc.id, LineStatus.EXCLUDED)
    ]
    assert approvals() == 1


def test_an_approval_from_the_page_as_it_is_goes_through(app):
    payable_order(factories.UserFactory())
    _, approver, batch, page, seen = opened_for_approval(app)
    page.saves(approver, {"row_version": seen})

    db.session.expire_all()
    assert db.session.get(PayoutBatch, batch.id).status is BatchStatus.APPROVED


def test_an_approval_without_the_row_version_its_page_showed_is_refused(app):
    payable_order(factories.UserFactory())
    drafter = signed_in(app, finance_person())
    approver = signed_in(app, finance_person())
    batch = drafted(drafter)

    response = approval(batch.id).refuses_without_version(approver, {})

    assert "This page is out of date: open the batch again." in response.text
    db.session.expire_all()
    assert db.session.get(PayoutBatch, batch.id).status is BatchStatus.DRAFT
    assert approvals() == 0


def test_a_line_left_out_at_the_moment_of_the_approval_is_never_approved_unseen(app):
    """PostgreSQL: the exclusion and the approval take turns on the batch's row; whichever
    comes second is refused (an approval of the batch without the line it showed, or an
    exclusion from an approved batch). Without the row version, an exclusion first let the
    approval through."""
    if not is_postgres(app):
        pytest.skip("racing requests need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    cuc = factories.UserFactory()
    payable_order(cuc)
    payable_order(factories.UserFactory())
    drafter, approver = finance_person(), finance_person()
    emails = {"drafter": drafter.email, "approver": approver.email}
    batch = drafted(signed_in(app, drafter))
    batch_id = batch.id
    line_id = next(line.id for line in batch.lines if line.user_id == cuc.id)
    db.session.commit()
    db.session.remove()

    def opened(who: str) -> tuple[str, FlaskClient, str]:
        client = app.test_client()
        signing_in = client.post("/login", data={"email": emails[who], "password": PASSWORD})
        assert signing_in.status_code == 302
        # the drafter's page has no approve form
        return who, client, approval(batch_id).version_shown(client) if who == "approver" else ""

    def act(tab: tuple[str, FlaskClient, str]) -> tuple[str, int]:
        who, client, seen = tab
        if who == "drafter":
            url, data = f"/finance/payouts/{batch_id}/lines/{line_id}/exclude", {"reason": "Hold"}
        else:
            url, data = f"/finance/payouts/{batch_id}/approve", {"row_version": seen}
        return who, client.post(url, data=data).status_code

    outcome = all_at_once(app, ["drafter", "approver"], act, prepare=opened, requests=True)

    assert outcome.errors == []
    answers = dict(outcome.results)
    with app.app_context():
        saved = db.session.get(PayoutBatch, batch_id)
        excluded = [line.id for line in saved.lines if line.status is LineStatus.EXCLUDED]
        if saved.status is BatchStatus.APPROVED:
            assert excluded == []  # the exclusion waited, then found the batch approved
        else:
            assert saved.status is BatchStatus.DRAFT
            assert excluded == [line_id]
            assert answers["approver"] == 409


def test_an_approval_from_a_page_opened_before_a_payees_tax_profile_changed_is_refused(app):
    """A draft's payee's bank account (or residence, contract, commitment form, tax code)
    changed after the approver opened the page: the batch's row version stayed, and the
    approval went through for a bank file and withholding the approver never saw."""
    cuc = contractor("Lê Cúc")
    payable_order(cuc)
    payable_order(factories.UserFactory(name="Trần Dũng"))
    _, approver, batch, page, seen = opened_for_approval(app, approver=finance_person(locale="vi"))

    changed = save_profile(
        signed_in(app, finance_person(name="Phạm Thu Hà")), cuc, bank_account_number="99998888"
    )
    assert changed.status_code == 302  # a draft lets the profile change
    refused = page.refuses(approver, {"row_version": seen})

    assert (
        "Đợt chi trả này đã thay đổi sau khi bạn mở trang, nên chưa được duyệt: "
        "Phạm Thu Hà đã thay đổi hồ sơ thuế của Lê Cúc."
    ) in refused.text
    db.session.expire_all()
    assert db.session.get(PayoutBatch, batch.id).status is BatchStatus.DRAFT
    assert approvals() == 0
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "finance.payout_payee_profile_changed")
    ).one()
    assert (event.target_id, event.details["user_id"], event.details["changed"]) == (
        str(batch.id),
        cuc.id,
        ["bank_account_number"],
    )
    assert int(refused.version) > int(seen)

    page.saves(approver, {"row_version": refused.version})
    db.session.expire_all()
    assert db.session.get(PayoutBatch, batch.id).status is BatchStatus.APPROVED
    assert tax.profile_of(cuc.id).bank_account_number == "99998888"  # what was approved


def test_the_refusal_names_every_change_since_the_page_opened_in_english(app):
    cuc, dung = contractor("Lê Cúc"), factories.UserFactory(name="Trần Dũng")
    payable_order(cuc)
    payable_order(dung)
    drafter, approver, batch, page, seen = opened_for_approval(
        app, drafter=finance_person(name="Phạm Thu Hà"), approver=finance_person(locale="en")
    )

    assert save_profile(drafter, cuc, resident="").status_code == 302  # now a non-resident
    assert leave_out(drafter, batch, dung, "On hold").status_code == 302
    refused = page.refuses(approver, {"row_version": seen})

    assert (
        "This batch changed after you opened it, so it was not approved: Phạm Thu Hà changed "
        "the tax profile of Lê Cúc; Phạm Thu Hà left out the line of Trần Dũng (₫240,000). "
        "Check the batch as it is now and approve it again."
    ) in refused.text


def test_a_tax_profile_that_does_not_change_the_batch_leaves_the_approval_alone(app):
    """Saving a payee's profile as it is, or changing the profile of someone the draft does
    not pay (left out, or not in it), is no change of the batch."""
    cuc, dung, outside = contractor("Lê Cúc"), contractor("Trần Dũng"), contractor("Vũ Em")
    payable_order(cuc)
    payable_order(dung)
    _, approver, batch, page, seen = opened_for_approval(app, leaving_out=dung)

    officer = signed_in(app, finance_person())
    assert save_profile(officer, cuc).status_code == 302
    assert save_profile(officer, dung, bank_name="VCB").status_code == 302
    assert save_profile(officer, outside, bank_name="VCB").status_code == 302
    page.saves(approver, {"row_version": seen})
    db.session.expire_all()
    assert db.session.get(PayoutBatch, batch.id).status is BatchStatus.APPROVED


def test_a_tax_profile_changed_at_the_moment_of_the_approval_is_never_approved_unseen(app):
    """PostgreSQL: the save and the approval take turns on the batch's row; whichever comes
    second is refused (an approval of a batch whose payee's profile changed since its page
    showed it, or a change to the profile of a payee of an approved batch)."""
    if not is_postgres(app):
        pytest.skip("racing requests need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    cuc = contractor("Lê Cúc")
    payable_order(cuc)
    drafter, approver, officer = finance_person(), finance_person(), finance_person()
    emails = {"approver": approver.email, "officer": officer.email}
    batch_id = drafted(signed_in(app, drafter)).id
    cuc_id, version = cuc.id, tax.profile_of(cuc.id).version
    db.session.commit()
    db.session.remove()

    def opened(who: str) -> tuple[str, FlaskClient, str]:
        client = app.test_client()
        signing_in = client.post("/login", data={"email": emails[who], "password": PASSWORD})
        assert signing_in.status_code == 302
        seen = approval(batch_id).version_shown(client) if who == "approver" else ""
        return who, client, seen

    def act(tab: tuple[str, FlaskClient, str]) -> tuple[str, int]:
        who, client, seen = tab
        if who == "officer":
            url = f"/finance/tax/people/{cuc_id}"
            data = {**BANK, "bank_account_number": "99998888", "resident": "y"}
            data["version"] = str(version)
        else:
            url, data = f"/finance/payouts/{batch_id}/approve", {"row_version": seen}
        return who, client.post(url, data=data).status_code

    outcome = all_at_once(app, ["approver", "officer"], act, prepare=opened, requests=True)

    assert outcome.errors == []
    answers = dict(outcome.results)
    with app.app_context():
        status = db.session.get(PayoutBatch, batch_id).status
        account = tax.profile_of(cuc_id).bank_account_number
        if status is BatchStatus.APPROVED:
            # the save waited, then found the batch approved
            assert (account, answers["officer"]) == ("11112222", 409)
        else:
            assert status is BatchStatus.DRAFT
            assert (account, answers["approver"]) == ("99998888", 409)


# --- HR's changes to what a batch shows of a payee ----------------------------------------------

DETAILS_CHANGED = "finance.payout_payee_details_changed"


def hr_person(**fields: object) -> User:
    return factories.UserFactory(roles={Role.HR}, **fields)


def payee(name: str, number: str, email: str) -> User:
    """Someone a draft pays, as HR keeps them."""
    person = factories.UserFactory(name=name, employee_number=number, email=email)
    payable_order(person)
    return person


def edit_person(client: FlaskClient, person: User, **changes: object):  # type: ignore[no-untyped-def]
    """Open the person's page in HR and save it with ``changes``."""
    page = client.get(f"/people/{person.id}/edit").get_data(as_text=True)
    shown = re.search(rf'<input[^>]*name="shown"[^>]*value="({FINGERPRINT})"', page)
    assert shown is not None
    data = person_form(person, shown=shown.group(1), **changes)
    return client.post(f"/people/{person.id}/edit", data=data)


def people_token() -> str:
    admin = factories.UserFactory(roles={Role.ADMIN}, name="Quản trị")
    return tokens.create_service_token(
        "Hệ thống HR", (Scope.PEOPLE_WRITE,), company_today() + timedelta(days=90), actor=admin
    ).secret


def import_file(client: FlaskClient, text: str) -> None:
    """Upload ``text`` as HR's people file and confirm it (the import job runs)."""
    uploaded = client.post(
        "/people/import/",
        data={"file": (io.BytesIO(text.encode()), "nhansu.csv")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302, uploaded.get_data(as_text=True)[:500]
    upload = db.session.scalars(select(PeopleImport).order_by(PeopleImport.id.desc())).first()
    assert client.post(f"/people/import/{upload.id}/confirm").status_code == 302
    job = imports.import_job(upload)
    db.session.expire_all()
    assert job is not None
    assert job.state is JobState.SUCCEEDED, job.result


def details_events() -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == DETAILS_CHANGED).order_by(AuditEvent.id)
        )
    )


def test_an_approval_from_a_page_opened_before_hr_renamed_a_payee_is_refused(app):
    """HR corrected a payee's name (what the payroll file and the bank's beneficiary read)
    after the approver opened the batch: its row version stayed, and the approval went
    through for files the approver never saw."""
    cuc = payee("Lê Cúc", "NV1", "cuc@congty.vn")
    payable_order(factories.UserFactory(name="Trần Dũng"))
    _, approver, batch, page, seen = opened_for_approval(app, approver=finance_person(locale="vi"))

    hr = hr_person(name="Vũ Thị Hoa")
    saved = edit_person(signed_in(app, hr), cuc, name="Lê Thị Cúc", employee_number="NV9")
    assert saved.status_code == 302  # a draft never stops HR
    refused = page.refuses(approver, {"row_version": seen})

    assert (
        "Đợt chi trả này đã thay đổi sau khi bạn mở trang, nên chưa được duyệt: "
        "Vũ Thị Hoa đã thay đổi thông tin nhân sự của Lê Thị Cúc (Mã nhân viên, Tên)."
    ) in refused.text
    db.session.expire_all()
    assert db.session.get(PayoutBatch, batch.id).status is BatchStatus.DRAFT
    assert approvals() == 0
    [event] = details_events()
    assert (event.target_id, event.actor_id, event.details["user_id"]) == (
        str(batch.id),
        hr.id,
        cuc.id,
    )
    assert event.details["changed"] == ["employee_number", "name"]
    assert event.details["row_version"] == int(refused.version) > int(seen)

    page.saves(approver, {"row_version": refused.version})
    db.session.expire_all()
    assert db.session.get(PayoutBatch, batch.id).status is BatchStatus.APPROVED


def test_a_people_import_changing_a_payee_moves_the_draft_on(app):
    cuc = payee("Lê Cúc", "NV1", "cuc@congty.vn")
    _, approver, _, page, seen = opened_for_approval(app, approver=finance_person(locale="en"))

    hr = hr_person(name="Vũ Thị Hoa")
    import_file(
        signed_in(app, hr),
        "employee_number,email,name,employment_type\nNV1,cuc@congty.vn,Lê Cúc,contractor\n",
    )
    refused = page.refuses(approver, {"row_version": seen})

    assert (
        "This batch changed after you opened it, so it was not approved: Vũ Thị Hoa changed "
        "the HR details of Lê Cúc (Employment type)."
    ) in refused.text
    [event] = details_events()
    assert (event.actor_id, event.details["user_id"], event.details["changed"]) == (
        hr.id,
        cuc.id,
        ["employment_type"],
    )
    assert db.session.get(User, cuc.id).employment_type is EmploymentType.CONTRACTOR


@pytest.mark.parametrize("how", ["put", "batch"])
def test_the_api_changing_a_payee_moves_the_draft_on(app, how):
    cuc = payee("Lê Cúc", "NV1", "cuc@congty.vn")
    _, approver, _, page, seen = opened_for_approval(app, approver=finance_person(locale="en"))

    headers = {"Authorization": f"Bearer {people_token()}"}
    record = {"email": "cuc.le@congty.vn", "name": "Lê Cúc"}
    api = app.test_client()
    if how == "put":
        answer = api.put("/api/v1/people/NV1", headers=headers, json=record)
    else:
        batch_of_one = {"people": [{**record, "employee_number": "NV1"}]}
        answer = api.post("/api/v1/people", headers=headers, json=batch_of_one)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["updated"] == 1
    refused = page.refuses(approver, {"row_version": seen})

    assert "Quản trị changed the HR details of Lê Cúc (E-mail)" in refused.text
    [event] = details_events()
    assert (event.details["user_id"], event.details["changed"]) == (cuc.id, ["email"])


def test_hr_changes_that_do_not_change_the_batch_leave_the_approval_alone(app):
    """Saving a payee as they are, changing what no batch file shows of them (their
    location), or renaming someone the draft does not pay (left out, or not in it), is no
    change of the batch."""
    cuc, dung = payee("Lê Cúc", "NV1", "cuc@congty.vn"), payee("Trần Dũng", "NV2", "d@congty.vn")
    outside = factories.UserFactory(name="Vũ Em", employee_number="NV3", email="em@congty.vn")
    _, approver, batch, page, seen = opened_for_approval(app, leaving_out=dung)

    hr = signed_in(app, hr_person())
    assert edit_person(hr, cuc).status_code == 302
    assert edit_person(hr, cuc, location="Đà Nẵng").status_code == 302
    assert edit_person(hr, dung, name="Trần Văn Dũng").status_code == 302
    assert edit_person(hr, outside, name="Vũ Thị Em").status_code == 302
    import_file(hr, "employee_number,email,name\nNV1,cuc@congty.vn,Lê Cúc\nNV3,em@congty.vn,Em\n")
    assert details_events() == []
    page.saves(approver, {"row_version": seen})
    db.session.expire_all()
    assert db.session.get(PayoutBatch, batch.id).status is BatchStatus.APPROVED


def test_hr_changes_a_payee_of_an_approved_batch_which_stays_as_it_was(app):
    """Unlike a tax profile's change, HR's is never refused (a nightly sync must not fail
    because finance approved a batch), and the approved batch is left as it is."""
    cuc = payee("Lê Cúc", "NV1", "cuc@congty.vn")
    _, approver, batch, page, seen = opened_for_approval(app)
    page.saves(approver, {"row_version": seen})
    db.session.expire_all()
    approved = db.session.get(PayoutBatch, batch.id)
    version, updated_at = approved.row_version, approved.updated_at

    hr = signed_in(app, hr_person())
    assert edit_person(hr, cuc, name="Lê Thị Cúc").status_code == 302
    import_file(hr, "employee_number,email,name\nNV1,cuc@congty.vn,Lê Cúc Mới\n")

    db.session.expire_all()
    assert db.session.get(User, cuc.id).name == "Lê Cúc Mới"
    kept = db.session.get(PayoutBatch, batch.id)
    assert (kept.status, kept.row_version, kept.updated_at) == (
        BatchStatus.APPROVED,
        version,
        updated_at,
    )
    assert details_events() == []


def test_an_import_by_nobody_is_named_as_the_system(app):
    """``flask perks import-people`` imports as nobody: the refusal still names the change."""
    payee("Lê Cúc", "NV1", "cuc@congty.vn")
    _, approver, _, page, seen = opened_for_approval(app, approver=finance_person(locale="en"))

    imports.apply_import(
        "employee_number,email,name\nNV1,cuc@congty.vn,Lê Thị Cúc\n", actor=None, filename="f.csv"
    )
    refused = page.refuses(approver, {"row_version": seen})

    assert "System changed the HR details of Lê Thị Cúc (Name)" in refused.text

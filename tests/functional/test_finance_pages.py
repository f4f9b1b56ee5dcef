"""Finance's pages: the report and its lines, payout batches through the browser's requests
(four eyes), reconciliation; and their commands."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from perks.audit import AuditEvent
from perks.background import BackgroundJob, JobState
from perks.commissions.models import Commission, CommissionState, EntryKind, LedgerEntry
from perks.extensions import db
from perks.finance import reports
from perks.finance.models import BatchStatus, PayoutBatch
from perks.i18n import company_today
from perks.mail import OutboxMessage
from perks.people.models import Role
from perks.shop.models import Order
from tests import factories
from tests.helpers import counting_statements, login
from tests.unit.finance.helpers import finance_person, payable_order, refund_to


@pytest.fixture(autouse=True)
def _rule() -> None:
    factories.CommissionRuleFactory()  # 10 % of every line


def _batch() -> PayoutBatch:
    db.session.expire_all()
    return db.session.scalars(select(PayoutBatch)).one()


def _drafted_and_approved(client: FlaskClient, app: Flask) -> tuple[PayoutBatch, FlaskClient]:
    """A batch of what is payable today, drafted through the pages by one finance person (signed
    in on ``client``) and approved by another (on the client returned)."""
    login(client, finance_person())
    client.post("/finance/payouts", data={"cutoff": company_today().isoformat()})
    batch = _batch()
    other = app.test_client()
    login(other, finance_person())
    other.post(f"/finance/payouts/{batch.id}/approve", data={"row_version": str(batch.row_version)})
    return _batch(), other


def test_the_report_groups_the_period_and_ties_to_the_ledger(client, login_as):
    sales = factories.DepartmentFactory(name="Kinh doanh")
    an = factories.UserFactory(name="Nguyễn An", department_id=sales.id)
    binh = factories.UserFactory(name="Trần Bình")
    payable_order(an)
    payable_order(binh, quantity=2)
    login_as(Role.FINANCE)
    page = client.get("/finance/reports?group=person")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Nguyễn An" in html
    assert "Trần Bình" in html
    assert "ties to the ledger" in html
    assert 'data-testid="commission-chart"' in html
    by_department = client.get("/finance/reports?group=department").get_data(as_text=True)
    assert "Kinh doanh" in by_department
    assert "No department" in by_department


def test_the_quarters_read_in_the_readers_language(client, login_as):
    login_as(Role.FINANCE, locale="vi")
    html = client.get("/finance/reports").get_data(as_text=True)
    year, quarter = company_today().year, (company_today().month + 2) // 3
    assert f'<option selected value="{year}-Q{quarter}">Quý {quarter}/{year}</option>' in html


def test_drilling_down_shows_the_lines_of_one_group(client, login_as):
    an, binh = factories.UserFactory(name="Nguyễn An"), factories.UserFactory(name="Trần Bình")
    order = payable_order(an)
    other = payable_order(binh)
    login_as(Role.FINANCE)
    html = client.get("/finance/reports?group=person").get_data(as_text=True)
    links = re.findall(r'href="(/finance/reports/lines\?[^"]+)"', html)
    assert len(links) == 2
    lines = [client.get(link.replace("&amp;", "&")).get_data(as_text=True) for link in links]
    mine = next(text for text in lines if "Nguyễn An" in text)
    assert order.number in mine
    assert other.number not in mine


def test_the_report_by_person_is_paged_most_earned_first_and_the_search_finds_one(
    client, login_as, monkeypatch
):
    people = [factories.UserFactory(name=f"Người {n}") for n in range(3)]
    for quantity, person in enumerate(people, start=1):
        payable_order(person, quantity=quantity)
    login_as(Role.FINANCE)
    monkeypatch.setattr(reports, "PEOPLE_PER_PAGE", 2)
    first = client.get("/finance/reports?group=person").get_data(as_text=True)
    second = client.get("/finance/reports?group=person&page=2").get_data(as_text=True)
    assert "Người 2" in first
    assert "Người 1" in first
    assert "Người 0" not in first
    assert first.index("Người 2") < first.index("Người 1")
    assert "Người 0" in second
    assert "Người 2" not in second
    assert "ties to the ledger" in first
    assert "ties to the ledger" in second
    one = client.get("/finance/reports", query_string={"person": people[1].email})
    assert one.status_code == 200
    html = one.get_data(as_text=True)
    assert "Người 1" in html
    assert "Người 2" not in html
    by_id = client.get(f"/finance/reports?person={people[1].id}").get_data(as_text=True)
    assert "Người 1" in by_id
    assert "Người 0" not in by_id
    nobody = client.get("/finance/reports?person=zzz-nobody")
    assert nobody.status_code == 400
    assert "Nobody matches" in nobody.get_data(as_text=True)


@pytest.mark.parametrize("person", ["99999999999999999999999", "2147483648", "²"])
def test_a_person_searched_by_a_number_that_is_no_id_is_a_clear_400(client, login_as, person):
    """A long number pasted in the person search (a bank account, a tax code with its branch
    digits run together) or a superscript digit was taken for an id: 500 (SQLite cannot hold
    it; ``int("²")`` fails)."""
    login_as(Role.FINANCE)
    for url in ("/finance/reports", "/finance/reports/lines", "/finance/commissions"):
        response = client.get(url, query_string={"person": person})
        assert response.status_code == 400, url
        assert "Nobody matches" in response.get_data(as_text=True)


@pytest.mark.parametrize("page", ["0", "-1", "abc", "2000000"])
def test_a_page_number_out_of_range_shows_a_page_as_every_list_does(client, login_as, page):
    """A page number edited in the address bar, or a link kept from an older list: the other
    lists show the first page (or the last); these showed their filters and nothing else,
    no figure and no message, with a 400."""
    person = factories.UserFactory(name="Người được trả")
    payable_order(person)
    login_as(Role.FINANCE)
    for url in ("/finance/reports", "/finance/reports/lines", "/finance/commissions"):
        response = client.get(url, query_string={"page": page})
        assert response.status_code == 200, url
        assert "Người được trả" in response.get_data(as_text=True), url


def test_a_bad_period_is_a_clear_400(client, login_as):
    login_as(Role.FINANCE)
    response = client.get("/finance/reports?period=custom&start=2026-05-01&end=2026-04-01")
    assert response.status_code == 400
    assert "The last day cannot be before the first day." in response.get_data(as_text=True)
    assert client.get("/finance/reports?period=month&month=2026-13").status_code == 400
    assert client.get("/finance/reports?department=abc").status_code == 400


def test_pages_run_a_fixed_number_of_statements(client, login_as):
    login_as(Role.FINANCE)

    def statements(url: str) -> int:
        with counting_statements() as sent:
            assert client.get(url).status_code == 200
        return len(sent)

    urls = ["/finance/reports?group=product", "/finance/reports/lines", "/finance/payouts"]
    payable_order(factories.UserFactory())
    client.post("/finance/payouts", data={"cutoff": company_today().isoformat()})
    before = [statements(url) for url in urls]
    for _i in range(6):
        payable_order(factories.UserFactory())
    client.post("/finance/payouts", data={"cutoff": company_today().isoformat()})
    after = [statements(url) for url in urls]
    assert db.session.scalar(select(func.count()).select_from(PayoutBatch)) == 2
    assert after == before


def test_csv_download_is_streamed_neutralised_and_audited(client, login_as):
    person = factories.UserFactory(name="=HYPERLINK(1)", employee_number="+84")
    payable_order(person)
    actor = login_as(Role.FINANCE)
    response = client.get("/finance/exports/commissions.csv?period=month")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # the charset once
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert len(rows) == 1
    assert rows[0]["employee_name"] == "'=HYPERLINK(1)"
    assert rows[0]["employee_id"] == "'+84"
    assert rows[0]["amount"] == "240000"
    exported = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "finance.export")
    ).one()
    assert exported.actor_id == actor.id
    assert exported.details["rows"] == 1
    assert exported.details["format"] == "csv"


def test_xlsx_download_opens_in_openpyxl(client, login_as):
    import openpyxl

    payable_order(factories.UserFactory(name="@SUM(1)"))
    login_as(Role.FINANCE)
    response = client.get("/finance/exports/ledger.xlsx?period=month")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, sheet[2], strict=True))
    assert row["employee_name"].value == "@SUM(1)"
    assert row["employee_name"].data_type == "s"
    assert row["amount"].value == 240_000
    assert row["amount"].data_type == "n"


@pytest.mark.parametrize(
    "url",
    [
        "/finance/exports?period=month&person=nobody-by-that-name",
        "/finance/exports/ledger.csv?period=custom&start=2026-03-31&end=2026-03-01",
    ],
)
def test_a_refused_filter_offers_no_file_of_another_filter(client, login_as, url):
    """The page says the filter is refused; its download buttons gave the whole company's
    month, which someone who missed the message took for the file they asked for."""
    payable_order(factories.UserFactory())
    login_as(Role.FINANCE)
    response = client.get(url)
    assert response.status_code == 400
    assert "/finance/exports/commissions.csv" not in response.get_data(as_text=True)


def test_an_unknown_export_is_404(client, login_as):
    login_as(Role.FINANCE)
    assert client.get("/finance/exports/people.csv").status_code == 404
    assert client.get("/finance/exports/ledger.pdf").status_code == 404


def test_four_eyes_through_the_pages_then_the_employee_sees_paid(client, app):
    employee = factories.UserFactory(name="Lê Cúc", email="cuc@example.com")
    order = payable_order(employee)
    drafter = finance_person()
    approver = finance_person()
    login(client, drafter)
    response = client.post("/finance/payouts", data={"cutoff": company_today().isoformat()})
    batch = _batch()
    assert response.headers["Location"].endswith(f"/finance/payouts/{batch.id}")
    page = client.get(f"/finance/payouts/{batch.id}").get_data(as_text=True)
    assert "another finance person must approve it" in page
    # each entry in words: its kind and reason as labels, not the codes stored
    assert "· Earned · ₫240,000 · " in page
    assert " · order used</li>" in page
    assert "· earn ·" not in page
    client.post(
        f"/finance/payouts/{batch.id}/approve", data={"row_version": str(batch.row_version)}
    )
    assert _batch().status is BatchStatus.DRAFT  # the drafter cannot approve

    other = app.test_client()
    login(other, approver)
    other.post(f"/finance/payouts/{batch.id}/approve", data={"row_version": str(batch.row_version)})
    assert _batch().status is BatchStatus.APPROVED

    payroll = client.get(f"/finance/payouts/{batch.id}/payroll.csv")
    assert payroll.status_code == 200
    assert payroll.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(payroll.get_data().decode("utf-8-sig"), newline="")))
    assert rows[1][1:] == [
        "",
        "Lê Cúc",
        "cuc@example.com",
        "240000",
        "VND",
        "payroll",
        "0",
        "240000",
    ]
    paid = client.post(f"/finance/payouts/{batch.id}/paid", data={"payment_reference": "PR-11"})
    job = db.session.scalars(select(BackgroundJob)).one()
    assert paid.headers["Location"] == f"/jobs/{job.token}"
    job_page = client.get(paid.headers["Location"]).get_data(as_text=True)
    assert "The batch is paid; everyone in it has been told." in job_page
    assert f'href="/finance/payouts/{batch.id}"' in job_page
    assert _batch().status is BatchStatus.PAID
    told = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == "cuc@example.com")
    ).all()
    assert sum(batch.reference in message.body_text for message in told) == 1
    commission = db.session.scalars(select(Commission).where(Commission.order_id == order.id)).one()
    assert commission.state is CommissionState.PAID

    mine = app.test_client()
    login(mine, employee)
    earnings = mine.get("/earnings").get_data(as_text=True)
    assert "Paid" in earnings


def test_excluding_and_cancelling_through_the_pages(client, login_as):
    an = factories.UserFactory()
    payable_order(an)
    login_as(Role.FINANCE)
    client.post("/finance/payouts", data={"cutoff": company_today().isoformat()})
    batch = _batch()
    line = batch.lines[0]
    response = client.post(
        f"/finance/payouts/{batch.id}/lines/{line.id}/exclude", data={"reason": ""}
    )
    assert response.status_code == 302
    client.post(f"/finance/payouts/{batch.id}/lines/{line.id}/exclude", data={"reason": "On leave"})
    page = client.get(f"/finance/payouts/{batch.id}").get_data(as_text=True)
    assert "On leave" in page
    assert 'data-line-status="excluded"' in page
    client.post(f"/finance/payouts/{batch.id}/cancel", data={"reason": "Redo"})
    assert _batch().status is BatchStatus.CANCELLED


def test_another_batchs_line_is_not_found(client, login_as):
    payable_order(factories.UserFactory())
    login_as(Role.FINANCE)
    client.post("/finance/payouts", data={"cutoff": company_today().isoformat()})
    batch = _batch()
    response = client.post(
        f"/finance/payouts/{batch.id + 1}/lines/{batch.lines[0].id}/exclude",
        data={"reason": "x"},
    )
    assert response.status_code == 404


def test_reconciliation_lists_findings_with_links_to_the_order(client, login_as):
    employee = factories.UserFactory()
    refunded = payable_order(employee)
    refund_to(refunded, 1_000_000)
    mismatch = factories.OrderFactory(mismatch="Stripe reported 1 ₫")
    stale = factories.OrderFactory()
    stale.checkout_expires_at = stale.created_at - timedelta(hours=2)
    # A refund the commissions never heard of: Stripe's total moved, nothing was taken back.
    silent = payable_order(employee)
    silent.refunded_amount = 1_200_000
    db.session.commit()
    login_as(Role.FINANCE)
    html = client.get("/finance/reconciliation").get_data(as_text=True)
    kinds = re.findall(r'data-kind="([a-z_]+)"', html)
    assert sorted(kinds) == ["amount_mismatch", "missing_expiry", "refund_without_reversal"]
    assert f'href="/manage/orders/{silent.id}"' in html
    assert f">{mismatch.number}<" in html
    assert f">{stale.number}<" in html
    assert f">{refunded.number}<" not in html  # its refund was taken back properly


def test_export_command_writes_the_file_with_a_progress_bar(runner, tmp_path):
    payable_order(factories.UserFactory(name="-1+2"))
    target = tmp_path / "ledger.csv"
    today = company_today().isoformat()
    result = runner.invoke(
        args=["perks", "export", "ledger", "--from", today, "--to", today, "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert "1 row written" in result.output
    rows = list(csv.DictReader(io.StringIO(target.read_text("utf-8-sig"), newline="")))
    assert rows[0]["employee_name"] == "'-1+2"
    xlsx = tmp_path / "lines.xlsx"
    result = runner.invoke(
        args=[
            "perks", "export", "commissions", "--from", today, "--to", today,
            "--format", "xlsx", "--output", str(xlsx),
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    import openpyxl

    assert openpyxl.load_workbook(xlsx).active.max_row == 2
    bad = runner.invoke(
        args=["perks", "export", "ledger", "--from", "x", "--to", today, "--output", str(target)]
    )
    assert bad.exit_code != 0
    assert "2026-11-30" in bad.output  # "Enter a day like 2026-11-30", in the company's language


def test_reconcile_command_exits_1_on_findings(runner):
    today = company_today().isoformat()
    args = ["perks", "reconcile", "--from", today, "--to", today, "--no-stripe"]
    ok = runner.invoke(args=[*args, "--language", "en"])
    assert ok.exit_code == 0, ok.output
    assert "Everything agrees." in ok.output
    order = factories.OrderFactory(mismatch="Stripe reported 1 ₫")
    found = runner.invoke(
        args=["perks", "reconcile", "--from", today, "--to", today, "--no-stripe"]
    )
    assert found.exit_code == 1
    assert f"amount_mismatch\t{order.number}" in found.output
    assert db.session.get(Order, order.id).mismatch


# Large exports and payouts in the background ----------------------------------------------------


def test_an_export_above_the_threshold_is_made_by_a_job_then_downloaded_and_audited(
    client, app, login_as, monkeypatch
):
    for name in ("An", "=Bình", "Chi"):
        payable_order(factories.UserFactory(name=name))
    actor = login_as(Role.FINANCE)
    direct = client.get("/finance/exports/commissions.csv?period=month").get_data()
    monkeypatch.setitem(app.config, "EXPORT_BACKGROUND_ROWS", 2)

    offered = client.get("/finance/exports/commissions.csv?period=month")

    assert offered.status_code == 200
    assert offered.mimetype == "text/html"
    html = offered.get_data(as_text=True)
    assert 'data-testid="export-large"' in html
    assert "This export has 3 rows." in html
    audited = select(AuditEvent).where(AuditEvent.action == "finance.export")
    assert len(db.session.scalars(audited).all()) == 1  # the direct download only

    started = client.post("/finance/exports/commissions.csv?period=month")
    job = db.session.scalars(select(BackgroundJob)).one()
    assert started.headers["Location"] == f"/jobs/{job.token}"
    assert job.state is JobState.SUCCEEDED
    assert job.created_by_id == actor.id
    assert (job.result["rows"], job.done, job.total) == (3, 3, 3)
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert f'href="/finance/exports/jobs/{job.token}/file"' in page
    assert len(db.session.scalars(audited).all()) == 1  # making the file is not a download

    download = client.get(f"/finance/exports/jobs/{job.token}/file")

    assert download.status_code == 200
    assert download.is_streamed
    assert download.mimetype == "text/csv"
    assert f'filename="{job.file["name"]}"' in download.headers["Content-Disposition"]
    body = download.get_data()
    assert body == direct  # the same file as the direct download, byte for byte
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert sorted(row["employee_name"] for row in rows) == ["'=Bình", "An", "Chi"]
    event = db.session.scalars(audited.order_by(AuditEvent.id.desc())).first()
    assert event.actor_id == actor.id
    assert (event.details["rows"], event.details["complete"]) == (3, True)
    assert event.details["job"] == job.token
    assert event.details["format"] == "csv"

    # The export list page lists it for its maker to come back to.
    exports_page = client.get("/finance/exports").get_data(as_text=True)
    assert f"/jobs/{job.token}" in exports_page


def test_an_exports_page_once_its_file_is_deleted_says_so_instead_of_offering_it(
    client, app, login_as, monkeypatch
):
    """After its days, the sweep deletes an export's file; the job's page went on saying
    "kept until" a date gone by, with a Download button that answered 404."""
    from perks import background
    from perks.db import transaction, utcnow

    for _ in range(2):
        payable_order(factories.UserFactory())
    login_as(Role.FINANCE, locale="en")
    monkeypatch.setitem(app.config, "EXPORT_BACKGROUND_ROWS", 1)
    client.post("/finance/exports/ledger.csv?period=month")
    job = db.session.scalars(select(BackgroundJob)).one()
    with transaction():
        job.finished_at = utcnow() - timedelta(days=background.FILE_KEEP_DAYS, minutes=1)
    background.resume_stalled_jobs()

    page = client.get(f"/jobs/{job.token}").get_data(as_text=True)

    assert client.get(f"/finance/exports/jobs/{job.token}/file").status_code == 404
    assert 'data-testid="download-export"' not in page
    assert "The file is kept until" not in page
    assert 'data-testid="export-file-gone"' in page
    assert "has been deleted" in page


def test_a_background_xlsx_export_opens_in_openpyxl(client, app, login_as, monkeypatch):
    import openpyxl

    for _ in range(3):
        payable_order(factories.UserFactory(name="@SUM(1)"))
    login_as(Role.FINANCE)
    monkeypatch.setitem(app.config, "EXPORT_BACKGROUND_ROWS", 2)

    client.post("/finance/exports/ledger.xlsx?period=month")
    job = db.session.scalars(select(BackgroundJob)).one()
    download = client.get(f"/finance/exports/jobs/{job.token}/file")

    assert download.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(download.get_data())).active
    assert sheet.max_row == 4
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, sheet[2], strict=True))
    assert row["employee_name"].value == "@SUM(1)"
    assert row["amount"].value == 240_000


def test_an_xlsx_beyond_what_a_spreadsheet_holds_is_not_made_and_the_csv_is_offered(
    client, app, login_as, monkeypatch
):
    """A sheet holds 1,048,576 rows: a longer ledger export was made whole, and Excel
    opened it without its last rows (after a warning few read). The same file as CSV is
    offered instead, and a POST that asks for the spreadsheet anyway is refused."""
    from perks.finance import exports

    for _ in range(3):
        payable_order(factories.UserFactory())
    login_as(Role.FINANCE, locale="en")
    monkeypatch.setitem(app.config, "EXPORT_BACKGROUND_ROWS", 1)
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 2)  # the sheet's limit, less the header

    offered = client.get("/finance/exports/ledger.xlsx?period=month")
    html = offered.get_data(as_text=True)

    assert offered.status_code == 200
    assert 'data-testid="prepare-export"' not in html
    assert "A spreadsheet holds at most 2 rows; this export has 3." in html
    assert re.search(r'href="/finance/exports/ledger\.csv\?period=custom[^"]*" data-testid', html)
    refused = client.post("/finance/exports/ledger.xlsx?period=month")
    assert refused.status_code == 400
    assert db.session.scalars(select(BackgroundJob)).all() == []
    assert client.get("/finance/exports/ledger.csv?period=month").status_code == 200


def test_a_background_export_is_only_for_its_maker_and_admins(client, app, login_as, monkeypatch):
    for _ in range(2):
        payable_order(factories.UserFactory())
    login_as(Role.FINANCE)
    monkeypatch.setitem(app.config, "EXPORT_BACKGROUND_ROWS", 1)
    client.post("/finance/exports/ledger.csv?period=month")
    job = db.session.scalars(select(BackgroundJob)).one()

    colleague = app.test_client()
    login(colleague, finance_person())
    admin = app.test_client()
    login(admin, factories.UserFactory(roles={Role.ADMIN}))

    assert colleague.get(f"/finance/exports/jobs/{job.token}/file").status_code == 404
    assert colleague.get(f"/jobs/{job.token}").status_code == 404
    assert admin.get(f"/finance/exports/jobs/{job.token}/file").status_code == 200


def test_marking_a_batch_paid_twice_pays_once(client, app):
    employee = factories.UserFactory(email="an@example.com")
    payable_order(employee)
    batch, _approver = _drafted_and_approved(client, app)

    first = client.post(f"/finance/payouts/{batch.id}/paid", data={"payment_reference": "PR-1"})
    second = client.post(f"/finance/payouts/{batch.id}/paid", data={"payment_reference": "PR-2"})

    assert first.headers["Location"].startswith("/jobs/")
    assert second.headers["Location"].endswith(f"/finance/payouts/{batch.id}")
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "Only an approved batch can be marked paid; this one is Paid." in page
    assert _batch().payment_reference == "PR-1"
    payouts_made = db.session.scalar(
        select(func.count()).where(
            LedgerEntry.kind == EntryKind.PAYOUT, LedgerEntry.user_id == employee.id
        )
    )
    assert payouts_made == 1
    told = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == "an@example.com")
    ).all()
    assert sum(batch.reference in message.body_text for message in told) == 1


def test_the_report_reads_its_column_names_from_the_glossary(client):
    """ "Entries" are ledger entries (bút toán) here, not draw entries (lượt đăng ký)."""
    from perks import glossary

    payable_order(factories.UserFactory(name="Nguyễn An"))
    login(client, factories.UserFactory(roles={Role.FINANCE}, locale="vi"))
    html = client.get("/finance/reports?group=person").get_data(as_text=True)
    table = html[html.index('data-testid="report-rows"') :]
    headers = re.findall(r"<th[^>]*>([^<]+)</th>", table[: table.index("</thead>")])
    assert headers == [
        "Người",
        *(
            term.vietnamese
            for term in (
                glossary.CURRENCY,
                glossary.ENTRIES,
                glossary.EARNED,
                glossary.TAKEN_BACK,
                glossary.ADJUSTMENTS,
                glossary.NET_COMMISSIONS,
                glossary.PAID_OUT,
            )
        ),
    ]
    assert "Lượt đăng ký" not in html


def test_every_finance_person_can_follow_a_batch_being_marked_paid(client, app):
    """The batch page tells everyone in finance "This batch is being marked paid. See the
    progress", and "Mark paid" sent by a second person while it runs leads to that job; but
    the job's page was the starter's alone, so both answered 404 "We could not find what you
    were looking for". Finance now sees the page of a batch being paid; others still do not."""
    from perks.db import utcnow
    from perks.finance import payouts

    payable_order(factories.UserFactory(email="an@example.com"))
    batch, other = _drafted_and_approved(client, app)
    # the drafter asked for it; a worker is halfway through
    job = BackgroundJob(
        kind=payouts.PAID_JOB_KIND,
        subject=f"payout_batch:{batch.id}",
        payload={"batch_id": batch.id, "reference": batch.reference, "payment_reference": "PR-1"},
        locale="en",
        created_by_id=batch.drafted_by_id,
        state=JobState.RUNNING,
        total=1,
        heartbeat_at=utcnow(),
    )
    db.session.add(job)
    db.session.commit()

    page = other.get(f"/finance/payouts/{batch.id}").get_data(as_text=True)
    assert f'href="/jobs/{job.token}"' in page
    progress = other.get(f"/jobs/{job.token}")
    assert progress.status_code == 200
    assert "Marking a payout batch paid" in progress.get_data(as_text=True)
    assert other.get(f"/jobs/{job.token}/status").get_json()["state"] == "running"
    again = other.post(f"/finance/payouts/{batch.id}/paid", data={"payment_reference": "PR-2"})
    assert again.headers["Location"] == f"/jobs/{job.token}"
    assert other.get(again.headers["Location"]).status_code == 200

    hr = app.test_client()
    login(hr, factories.UserFactory(roles={Role.HR}))
    assert hr.get(f"/jobs/{job.token}").status_code == 404


def test_a_workbook_names_its_sheet_in_the_readers_language(client, app, login_as):
    """The ledger and commission workbooks' tabs read "Ledger" and "Commissions", and a batch's
    every-line workbook "Payroll" and "Payout PO-…", to a Vietnamese finance team, whose
    payroll and bank files (and the page they came from) speak Vietnamese."""
    import openpyxl

    from perks import glossary

    payable_order(factories.UserFactory(name="Nguyễn An"))
    login_as(Role.FINANCE, locale="vi")
    for name, term in (("ledger", glossary.LEDGER), ("commissions", glossary.COMMISSIONS)):
        response = client.get(f"/finance/exports/{name}.xlsx?period=month")
        book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
        assert book.sheetnames == [term.vietnamese], name

    login(client, finance_person(locale="vi"))
    client.post("/finance/payouts", data={"cutoff": company_today().isoformat()})
    batch = _batch()
    approver = app.test_client()
    login(approver, finance_person(locale="vi"))
    approver.post(
        f"/finance/payouts/{batch.id}/approve", data={"row_version": str(batch.row_version)}
    )
    response = approver.get(f"/finance/payouts/{batch.id}/payroll.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == [glossary.PAYROLL.vietnamese]
    assert book.properties.title == f"Đợt chi trả {batch.reference}"

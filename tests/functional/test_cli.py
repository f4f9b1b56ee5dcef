"""``flask perks demo`` and ``flask perks create-admin``: both idempotent (the demo company
itself is checked by tests/functional/test_demo.py, on one seed)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from perks.extensions import db
from perks.people.models import Role, User
from tests import factories
from tests.helpers import PRODUCTION_SETTINGS, login


def people_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


@pytest.mark.usefixtures("_schema")  # the tables, even when this test runs first
def test_demo_without_its_stripe_sandbox_writes_nothing_and_says_why(app_factory, monkeypatch):
    from perks import demo_activity

    monkeypatch.setattr(demo_activity, "SANDBOX_START_SECONDS", 0.5)
    nobody = app_factory(STRIPE_API_BASE="http://127.0.0.1:9")  # nothing listens there

    result = nobody.test_cli_runner().invoke(args=["perks", "demo"])

    assert result.exit_code == 1
    assert "Error: the Stripe sandbox does not answer at http://127.0.0.1:9" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a RuntimeError
    with nobody.app_context():
        assert people_count() == 0


@pytest.mark.usefixtures("_schema")
def test_demo_refuses_a_production_app_and_writes_nothing(app_factory):
    """A production database is empty until its first administrator: the demo filled it with
    60 made-up people and an administrator whose password the README prints."""
    production = app_factory(**PRODUCTION_SETTINGS)

    result = production.test_cli_runner().invoke(args=["perks", "demo"])

    assert result.exit_code == 1
    assert "Error: the demo company is for development and demos" in result.output
    assert "PERKS_ENV=production" in result.output
    assert "Traceback" not in result.output
    assert "perks-demo-2026" not in result.output
    with production.app_context():
        assert people_count() == 0


def test_create_admin_is_idempotent(runner, client):
    args = ["perks", "create-admin", "Boss@Example.com", "--password", "a long admin password"]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert "Created administrator boss@example.com" in first.output
    second = runner.invoke(args=args)
    assert "Updated administrator" in second.output
    assert people_count() == 1
    admin = db.session.scalar(select(User))
    assert Role.ADMIN in admin.roles
    login(client, admin, "a long admin password")


def test_create_admin_refuses_a_short_password(runner):
    result = runner.invoke(args=["perks", "create-admin", "b@example.com", "--password", "short"])
    assert result.exit_code != 0
    assert "12" in result.output  # the rule, in the default language
    assert people_count() == 0


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_export_to_a_missing_folder_says_so_and_audits_nothing(runner, tmp_path, file_format):
    from perks.audit import AuditEvent

    output = tmp_path / "missing" / f"out.{file_format}"
    args = ["perks", "export", "ledger", "--from", "2026-01-01", "--to", "2026-01-31"]
    result = runner.invoke(args=[*args, "--format", file_format, "--output", str(output)])

    assert result.exit_code == 1
    assert f"Cannot write {output}: No such file or directory." in result.output
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_export_speaks_the_chosen_language_in_its_errors(runner, tmp_path):
    args = ["perks", "export", "ledger", "--from", "1/1/2026", "--to", "2026-01-31"]
    result = runner.invoke(args=[*args, "--output", str(tmp_path / "x.csv"), "--language", "en"])

    assert result.exit_code == 1
    assert "Enter a day like 2026-11-30." in result.output
    assert not (tmp_path / "x.csv").exists()


def test_verify_draw_names_an_unknown_or_absurd_draw_id(runner):
    unknown = runner.invoke(args=["perks", "verify-draw", "999"])
    assert unknown.exit_code == 1
    assert "No draw 999 exists." in unknown.output

    absurd = runner.invoke(args=["perks", "verify-draw", "9" * 30])
    assert absurd.exit_code == 2
    assert "is not in the range" in absurd.output
    assert not isinstance(absurd.exception, OverflowError)


def test_create_admin_refuses_a_bad_email_in_the_default_language(runner):
    result = runner.invoke(args=["perks", "create-admin", "not-an-email", "--password", "x" * 12])

    assert result.exit_code == 1
    assert "Hãy nhập địa chỉ email hợp lệ." in result.output  # Vietnamese, as the password rule
    assert people_count() == 0


def test_create_admin_refuses_an_empty_name(runner):
    args = ["perks", "create-admin", "boss@example.com", "--password", "x" * 12, "--name"]
    result = runner.invoke(args=[*args, "   "])

    assert result.exit_code == 1
    assert "Hãy nhập tên." in result.output
    assert people_count() == 0


def test_demo_on_a_seeded_database_does_not_claim_the_password_it_was_given(runner):
    runner.invoke(args=["perks", "create-admin", "boss@example.com", "--password", "x" * 12])

    result = runner.invoke(args=["perks", "demo", "--password", "not-their-password"])

    assert result.exit_code == 0, result.output
    assert "nothing added" in result.output
    assert "not-their-password" not in result.output  # they keep the one they were made with


@pytest.mark.parametrize("currency", ["XYZ", "eur"])
def test_export_refuses_a_currency_the_exports_page_does_not_offer(runner, tmp_path, currency):
    from perks.audit import AuditEvent

    output = tmp_path / "out.csv"
    args = ["perks", "export", "ledger", "--from", "2026-01-01", "--to", "2026-01-31"]
    result = runner.invoke(
        args=[*args, "--currency", currency, "--output", str(output), "--language", "en"]
    )

    assert result.exit_code == 1
    assert f"No commission or adjustment is in {currency.upper()}." in result.output
    assert "Choose one of: VND." in result.output  # the default currency, offered by the page
    assert not output.exists()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_export_in_an_offered_currency_without_rows_writes_only_the_header(runner, tmp_path):
    output = tmp_path / "out.csv"
    args = ["perks", "export", "ledger", "--from", "2026-01-01", "--to", "2026-01-31"]
    result = runner.invoke(args=[*args, "--currency", " vnd ", "--output", str(output)])

    assert result.exit_code == 0, result.output
    assert "0 rows written" in result.output
    assert output.read_text(encoding="utf-8-sig").startswith("entry_id,entry_date,")
    assert len(output.read_text(encoding="utf-8-sig").splitlines()) == 1


@pytest.mark.parametrize("password", ["short", "", "x" * 129])
def test_demo_refuses_a_password_the_password_pages_would_refuse(runner, password):
    result = runner.invoke(args=["perks", "demo", "--password", password])

    assert result.exit_code == 1
    rule = "tối đa 128 ký tự" if len(password) > 128 else "ít nhất 12 ký tự"  # in Vietnamese
    assert f"Error: Hãy dùng {rule}." in result.output
    assert "Demo data" not in result.output
    assert people_count() == 0


@pytest.mark.parametrize(
    ("command", "start", "end"),
    [
        (["export", "ledger"], "9999-12-31", "9999-12-31"),
        (["export", "commissions"], "0001-01-01", "0001-01-02"),
        (["reconcile", "--no-stripe"], "9999-12-31", "9999-12-31"),
        (["reconcile", "--no-stripe"], "0001-01-01", "0001-01-02"),
    ],
)
def test_a_day_outside_the_calendar_is_refused_not_a_traceback(
    runner, tmp_path, command, start, end
):
    output = tmp_path / "out.csv"
    extra = ["--output", str(output), "--language", "en"] if command[0] == "export" else []
    args = ["perks", *command, "--from", start, "--to", end, *extra]
    result = runner.invoke(args=args)

    assert result.exit_code == 1
    assert not isinstance(result.exception, OverflowError)
    assert "between 01/01/1900 and 31/12/2199" in result.output or (  # as the date fields
        "từ 01/01/1900 đến 31/12/2199" in result.output  # reconcile: the default language
    )
    assert not output.exists()


@pytest.mark.parametrize("email", ["@example.com", "boss@", "boss@localhost", "b" * 250 + "@x.vn"])
def test_create_admin_refuses_an_email_the_people_page_would_refuse(runner, email):
    result = runner.invoke(args=["perks", "create-admin", email, "--password", "x" * 12])

    assert result.exit_code == 1
    assert "Hãy nhập địa chỉ email hợp lệ." in result.output
    assert people_count() == 0


def test_create_admin_refuses_a_name_longer_than_a_person_may_have(runner):
    args = ["perks", "create-admin", "boss@example.com", "--password", "x" * 12, "--name"]
    result = runner.invoke(args=[*args, "N" * 121])

    assert result.exit_code == 1
    assert "Họ và tên dài quá 120 ký tự." in result.output
    assert people_count() == 0


@pytest.mark.parametrize("event_id", ["", "   "])
def test_stripe_replay_asks_for_an_event_id_when_given_none(runner, event_id):
    result = runner.invoke(args=["perks", "stripe-replay", event_id])

    assert result.exit_code == 2
    assert "Invalid value for EVENT_ID: give the id of a stored event, like evt_..." in (
        result.output
    )
    assert "No Stripe event" not in result.output


def test_stripe_replay_names_an_unknown_event_without_its_blanks(runner):
    result = runner.invoke(args=["perks", "stripe-replay", " evt_nope "])

    assert result.exit_code == 1
    assert "Error: No Stripe event evt_nope is stored." in result.output


def test_an_export_failing_half_way_leaves_the_file_that_was_there(runner, tmp_path, monkeypatch):
    """The export emptied its output file before it started: one that then failed lost the
    file written the day before."""
    from perks.finance import exports

    output = tmp_path / "ledger.csv"
    output.write_text("yesterday's export\n", encoding="utf-8")

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        yield b"entry_id,"
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(exports, "stream_csv", failing)
    args = ["perks", "export", "ledger", "--from", "2026-01-01", "--to", "2026-01-31"]
    result = runner.invoke(args=[*args, "--output", str(output)])

    assert result.exit_code != 0
    assert output.read_text(encoding="utf-8") == "yesterday's export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["ledger.csv"]


@pytest.mark.usefixtures("_schema")
@pytest.mark.parametrize(
    ("language", "said"),
    [
        (
            [],  # the default language, as its messages about the days
            "Error: Không thể truy vấn Stripe: Hệ thống thanh toán đang không phản hồi. "
            "Vui lòng thử lại sau một phút.",
        ),
        (
            ["--language", "en"],
            "Error: Stripe could not be asked: Payments are not answering right now. "
            "Please try again in a minute.",
        ),
    ],
)
def test_reconcile_says_in_one_language_that_stripe_could_not_be_asked(app_factory, language, said):
    """The line began in English and ended in Vietnamese ("Stripe could not be asked: Hệ
    thống thanh toán đang không phản hồi...")."""
    unreachable = app_factory(STRIPE_API_BASE="http://127.0.0.1:9", STRIPE_MAX_RETRIES=0)
    args = ["perks", "reconcile", "--from", "2026-11-01", "--to", "2026-11-30", *language]

    result = unreachable.test_cli_runner().invoke(args=args)

    assert result.exit_code == 1
    assert said in result.output
    assert "Traceback" not in result.output


def test_reconcile_reports_in_the_language_of_its_findings(runner):
    """Its findings' details are in the default language (the page's texts); the lines around
    them were in English ("Checked 1 orders.", "1 finding.")."""
    from perks.catalog.claims import company_today

    today = company_today().isoformat()
    factories.OrderFactory(mismatch="Stripe báo 1 ₫")
    args = ["perks", "reconcile", "--from", today, "--to", today, "--no-stripe"]

    vietnamese = runner.invoke(args=args)
    english = runner.invoke(args=[*args, "--language", "en"])

    assert vietnamese.exit_code == english.exit_code == 1
    assert "Đã kiểm tra 1 đơn hàng." in vietnamese.output
    assert "1 điểm bất thường." in vietnamese.output
    assert "Checked" not in vietnamese.output
    assert "Checked 1 order." in english.output
    assert "1 finding." in english.output


def test_an_existing_person_made_an_administrator_from_the_command_line_is_in_the_audit_log(
    runner, client, login_as
):
    """``create-admin`` on someone already there gave them the admin role and a new password;
    the audit log said only "Administrator account ensured": the role grant was not among the
    roles changed, with no before and after, and nothing said their password was replaced."""
    from html import unescape

    factories.UserFactory(email="lan@example.com", roles={Role.EMPLOYEE, Role.HR})
    args = ["perks", "create-admin", "lan@example.com", "--password", "a long admin password"]
    assert runner.invoke(args=args).exit_code == 0

    login_as(Role.ADMIN, locale="en")
    granted = unescape(client.get("/admin/audit?action=auth.roles_changed").get_data(as_text=True))
    assert "Before:</span> Employee, HR" in granted
    assert "After:</span> Administrator, Employee, HR" in granted
    ensured = unescape(client.get("/admin/audit?action=auth.admin_ensured").get_data(as_text=True))
    assert "Fields changed:</span> Password" in ensured


def test_an_xlsx_export_in_english_names_its_sheet_and_title_in_english(runner, tmp_path):
    """As the exports page gives it to someone reading in English: the tab and the title."""
    import zipfile

    output = tmp_path / "out.xlsx"
    args = ["perks", "export", "ledger", "--from", "2026-01-01", "--to", "2026-01-31"]
    result = runner.invoke(
        args=[*args, "--format", "xlsx", "--output", str(output), "--language", "en"]
    )

    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(output) as workbook:
        assert 'sheet name="Ledger"' in workbook.read("xl/workbook.xml").decode()
        assert "<dc:title>Ledger</dc:title>" in workbook.read("docProps/core.xml").decode()


def test_an_xlsx_export_longer_than_a_sheet_is_refused_and_writes_nothing(
    runner, tmp_path, monkeypatch
):
    from perks.finance import exports

    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", -1)  # any export is longer than that
    output = tmp_path / "out.xlsx"
    args = ["perks", "export", "ledger", "--from", "2026-01-01", "--to", "2026-01-31"]
    result = runner.invoke(
        args=[*args, "--format", "xlsx", "--output", str(output), "--language", "en"]
    )

    assert result.exit_code == 1
    assert "A spreadsheet holds at most -1 rows; this export has 0." in result.output
    assert list(tmp_path.iterdir()) == []

"""The people CSV import service: every bad row named by its line, all or nothing, idempotent."""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from perks.audit import AuditEvent
from perks.errors import ValidationFailed
from perks.extensions import db
from perks.folding import name_key
from perks.people import import_files, import_plan, import_writer, imports
from perks.people.import_files import decode_csv
from perks.people.import_plan import Action, plan_import
from perks.people.imports import apply_import
from perks.people.models import Department, EmploymentType, Role, User
from tests.factories import DepartmentFactory, UserFactory

HEADER = "employee_number,email,name,department,manager_email,roles"


@pytest.fixture(autouse=True)
def _in_english(_app_context):  # type: ignore[no-untyped-def]
    """Messages are asserted in English (outside a request the default language applies)."""
    with force_locale("en"):
        yield


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def errors_on(plan: import_plan.ImportPlan) -> dict[int, str]:
    """Every reason, joined per line, by line number."""
    found: dict[int, list[str]] = {}
    for error in plan.errors:
        found.setdefault(error.line, []).append(error.message)
    return {line: " | ".join(messages) for line, messages in found.items()}


def people_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User)) or 0


def person(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    assert user is not None, email
    return user


# Reading the file ---------------------------------------------------------------------------


def test_valid_file_plans_new_people_and_new_departments(app):
    DepartmentFactory(name="Kinh doanh")
    plan = plan_import(
        csv_text(
            "NV1,an@congty.vn,Nguyễn Văn An,kinh doanh,,employee",
            "NV2,binh@congty.vn,Trần Thị Bình,Marketing,an@congty.vn,employee;manager",
        ),
        actor=None,
    )
    assert plan.errors == []
    assert (plan.to_create, plan.to_update, plan.unchanged) == (2, 0, 0)
    assert plan.new_departments == ["Marketing"]
    assert [row.line for row in plan.rows] == [2, 3]


def test_header_names_are_case_insensitive_in_any_order_and_unknown_ones_ignored(app):
    text = "Name;E-mail;Phone;Employee Number\nNguyễn Văn An;AN@congty.vn;0901;NV1\n"
    plan = plan_import(text, actor=None)
    assert plan.errors == []
    assert plan.rows[0].email == "an@congty.vn"
    assert plan.rows[0].values["employee_number"] == "NV1"
    assert plan.ignored_columns == ["Phone"]


def test_utf8_bom_and_semicolons_and_windows_line_endings_are_read(app):
    text = decode_csv("\ufeffemail;name\r\nan@congty.vn;Nguyễn Văn An\r\n".encode())
    plan = plan_import(text, actor=None)
    assert plan.errors == []
    assert plan.rows[0].name == "Nguyễn Văn An"


def test_decoding_refuses_other_encodings_and_binary_files_with_a_clear_message(app):
    with pytest.raises(ValidationFailed, match="UTF-8"):
        decode_csv("email,name\nan@congty.vn,Lê Văn An\n".encode("cp1258"))
    with pytest.raises(ValidationFailed, match="not a CSV"):
        decode_csv(b"PK\x03\x04\x00\x00binary")
    assert decode_csv("email,name\n".encode("utf-16")) == "email,name\n"


def test_line_numbers_are_physical_lines_counting_blank_lines_and_multiline_cells(app):
    text = (
        "email,name,location\n"  # 1
        "\n"  # 2
        'an@congty.vn,Nguyễn Văn An,"Tầng 3\n'  # 3
        'Toà nhà A"\n'  # 4
        "not-an-email,Trần Thị Bình,Hà Nội\n"  # 5
    )
    plan = plan_import(text, actor=None)
    assert list(errors_on(plan)) == [5]
    assert plan.rows[0].line == 3


def test_empty_file_is_a_file_error_on_line_1(app):
    for text in ("", "  \n\n", "\ufeff"):
        plan = plan_import(text, actor=None)
        assert [(e.line, e.message) for e in plan.errors] == [(1, "The file is empty.")]


def test_header_without_people_is_refused(app):
    plan = plan_import("email,name\n", actor=None)
    assert errors_on(plan) == {1: "The file has a header but no people."}


def test_file_without_the_required_columns_is_refused_naming_them(app):
    plan = plan_import("Tên\tĐiện thoại\nAn\t0901\n", actor=None)
    assert list(errors_on(plan)) == [1]
    assert "email, name (Họ và tên)" in plan.errors[0].message
    assert "Missing: email, name (Họ và tên)." in plan.errors[0].message
    assert plan.rows == []


def test_vietnamese_column_names_are_read_with_or_without_accents(app):
    text = (
        "\ufeffMã nhân viên,Email,Họ và tên,Phòng ban,NGAY VAO LAM,Ngày sinh,Ghi chú\n"
        "NV1,an@congty.vn,Nguyễn Văn An,Kinh doanh,05/12/2025,12/05,đi công tác\n"
    )
    plan = plan_import(text, actor=None)
    assert plan.errors == []
    row = plan.rows[0]
    assert (row.email, row.name) == ("an@congty.vn", "Nguyễn Văn An")
    assert row.values["employee_number"] == "NV1"
    assert row.values["hire_date"] == date(2025, 12, 5)
    assert plan.ignored_columns == ["Ghi chú"]


def test_the_names_hr_systems_give_the_columns_are_read(app):
    text = (
        "Employee ID,Full Name,Email Address,Start Date,Date of Birth\n"
        "NV1,Nguyễn Văn An,an@congty.vn,2025-12-05,12/05\n"
    )
    plan = plan_import(text, actor=None)
    assert plan.errors == []
    assert plan.ignored_columns == []
    assert plan.rows[0].values["employee_number"] == "NV1"
    assert plan.rows[0].values["hire_date"] == date(2025, 12, 5)
    assert plan.rows[0].values["birthday"] == (5, 12)


def test_a_column_named_in_english_and_in_vietnamese_is_named_twice(app):
    plan = plan_import("email,name,Họ tên\nan@congty.vn,An,An\n", actor=None)
    assert errors_on(plan) == {1: "The column “Họ tên” appears twice."}


def test_a_title_above_the_column_names_is_named_as_such(app):
    plan = plan_import("DANH SÁCH NHÂN VIÊN,,\nemail,name\nan@congty.vn,An\n", actor=None)
    assert list(errors_on(plan)) == [1]
    assert "looks like a title: delete the lines above the column names" in errors_on(plan)[1]


def test_a_column_named_twice_is_refused(app):
    plan = plan_import("email,name,Email\na@congty.vn,An,b@congty.vn\n", actor=None)
    assert list(errors_on(plan)) == [1]
    assert "twice" in plan.errors[0].message


def test_too_many_rows_is_a_file_error_on_line_1(app, monkeypatch):
    monkeypatch.setattr(import_plan, "MAX_IMPORT_ROWS", 3)
    rows = [f"p{i}@congty.vn,Người {i}" for i in range(4)]
    plan = plan_import(csv_text(*rows, header="email,name"), actor=None)
    assert list(errors_on(plan)) == [1]
    assert "more than 3" in plan.errors[0].message
    # the same from cells (the API's records)
    cells = [[f"p{i}@congty.vn", f"Người {i}"] for i in range(4)]
    plan = import_plan.plan_rows(["email", "name"], cells, actor=None)
    assert list(errors_on(plan)) == [1]
    assert "more than 3" in plan.errors[0].message
    assert plan.rows == []


def test_the_most_people_of_a_file_is_written_as_the_reader_writes_numbers(app, monkeypatch):
    monkeypatch.setattr(import_plan, "MAX_IMPORT_ROWS", 1000)
    rows = "".join(f"p{i}@congty.vn,Người {i}\n" for i in range(1001))
    plan = plan_import("email,name\n" + rows, actor=None)
    assert "more than 1,000 people" in plan.errors[0].message
    with force_locale("vi"):
        plan = plan_import("email,name\n" + rows, actor=None)
    assert "hơn 1.000 người" in plan.errors[0].message


def test_a_rows_count_of_values_is_written_as_the_reader_writes_numbers(app):
    """A row pasted with its cells run together can hold thousands of values: "1500"."""
    row = "a@congty.vn,An," + ",".join("x" * 1_498)
    assert errors_on(plan_import(csv_text(row, header="email,name"), actor=None)) == {
        2: "This row has 1,500 values but the header has 2 columns."
    }
    with force_locale("vi"):
        plan = plan_import(csv_text(row, header="email,name"), actor=None)
    assert errors_on(plan) == {2: "Dòng này có 1.500 giá trị nhưng dòng tiêu đề có 2 cột."}


def test_row_with_a_different_number_of_values_is_refused(app):
    plan = plan_import(
        csv_text("a@congty.vn,An,extra", "b@congty.vn", "c@congty.vn,Chi,", header="email,name"),
        actor=None,
    )
    assert list(errors_on(plan)) == [2, 3]
    assert plan.rows[0].email == "c@congty.vn"  # a trailing empty cell is harmless


# One row on its own -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("NV1,an@,An,,,", "not a valid e-mail"),
        ("NV1,,An,,,", "e-mail is missing"),
        ("NV1,an@congty.vn,,,,", "name is missing"),
        ("NV1,an@congty.vn,An,,,employee;boss", "Unknown role “boss”"),
        ("NV1,an@congty.vn,An,,nobody@congty.vn,", "neither in this file nor in the directory"),
        ("NV1,an@congty.vn,An,,an@congty.vn,", "cannot be their own manager"),
        (f"NV1,an@congty.vn,{'A' * 121},,,", "longer than 120"),
    ],
)
def test_a_bad_row_is_named_by_its_line_with_the_reason(app, row, reason):
    plan = plan_import(csv_text("NV0,ok@congty.vn,Người tốt,,,", row), actor=None)
    assert list(errors_on(plan)) == [3]
    assert reason in errors_on(plan)[3]
    assert [r.line for r in plan.rows] == [2]


def test_unknown_employment_type_is_refused_and_vietnamese_names_are_understood(app):
    plan = plan_import(
        csv_text(
            "a@congty.vn,An,Cộng tác viên",
            "b@congty.vn,Bình,freelancer",
            "c@congty.vn,Chi,nhà cung cấp",
            "d@congty.vn,Dũng,Partner",
            header="email,name,employment_type",
        ),
        actor=None,
    )
    assert list(errors_on(plan)) == [3]
    assert "Unknown employment type “freelancer”" in errors_on(plan)[3]
    assert [r.values["employment_type"] for r in plan.rows] == [
        EmploymentType.CONTRACTOR,
        EmploymentType.SUPPLIER,
        EmploymentType.PARTNER,
    ]


def test_hire_dates_in_either_format_are_read_and_bad_ones_named(app):
    plan = plan_import(
        csv_text(
            "a@congty.vn,An,2021-03-15",
            "b@congty.vn,Bình,15/03/2021",
            "c@congty.vn,Chi,2021-02-30",
            "d@congty.vn,Dũng,March 2021",
            header="email,name,hire_date",
        ),
        actor=None,
    )
    assert list(errors_on(plan)) == [4, 5]
    assert "hire date “2021-02-30”" in errors_on(plan)[4]
    assert [r.values["hire_date"] for r in plan.rows] == [date(2021, 3, 15)] * 2
    shown = {(c.field, c.after) for c in plan.rows[0].changes}
    assert ("hire_date", "15/03/2021") in shown  # the dry run shows it day first, as typed


def test_dates_as_spreadsheets_and_hr_systems_write_them_are_read_day_first(app):
    plan = plan_import(
        csv_text(
            "a@congty.vn,An,05-12-2025,2025-01-31 00:00:00",
            "b@congty.vn,Bình,5.12.2025,1990-05-12T00:00:00",
            header="email,name,hire_date,birthday",
        ),
        actor=None,
    )
    assert plan.errors == []
    assert [r.values["hire_date"] for r in plan.rows] == [date(2025, 12, 5)] * 2
    assert [r.values["birthday"] for r in plan.rows] == [(1, 31), (5, 12)]


def test_an_employee_number_excel_wrote_in_scientific_notation_is_refused(app):
    plan = plan_import(
        csv_text(
            "1.23457E+11,a@congty.vn,An",
            "00123,b@congty.vn,Bình",
            header="employee_number,email,name",
        ),
        actor=None,
    )
    assert list(errors_on(plan)) == [2]
    assert "“1.23457E+11” is how Excel shows a long number" in errors_on(plan)[2]


def test_a_date_excel_kept_as_a_number_is_refused_saying_how_to_fix_it(app):
    plan = plan_import(
        csv_text(
            "a@congty.vn,An,45996", "b@congty.vn,Bình,12/31/2025", header="email,name,hire_date"
        ),
        actor=None,
    )
    assert errors_on(plan)[2] == (
        "The hire date “45996” is not a date: use YYYY-MM-DD or DD/MM/YYYY. It looks like a "
        "date Excel kept as a number: in Excel, format the column as a date (DD/MM/YYYY), save "
        "the file again and upload it."
    )
    assert "Excel" not in errors_on(plan)[3]  # a month-first date is only refused


def test_birthday_keeps_day_and_month_allows_29_february_and_refuses_impossible_days(app):
    plan = plan_import(
        csv_text(
            "a@congty.vn,An,29/02",
            "b@congty.vn,Bình,1990-08-23",
            "c@congty.vn,Chi,31/04",
            "d@congty.vn,Dũng,1990-02-29",
            "e@congty.vn,Em,23/08/1990",
            header="email,name,birthday",
        ),
        actor=None,
    )
    assert list(errors_on(plan)) == [4, 5]
    assert "The birthday “31/04” is not a real day: use DD/MM or YYYY-MM-DD." in errors_on(plan)[4]
    assert "The birthday “1990-02-29” is not a real day" in errors_on(plan)[5]
    assert [r.values["birthday"] for r in plan.rows] == [(2, 29), (8, 23), (8, 23)]


def test_language_and_active_flags_are_checked(app):
    plan = plan_import(
        csv_text(
            "a@congty.vn,An,EN,không",
            "b@congty.vn,Bình,fr,yes",
            "c@congty.vn,Chi,vi,maybe",
            header="email,name,language,active",
        ),
        actor=None,
    )
    assert list(errors_on(plan)) == [3, 4]
    assert "vi or en" in errors_on(plan)[3]
    assert "yes or no" in errors_on(plan)[4]
    assert plan.rows[0].values["language"] == "en"
    assert plan.rows[0].values["active"] is False


# Rows against each other and the directory ----------------------------------------------------


def test_duplicate_email_in_the_file_names_the_later_line_and_the_first(app):
    plan = plan_import(csv_text("NV1,an@congty.vn,An,,,", "NV2,AN@congty.vn,An bis,,,"), actor=None)
    assert errors_on(plan) == {3: "The e-mail an@congty.vn is already on line 2."}


def test_duplicate_employee_number_in_the_file_is_refused(app):
    plan = plan_import(csv_text("NV1,an@congty.vn,An,,,", "NV1,binh@congty.vn,Bình,,,"), actor=None)
    assert errors_on(plan) == {3: "The employee number NV1 is already on line 2."}


def test_employee_number_of_another_stored_person_is_refused(app):
    UserFactory(email="an@congty.vn", employee_number="NV1")
    UserFactory(email="binh@congty.vn", employee_number="NV2")
    plan = plan_import(csv_text("NV2,an@congty.vn,Nguyễn Văn An,,,"), actor=None)
    assert errors_on(plan) == {
        2: "Employee number NV2 belongs to binh@congty.vn, not to an@congty.vn."
    }


def test_email_of_a_stored_person_with_another_employee_number_is_refused(app):
    UserFactory(email="an@congty.vn", employee_number="NV1")
    plan = plan_import(csv_text("NV9,an@congty.vn,Nguyễn Văn An,,,"), actor=None)
    assert list(errors_on(plan)) == [2]
    assert "employee number NV1" in plan.errors[0].message


def test_two_rows_for_the_same_stored_person_are_refused(app):
    UserFactory(email="an@congty.vn", employee_number="NV1")
    plan = plan_import(csv_text("NV1,an.nguyen@congty.vn,An,,,", ",an@congty.vn,An,,,"), actor=None)
    assert errors_on(plan) == {3: "This is the same person as on line 2."}


def test_reporting_loop_within_the_file_is_named_on_every_row_in_it(app):
    plan = plan_import(
        csv_text(
            "NV1,a@congty.vn,An,,c@congty.vn,",
            "NV2,b@congty.vn,Bình,,a@congty.vn,",
            "NV3,c@congty.vn,Chi,,b@congty.vn,",
            "NV4,d@congty.vn,Dũng,,a@congty.vn,",
        ),
        actor=None,
    )
    assert list(errors_on(plan)) == [2, 3, 4]
    assert "a@congty.vn → c@congty.vn → b@congty.vn → a@congty.vn" in errors_on(plan)[2]


def test_reporting_loop_through_the_directory_is_refused(app):
    boss = UserFactory(email="boss@congty.vn")
    UserFactory(email="an@congty.vn", manager_id=boss.id)
    plan = plan_import(csv_text(",boss@congty.vn,Sếp,,an@congty.vn,"), actor=None)
    assert list(errors_on(plan)) == [2]
    assert "reporting loop" in errors_on(plan)[2]


def test_manager_may_be_a_stored_person_or_a_new_person_later_in_the_file(app):
    UserFactory(email="ceo@congty.vn")
    plan = plan_import(
        csv_text(",an@congty.vn,An,,hai@congty.vn,", ",hai@congty.vn,Hải,,ceo@congty.vn,"),
        actor=None,
    )
    assert plan.errors == []


def test_hr_cannot_grant_finance_or_admin_through_an_import(app):
    hr = UserFactory(roles={Role.HR, Role.EMPLOYEE})
    plan = plan_import(
        csv_text(
            "NV1,a@congty.vn,An,,,employee;hr;manager",
            "NV2,b@congty.vn,Bình,,,employee;finance",
            "NV3,c@congty.vn,Chi,,,admin",
        ),
        actor=hr,
    )
    assert list(errors_on(plan)) == [3, 4]
    assert "Only an administrator" in errors_on(plan)[3]
    assert "finance" in errors_on(plan)[3]


def test_hr_can_neither_remove_the_admin_role_nor_change_an_admin(app):
    hr = UserFactory(roles={Role.HR})
    UserFactory(email="boss@congty.vn", roles={Role.ADMIN, Role.EMPLOYEE})
    removing = plan_import(csv_text(",boss@congty.vn,Sếp,,,employee"), actor=hr)
    keeping_role = plan_import(csv_text(",boss@congty.vn,Sếp,,,employee;admin"), actor=hr)
    assert list(errors_on(removing)) == [2]
    assert errors_on(keeping_role) == {
        2: "Only an administrator can change people with finance or admin rights."
    }


def test_an_administrator_may_grant_any_role_through_an_import(app):
    admin = UserFactory(roles={Role.ADMIN})
    plan = plan_import(csv_text("NV1,a@congty.vn,An,,,employee;finance;admin"), actor=admin)
    assert plan.errors == []
    assert plan.rows[0].values["roles"] == {Role.EMPLOYEE, Role.FINANCE, Role.ADMIN}


def test_nobody_can_deactivate_themselves_through_an_import(app):
    hr = UserFactory(email="hr@congty.vn", roles={Role.HR})
    plan = plan_import(csv_text("hr@congty.vn,Nhân sự,no", header="email,name,active"), actor=hr)
    assert errors_on(plan) == {2: "You cannot deactivate yourself."}


def test_nobody_takes_their_own_hr_role_away_through_an_import(app):
    """As the edit page refuses it: a file read back from an HR system that knows no app
    roles ("employee" for everyone) would otherwise lock its importer out of the people
    pages halfway through their work."""
    hr = UserFactory(email="hr@congty.vn", name="Nhân sự", roles={Role.HR})
    plan = plan_import(
        csv_text("hr@congty.vn,Nhân sự,employee", header="email,name,roles"), actor=hr
    )
    assert errors_on(plan) == {
        2: "You would lose the people pages: ask another HR person or an administrator to "
        "change your roles."
    }
    admin = UserFactory(email="admin@congty.vn", name="Quản trị", roles={Role.ADMIN})
    UserFactory(roles={Role.ADMIN})  # not the last administrator
    plan = plan_import(
        csv_text("admin@congty.vn,Quản trị,employee", header="email,name,roles"), actor=admin
    )
    assert list(errors_on(plan)) == [2]
    kept = plan_import(
        csv_text("hr@congty.vn,Nhân sự,employee;hr;manager", header="email,name,roles"),
        actor=hr,
    )
    assert kept.errors == []


# Writing ------------------------------------------------------------------------------------


def test_a_file_with_one_bad_row_writes_nothing_and_names_the_row(app):
    UserFactory(email="an@congty.vn", name="Nguyễn Văn An")
    before = people_count()
    text = csv_text(
        "NV1,an@congty.vn,Nguyễn Văn An Mới,Kinh doanh,,",
        "NV2,binh@congty.vn,Trần Thị Bình,Kinh doanh,,",
        "NV3,chi@congty,Lê Chi,Kinh doanh,,",
    )
    with pytest.raises(ValidationFailed) as raised:
        apply_import(text, actor=None, filename="people.csv")
    assert [e.line for e in raised.value.details["errors"]] == [4]
    db.session.expire_all()
    assert people_count() == before
    assert person("an@congty.vn").name == "Nguyễn Văn An"
    assert db.session.scalar(select(func.count()).select_from(Department)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_import_creates_people_departments_and_links_managers_from_the_same_file(app):
    DepartmentFactory(name="Kinh doanh")
    text = csv_text(
        "NV2,an@congty.vn,Nguyễn Văn An,KINH DOANH,hai@congty.vn,employee",
        "NV1,hai@congty.vn,Nguyễn Đức Hải,Kinh doanh,,employee|manager",
        "NV3,binh@congty.vn,Trần Thị Bình,Marketing,hai@congty.vn,",
    )
    result = apply_import(text, actor=None, filename="people.csv")
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    assert result.departments_created == ("Marketing",)
    hai, an, binh = person("hai@congty.vn"), person("an@congty.vn"), person("binh@congty.vn")
    assert an.manager_id == hai.id
    assert binh.manager_id == hai.id
    assert hai.manager_id is None
    assert an.department is not None
    assert an.department.name == "Kinh doanh"
    assert binh.department is not None
    assert binh.department.name == "Marketing"
    assert hai.roles == {Role.EMPLOYEE, Role.MANAGER}
    assert binh.roles == {Role.EMPLOYEE}
    assert (binh.locale, binh.employment_type, binh.active) == ("vi", EmploymentType.STAFF, True)
    assert binh.password_hash is None
    assert binh.invited_at is None
    assert len({an.session_token, hai.session_token, binh.session_token}) == 3


def test_reimporting_the_same_file_changes_nothing(app):
    text = (
        csv_text(
            "NV1,hai@congty.vn,Nguyễn Đức Hải,Kinh doanh,,employee;manager",
            "NV2,an@congty.vn,Nguyễn Văn An,Kinh doanh,hai@congty.vn,employee",
            header=HEADER + ",birthday,hire_date,language,active,employment_type,location",
        )
        .replace(",employee\n", ",employee,29/02,01/06/2020,en,yes,contractor,Hà Nội\n")
        .replace(",employee;manager\n", ",employee;manager,12/05,2019-04-01,vi,yes,nhân viên,\n")
    )
    apply_import(text, actor=None, filename="people.csv")
    db.session.expire_all()
    stamps = {u.email: (u.updated_at, u.session_token) for u in db.session.scalars(select(User))}

    plan = plan_import(text, actor=None)
    result = apply_import(text, actor=None, filename="people.csv")

    assert (plan.to_create, plan.to_update, plan.unchanged) == (0, 0, 2)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    db.session.expire_all()
    assert {
        u.email: (u.updated_at, u.session_token) for u in db.session.scalars(select(User))
    } == stamps
    assert db.session.scalar(select(func.count()).select_from(Department)) == 1


def test_changed_fields_are_updated_and_shown_in_the_dry_run(app):
    old = DepartmentFactory(name="Kinh doanh")
    an = UserFactory(
        email="an@congty.vn",
        name="Nguyễn Văn An",
        employee_number="NV1",
        department_id=old.id,
        location="Hà Nội",
        roles={Role.EMPLOYEE},
    )
    untouched_at = an.updated_at
    text = csv_text(
        "NV1,an.nguyen@congty.vn,Nguyễn Văn An,Marketing,Đà Nẵng,employee;redeemer",
        header="employee_number,email,name,department,location,roles",
    )
    plan = plan_import(text, actor=None)
    assert plan.rows[0].action is Action.UPDATE
    assert {(c.field, c.before, c.after) for c in plan.rows[0].changes} == {
        ("email", "an@congty.vn", "an.nguyen@congty.vn"),
        ("department", "Kinh doanh", "Marketing"),
        ("location", "Hà Nội", "Đà Nẵng"),
        ("roles", "Employee", "Employee, Redeemer"),
    }

    result = apply_import(text, actor=None, filename="people.csv")

    assert (result.created, result.updated) == (0, 1)
    db.session.expire_all()
    an = person("an.nguyen@congty.vn")
    assert an.department is not None
    assert an.department.name == "Marketing"
    assert an.location == "Đà Nẵng"
    assert an.roles == {Role.EMPLOYEE, Role.REDEEMER}
    assert an.updated_at > untouched_at


def test_columns_left_out_keep_what_is_stored_and_empty_cells_clear_or_keep(app):
    department = DepartmentFactory(name="Kinh doanh")
    boss = UserFactory(email="boss@congty.vn")
    UserFactory(
        email="an@congty.vn",
        employee_number="NV1",
        department_id=department.id,
        manager_id=boss.id,
        birth_month=5,
        birth_day=12,
        employment_type=EmploymentType.CONTRACTOR,
        roles={Role.EMPLOYEE, Role.MANAGER},
    )
    text = csv_text(
        ",an@congty.vn,Nguyễn Văn An,,,,",
        header="employee_number,email,name,department,manager_email,roles,employment_type",
    )
    apply_import(text, actor=None, filename="people.csv")
    db.session.expire_all()
    an = person("an@congty.vn")
    assert an.department_id is None
    assert an.manager_id is None
    assert an.employee_number == "NV1"  # empty: kept
    assert an.roles == {Role.EMPLOYEE, Role.MANAGER}  # empty: kept
    assert an.employment_type is EmploymentType.CONTRACTOR  # empty: kept
    assert (an.birth_month, an.birth_day) == (5, 12)  # no birthday column: kept


def test_people_are_matched_on_employee_number_before_email(app):
    UserFactory(email="an@congty.vn", employee_number="NV1", name="Nguyễn Văn An")
    result = apply_import(
        csv_text("NV1,an.nguyen@congty.vn,Nguyễn Văn An,,,"), actor=None, filename="people.csv"
    )
    assert (result.created, result.updated) == (0, 1)
    db.session.expire_all()
    assert person("an.nguyen@congty.vn").employee_number == "NV1"
    assert people_count() == 1


def test_deactivating_through_an_import_signs_the_person_out(app):
    an = UserFactory(email="an@congty.vn", name="Nguyễn Văn An")
    token = an.session_token
    result = apply_import(
        csv_text("an@congty.vn,Nguyễn Văn An,no", header="email,name,active"),
        actor=None,
        filename="people.csv",
    )
    assert result.deactivated == 1
    db.session.expire_all()
    an = person("an@congty.vn")
    assert an.active is False
    assert an.session_token != token


def test_an_import_is_audited_once_with_its_counts_and_fingerprint(app):
    admin = UserFactory(roles={Role.ADMIN})
    UserFactory(email="an@congty.vn", name="Nguyễn Văn An")
    text = csv_text(
        "an@congty.vn,Nguyễn Văn An", "binh@congty.vn,Trần Thị Bình", header="email,name"
    )
    apply_import(text, actor=admin, filename="nhansu.csv")
    events = list(db.session.scalars(select(AuditEvent)))
    assert [e.action for e in events] == ["people.import"]
    assert events[0].actor_id == admin.id
    details = events[0].details
    assert details["filename"] == "nhansu.csv"
    assert details["sha256"] == import_files.content_sha256(text)
    assert (details["created"], details["updated"], details["unchanged"]) == (1, 0, 1)


def test_apply_reports_progress_by_chunk(app, monkeypatch):
    monkeypatch.setattr(import_writer, "WRITE_CHUNK", 2)
    seen: list[int] = []
    rows = [f"p{i}@congty.vn,Người {i}" for i in range(5)]
    apply_import(
        csv_text(*rows, header="email,name"), actor=None, filename="x.csv", progress=seen.append
    )
    assert seen == [2, 4, 5]


def test_the_example_file_is_valid(app):
    plan = plan_import(decode_csv(imports.example_csv().encode()), actor=None)
    assert plan.errors == []
    assert plan.to_create == len(imports.EXAMPLE_ROWS) - 1


def test_hr_import_cannot_change_someone_with_admin_rights(app):
    hr = UserFactory(roles={Role.HR})
    UserFactory(roles={Role.ADMIN}, email="boss@example.com", name="Boss")
    plan = plan_import("email,name\nboss@example.com,Boss Renamed\n", actor=hr)
    assert [error.line for error in plan.errors] == [2]
    unchanged = plan_import("email,name\nboss@example.com,Boss\n", actor=hr)
    assert unchanged.errors == []


# Rows given as cells (the API's records) ------------------------------------------------------


def test_rows_given_as_cells_are_checked_and_numbered_as_the_lines_of_a_file(app):
    columns = ["employee_number", "email", "name", "hire_date"]
    rows = [
        ["NV1", "an@congty.vn", "Nguyễn Văn An", "2024-01-02"],
        ["NV2", "not an e-mail", "Trần Bình", "32/13/2020"],
        ["NV3", "an@congty.vn", "Lê Chi\nthứ hai", ""],
    ]
    from_cells = import_plan.plan_rows(columns, rows, actor=None)
    assert errors_on(from_cells) == {
        3: "“not an e-mail” is not a valid e-mail address. | The hire date “32/13/2020” is not"
        " a date: use YYYY-MM-DD or DD/MM/YYYY.",
        4: "The e-mail an@congty.vn is already in record 0.",  # the API's records: no lines
    }
    with pytest.raises(ValidationFailed):
        imports.import_rows(columns, rows, actor=None, filename="API")
    assert people_count() == 0
    assert errors_on(import_plan.plan_rows(columns, [["", "", "", ""]], actor=None)) == {
        1: "The file has a header but no people."
    }
    assert errors_on(
        import_plan.plan_rows(columns, [["NV1", "a\x00@b.vn", "A", ""]], actor=None)
    ) == {2: "Record 0 holds a NUL character."}


def test_rows_given_as_cells_are_written_as_the_csv_import_writes_them_and_held_people_refreshed(
    app,
):
    held = UserFactory(email="an@congty.vn", name="An", employee_number="NV1")
    admin = UserFactory(roles={Role.ADMIN})
    result = imports.import_rows(
        ["employee_number", "email", "name", "department"],
        [
            ["NV1", "an@congty.vn", "Nguyễn Văn An", "Kinh doanh"],
            ["NV2", "binh@congty.vn", "Bình", ""],
        ],
        actor=admin,
        filename="API: hr",
    )
    assert (result.created, result.updated) == (1, 1)
    assert held.name == "Nguyễn Văn An"  # the object the caller holds is read again
    assert person("binh@congty.vn").employee_number == "NV2"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "people.import")).one()
    assert event.details["sha256"] == imports.rows_sha256(
        ["employee_number", "email", "name", "department"],
        [
            ["NV1", "an@congty.vn", "Nguyễn Văn An", "Kinh doanh"],
            ["NV2", "binh@congty.vn", "Bình", ""],
        ],
    )


@pytest.mark.parametrize("probe_limit", [import_plan.PROBE_LIMIT, 0], ids=["batch", "whole file"])
def test_the_directory_is_read_alike_for_a_batch_and_for_a_whole_file(
    app, monkeypatch, probe_limit
):
    # On PostgreSQL a batch reads the people it names by one index look-up each, built once
    # (``_PEOPLE_PROBE``, ``_ROLES_PROBE``, ``_MANAGERS_PROBE``); a whole file by ``= ANY``.
    monkeypatch.setattr(import_plan, "PROBE_LIMIT", probe_limit)
    ceo = UserFactory(email="ceo@congty.vn", employee_number="NV0")
    boss = UserFactory(
        email="boss@congty.vn", employee_number="NV9", manager_id=ceo.id,
        roles={Role.EMPLOYEE, Role.MANAGER},
    )  # fmt: skip
    UserFactory(email="an@congty.vn", employee_number="NV1", manager_id=boss.id)

    plan = plan_import(
        csv_text(
            # found by employee number (the e-mail changes), same manager
            "NV1,an.nguyen@congty.vn,An,,boss@congty.vn,employee",
            # found by e-mail, roles as stored
            ",boss@congty.vn,Sếp,,ceo@congty.vn,employee;manager",
            # new, under a stored manager
            "NV2,binh@congty.vn,Bình,,boss@congty.vn,employee",
        ),
        actor=None,
    )
    assert plan.errors == []
    assert [(row.line, row.action) for row in plan.rows] == [
        (2, Action.UPDATE),
        (3, Action.UPDATE),  # the name
        (4, Action.CREATE),
    ]
    assert [name for name, _before, _after in plan.rows[0].diff] == ["email", "name"]
    assert "roles" not in [name for name, _before, _after in plan.rows[1].diff]

    # the chain above the file is read too: the CEO under An would close a loop
    looping = plan_import(csv_text("NV0,ceo@congty.vn,Giám đốc,,an@congty.vn,"), actor=None)
    assert "reporting loop" in errors_on(looping)[2]


def test_the_problems_file_is_named_after_the_upload_without_its_accents():
    assert imports.error_file_name("Danh sách nhân viên Đà Nẵng.csv") == (
        "Danh-sach-nhan-vien-Da-Nang-problems.csv"
    )
    assert imports.error_file_name(".csv") == "people-problems.csv"


def test_a_problem_starting_with_a_formula_character_is_neutralised_in_the_problems_file(app):
    """A message may start with an address as stored ("=1+2@..." is a valid one): the
    problems file is an export like any other, and a spreadsheet must not evaluate it."""
    UserFactory(email="=1+2@congty.vn", employee_number="NV1")
    plan = plan_import(csv_text("NV9,=1+2@congty.vn,Nguyễn Văn An,,,"), actor=None)
    assert plan.errors[0].message.startswith("=1+2@congty.vn")

    written = b"".join(imports.error_report_csv(plan.errors)).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(written)))

    assert rows[1] == ["2", "'" + plan.errors[0].message]


def test_a_department_typed_decomposed_is_the_department_a_file_names_composed(app):
    """Unikey's "Unicode tổ hợp" types Vietnamese decomposed (NFD); a file is read composed
    (NFC). They are one department, as the departments page holds them to be: the import
    neither adds a second "Kế toán" nor moves anyone into it."""
    from perks.people.services import create_department

    hr = UserFactory(roles={Role.HR})
    typed = create_department(unicodedata.normalize("NFD", "Kế toán"), actor=hr)
    UserFactory(email="an@congty.vn", name="An", employee_number="NV1", department=typed)

    plan = plan_import(
        csv_text("NV1,an@congty.vn,An,Kế toán,,", "NV2,binh@congty.vn,Bình,kế toán,,"),
        actor=None,
    )
    assert plan.new_departments == []
    assert plan.to_update == 0
    apply_import(
        csv_text("NV1,an@congty.vn,An,Kế toán,,", "NV2,binh@congty.vn,Bình,kế toán,,"),
        actor=None,
        filename="people.csv",
    )
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Department)) == 1
    assert person("binh@congty.vn").department_id == typed.id


def test_invisible_characters_around_a_cell_are_not_part_of_it_as_on_the_person_form(app):
    """A cell pasted from a web page or a chat brings zero-width spaces and the like: a name
    made only of them is missing (not a blank name shown as nothing), and an address with one
    at its end is the address (``perks.text.trim``, as the person form reads them)."""
    plan = plan_import(
        csv_text(
            "NV1,an@congty.vn\u200b,\u2060Nguyễn Văn An\u200b,,,",
            "NV2,binh@congty.vn,\u200b\u200b,,,",
        ),
        actor=None,
    )
    assert errors_on(plan) == {3: "The name is missing."}
    assert (plan.rows[0].email, plan.rows[0].name) == ("an@congty.vn", "Nguyễn Văn An")
    kinh_doanh = DepartmentFactory(name="Kinh doanh")
    pasted = plan_import(csv_text("NV1,an@congty.vn,An,\u200bKinh doanh\u200b,,"), actor=None)
    assert pasted.new_departments == []
    assert pasted.department_ids[name_key("Kinh doanh")] == kinh_doanh.id


def test_a_person_typed_decomposed_on_the_form_is_unchanged_by_the_same_name_in_a_file(app):
    """Unikey's "Unicode tổ hợp" types "Nguyễn" decomposed (NFD); the file is read composed.
    The same name is not a change: the dry run must not list "Nguyễn Văn An → Nguyễn Văn An"
    for everyone HR typed so, nor the audit log record a change of name that is none."""
    from perks.people.services import PersonData, create_person

    hr = UserFactory(roles={Role.HR})
    typed = unicodedata.normalize("NFD", "Nguyễn Văn An")
    create_person(
        PersonData(
            email="an@congty.vn",
            name=typed,
            employee_number="NV1",
            location=unicodedata.normalize("NFD", "Hà Nội"),
        ),
        actor=hr,
    )
    plan = plan_import(
        csv_text(
            "NV1,an@congty.vn,Nguyễn Văn An,Hà Nội", header="employee_number,email,name,location"
        ),
        actor=None,
    )
    assert plan.rows[0].action is Action.UNCHANGED, plan.rows[0].changes


def test_a_quote_left_open_is_explained_in_the_readers_language(app):
    """A cell opened with a quote mark and never closed swallows the rest of the file; once
    that is more than the CSV reader takes in one cell (128 KiB), the refusal was Python's
    own English, "field larger than field limit (131072)", on a Vietnamese page."""
    rows = ['an@congty.vn,Nguyễn Văn An,"Tầng 3']
    rows += [f"nguoi{n}@congty.vn,Người số {n},Hà Nội" for n in range(5_000)]
    text = csv_text(*rows, header="email,name,location")

    with force_locale("vi"):
        plan = plan_import(text, actor=None)

    [error] = plan.errors
    assert error.line == 2
    assert "field" not in error.message
    assert 'dấu ngoặc kép (") không được đóng' in error.message

"""The people import, through its pages and its command: upload, dry run, confirm."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import event, func, select

from perks import background
from perks.audit import AuditEvent
from perks.background import BackgroundJob, JobState
from perks.db import utcnow
from perks.extensions import db
from perks.people import import_plan, imports
from perks.people.models import Department, PeopleImport, Role, User
from perks.referrals.models import ReferralLink
from tests.factories import UserFactory
from tests.helpers import login
from tests.submissions import big_file

GOOD_CSV = (
    "employee_number,email,name,department,manager_email,roles\n"
    "NV1,hai@congty.vn,Nguyễn Đức Hải,Kinh doanh,,employee;manager\n"
    "NV2,an@congty.vn,Nguyễn Văn An,Kinh doanh,hai@congty.vn,employee\n"
)
BAD_CSV = (
    "email,name,hire_date\n"
    "an@congty.vn,Nguyễn Văn An,2021-03-15\n"
    "binh@,Trần Thị Bình,2021-03-15\n"
    "chi@congty.vn,Lê Chi,31/02/2021\n"
)


def people_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User)) or 0


def upload(client, content: bytes | str, filename: str = "nhansu.csv"):  # type: ignore[no-untyped-def]
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        "/people/import/",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def review_url(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def test_upload_page_describes_the_columns_and_offers_an_example(client, login_as):
    login_as(Role.HR)
    page = client.get("/people/import/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for column in import_plan.COLUMNS:
        assert f"<code>{column}</code>" in html
    assert ">Họ và tên</span>" in html  # the Vietnamese name a column may have
    assert "does not send invitations" in html
    assert "at most 100,000 people" in html  # the reader's number format
    example = client.get("/people/import/example.csv")
    assert example.status_code == 200
    assert example.mimetype == "text/csv"
    assert "attachment" in example.headers["Content-Disposition"]
    assert "Nguyễn Văn An" in example.get_data(as_text=True)


def test_upload_review_and_confirm_imports_the_file(client, login_as):
    hr = login_as(Role.HR)
    before = people_count()

    location = review_url(upload(client, GOOD_CSV))
    review = client.get(location)

    assert review.status_code == 200
    html = review.get_data(as_text=True)
    assert 'data-testid="count-create">2<' in html
    assert "Kinh doanh" in html
    assert "an@congty.vn" in html.replace("<wbr>", "")  # a phone may break it after the @
    assert people_count() == before  # the dry run writes nothing

    stored = db.session.scalar(select(PeopleImport))
    assert stored is not None
    assert stored.uploaded_by_id == hr.id
    assert stored.status == "pending"
    confirmed = client.post(f"/people/import/{stored.id}/confirm")

    assert confirmed.status_code == 302
    job = imports.import_job(stored)
    assert job is not None
    assert confirmed.headers["Location"] == f"/jobs/{job.token}"
    assert people_count() == before + 2
    db.session.expire_all()
    assert db.session.get(PeopleImport, stored.id).status == "applied"
    followed = client.get(confirmed.headers["Location"])
    assert "2 added, 0 updated, 0 unchanged" in followed.get_data(as_text=True)


def test_confirming_twice_imports_once_and_shows_the_first_import(client, login_as):
    """Back, then the button again: the page of the import that ran, with a word, instead of
    a bare 409 page."""
    login_as(Role.HR)
    location = review_url(upload(client, GOOD_CSV))
    stored = db.session.scalar(select(PeopleImport))
    first = client.post(f"/people/import/{stored.id}/confirm")
    assert first.status_code == 302
    count = people_count()

    second = client.post(f"/people/import/{stored.id}/confirm")

    assert second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    shown = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "already been imported" in shown
    assert "2 added, 0 updated, 0 unchanged" in shown
    assert people_count() == count
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("people.import") == 1
    review = client.get(location)
    assert 'data-testid="confirm-import"' not in review.get_data(as_text=True)


def test_a_file_with_bad_rows_is_reviewed_with_400_and_every_bad_row_and_cannot_be_confirmed(
    client, login_as
):
    login_as(Role.HR)
    before = people_count()
    location = review_url(upload(client, BAD_CSV))

    review = client.get(location)

    assert review.status_code == 400
    html = review.get_data(as_text=True)
    assert '<td class="text-end">3</td><td>“binh@” is not a valid e-mail address.</td>' in html
    assert '<td class="text-end">4</td><td>The hire date “31/02/2021”' in html
    assert 'data-testid="confirm-import"' not in html
    stored = db.session.scalar(select(PeopleImport))
    refused = client.post(f"/people/import/{stored.id}/confirm", follow_redirects=True)
    assert "2 rows cannot be imported; nothing was written." in refused.get_data(as_text=True)
    assert people_count() == before
    db.session.expire_all()
    assert db.session.get(PeopleImport, stored.id).status == "pending"


def test_another_users_import_is_not_found(client, login_as):
    other = UserFactory(roles={Role.HR})
    theirs = imports.store_upload(GOOD_CSV.encode(), filename="theirs.csv", actor=other)
    login_as(Role.HR)

    assert client.get(f"/people/import/{theirs.id}").status_code == 404
    assert client.post(f"/people/import/{theirs.id}/confirm").status_code == 404
    assert people_count() == 2  # the two HR users, nobody imported


def test_an_upload_that_is_not_utf8_text_is_refused_with_a_message(client, login_as):
    login_as(Role.HR)
    latin = upload(client, "email,name\nan@congty.vn,Lê Văn An\n".encode("cp1258"))
    binary = upload(client, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", filename="photo.csv")
    empty = upload(client, b"")

    assert latin.status_code == 400
    assert "not UTF-8 text" in latin.get_data(as_text=True)
    assert binary.status_code == 400
    assert "not a CSV file" in binary.get_data(as_text=True)
    assert empty.status_code == 400
    assert "The file is empty." in empty.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PeopleImport)) == 0


def test_an_upload_that_is_not_a_csv_file_by_name_is_refused(client, login_as):
    login_as(Role.HR)
    response = upload(client, GOOD_CSV, filename="people.xlsx")
    assert response.status_code == 400
    assert "Upload a .csv file. From Excel: File → Save As" in response.get_data(as_text=True)


def test_an_employee_cannot_reach_the_import_pages(client, login_as):
    stored = imports.store_upload(
        GOOD_CSV.encode(), filename="x.csv", actor=UserFactory(roles={Role.HR})
    )
    login_as(Role.EMPLOYEE)
    assert client.get("/people/import/").status_code == 403
    assert client.get("/people/import/example.csv").status_code == 403
    assert upload(client, GOOD_CSV).status_code == 403
    assert client.get(f"/people/import/{stored.id}").status_code == 403
    assert client.post(f"/people/import/{stored.id}/confirm").status_code == 403


# The command ----------------------------------------------------------------------------------


def test_command_imports_5000_people_in_one_transaction_showing_progress(app, runner, tmp_path):
    path = Path(tmp_path) / "nhansu.csv"
    rows = [
        f"NV{i:05d},nguoi{i}@congty.vn,Người Thứ {i},Phòng {i % 12},Hà Nội,"
        f"{'nguoi0@congty.vn' if i else ''},{i % 28 + 1:02d}/{i % 12 + 1:02d}"
        for i in range(5000)
    ]
    header = "employee_number,email,name,department,location,manager_email,birthday"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    commits: list[object] = []

    def count_commit(connection: object) -> None:
        commits.append(connection)

    event.listen(db.engine, "commit", count_commit)
    try:
        result = runner.invoke(args=["perks", "import-people", str(path), "--language", "en"])
    finally:
        event.remove(db.engine, "commit", count_commit)

    assert result.exit_code == 0, result.output
    assert len(commits) == 1
    assert people_count() == 5000
    assert "500 / 5,000 rows" in result.output
    assert "5,000 / 5,000 rows" in result.output
    assert "Imported: 5,000 added, 0 updated, 0 unchanged" in result.output
    boss = db.session.scalar(select(User).where(User.email == "nguoi0@congty.vn"))
    team = db.session.scalar(select(func.count()).where(User.manager_id == boss.id))
    assert team == 4999

    again = runner.invoke(args=["perks", "import-people", str(path), "--language", "en"])
    assert "Imported: 0 added, 0 updated, 5,000 unchanged" in again.output


def test_command_prints_every_bad_row_exits_non_zero_and_writes_nothing(runner, tmp_path):
    path = Path(tmp_path) / "bad.csv"
    path.write_text(BAD_CSV, encoding="utf-8")

    result = runner.invoke(args=["perks", "import-people", str(path), "--language", "en"])

    assert result.exit_code == 1
    assert "line 3: “binh@” is not a valid e-mail address." in result.output
    assert "line 4: The hire date “31/02/2021”" in result.output
    assert "2 rows cannot be imported; nothing was written." in result.output
    assert people_count() == 0


def test_command_dry_run_writes_nothing(runner, tmp_path):
    path = Path(tmp_path) / "good.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")

    result = runner.invoke(
        args=["perks", "import-people", str(path), "--dry-run", "--language", "en"]
    )

    assert result.exit_code == 0, result.output
    assert "2 rows: 2 to add, 0 to update, 0 unchanged." in result.output
    path.write_text(GOOD_CSV.splitlines()[0] + "\n" + GOOD_CSV.splitlines()[1] + "\n")
    one = runner.invoke(args=["perks", "import-people", str(path), "--dry-run", "--language", "en"])
    assert "1 row: 1 to add, 0 to update, 0 unchanged." in one.output  # not "1 rows"
    assert "Dry run: nothing was written." in result.output
    assert people_count() == 0


def test_command_acting_as_hr_cannot_grant_the_admin_role(runner, tmp_path):
    hr = UserFactory(email="hr@congty.vn", roles={Role.HR})
    path = Path(tmp_path) / "admins.csv"
    path.write_text("email,name,roles\nboss@congty.vn,Sếp,employee;admin\n", encoding="utf-8")

    as_hr = runner.invoke(
        args=["perks", "import-people", str(path), "--actor", hr.email, "--language", "en"]
    )
    as_system = runner.invoke(args=["perks", "import-people", str(path), "--language", "en"])

    assert as_hr.exit_code == 1
    assert "line 2: Only an administrator can grant or remove these roles: admin." in (as_hr.output)
    assert as_system.exit_code == 0, as_system.output
    boss = db.session.scalar(select(User).where(User.email == "boss@congty.vn"))
    assert boss is not None
    assert boss.roles == {Role.EMPLOYEE, Role.ADMIN}


def test_command_refuses_an_actor_who_may_not_import_people(runner, tmp_path):
    employee = UserFactory(email="nv@congty.vn", roles={Role.EMPLOYEE})
    path = Path(tmp_path) / "good.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")
    args = ["perks", "import-people", str(path), "--actor", employee.email]

    result = runner.invoke(args=[*args, "--language", "en"])
    in_vietnamese = runner.invoke(args=[*args, "--language", "vi"])

    assert result.exit_code == 1
    assert "nv@congty.vn may not import people: only HR and administrators" in result.output
    assert "chỉ phòng Nhân sự và quản trị viên mới được" in in_vietnamese.output
    assert people_count() == 1  # only the employee


def test_an_import_cannot_leave_the_company_without_an_active_administrator(runner, tmp_path):
    UserFactory(email="quantri@congty.vn", roles={Role.ADMIN, Role.EMPLOYEE})
    path = Path(tmp_path) / "people.csv"

    def imported(text: str):  # type: ignore[no-untyped-def]
        path.write_text(text, encoding="utf-8")
        return runner.invoke(args=["perks", "import-people", str(path), "--language", "en"])

    for row in ("quantri@congty.vn,Quản trị,employee,yes", "quantri@congty.vn,Quản trị,admin,no"):
        refused = imported(f"email,name,roles,active\n{row}\n")
        assert refused.exit_code == 1, refused.output
        assert "line 2: At least one active administrator must remain" in refused.output
    admin = db.session.scalar(select(User).where(User.email == "quantri@congty.vn"))
    assert admin is not None
    assert admin.active
    assert Role.ADMIN in admin.roles

    handed_over = imported(
        "email,name,roles,active\n"
        "quantri@congty.vn,Quản trị,employee,yes\n"
        "moi@congty.vn,Quản trị mới,employee;admin,yes\n"
    )
    assert handed_over.exit_code == 0, handed_over.output
    db.session.refresh(admin)
    assert Role.ADMIN not in admin.roles


def test_each_role_an_import_grants_or_removes_is_audited_for_its_person(runner, tmp_path):
    stored = UserFactory(email="nv@congty.vn", roles={Role.EMPLOYEE})
    UserFactory(email="same@congty.vn", roles={Role.EMPLOYEE})
    path = Path(tmp_path) / "roles.csv"
    path.write_text(
        "email,name,roles\n"
        "nv@congty.vn,Nhân Viên,employee;admin\n"
        "same@congty.vn,Vẫn Thế,employee\n"
        "moi@congty.vn,Người Mới,employee\n"
        "hr@congty.vn,Nhân Sự,employee;hr\n",
        encoding="utf-8",
    )

    result = runner.invoke(args=["perks", "import-people", str(path), "--language", "en"])

    assert result.exit_code == 0, result.output
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "auth.roles_changed")
    ).all()
    new_hr = db.session.scalar(select(User.id).where(User.email == "hr@congty.vn"))
    assert sorted(
        (e.target_type, e.target_id, e.details["before"], e.details["after"]) for e in events
    ) == sorted(
        [
            ("User", str(stored.id), ["employee"], ["admin", "employee"]),
            ("User", str(new_hr), [], ["employee", "hr"]),
        ]
    )
    assert {e.details["filename"] for e in events} == {"roles.csv"}


def test_an_upload_over_the_size_limit_is_refused_with_413(app_factory, login_as):
    small = app_factory(MAX_CONTENT_LENGTH=1024).test_client()
    hr = login_as(Role.HR)
    login(small, hr)
    response = small.post(
        "/people/import/",
        data={"file": (io.BytesIO(GOOD_CSV.encode() * 50), "big.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "choose a smaller file" in response.get_data(as_text=True)


# In the background -----------------------------------------------------------------------------


def test_a_file_of_3000_people_is_checked_then_imported_by_background_jobs(client, login_as):
    hr = login_as(Role.HR)

    location = review_url(upload(client, big_file(3000)))
    stored = db.session.scalar(select(PeopleImport))
    check = imports.check_job(stored)
    review = client.get(location)

    assert check is not None
    assert check.state is JobState.SUCCEEDED
    assert check.created_by_id == hr.id
    assert (check.done, check.total) == (3000, 3000)
    assert review.status_code == 200
    html = review.get_data(as_text=True)
    assert 'data-testid="count-rows">3,000<' in html
    assert 'data-testid="count-create">3,000<' in html
    assert "Showing the first 200 of 3,000 changed people." in html
    assert people_count() == 1  # the dry run writes nothing

    confirmed = client.post(f"/people/import/{stored.id}/confirm")
    job = imports.import_job(stored)
    page = client.get(confirmed.headers["Location"])

    assert job is not None
    assert job.state is JobState.SUCCEEDED
    assert job.result["created"] == 3000
    assert page.status_code == 200
    assert "Import done: 3,000 added, 0 updated, 0 unchanged." in page.get_data(as_text=True)
    assert people_count() == 3001
    boss = db.session.scalar(select(User).where(User.email == "nguoi0@congty.vn"))
    assert boss.roles == {Role.EMPLOYEE, Role.MANAGER}
    assert db.session.scalar(select(func.count()).where(User.manager_id == boss.id)) == 2999
    departments = db.session.scalar(select(func.count()).select_from(Department))
    assert departments == 12
    links = db.session.scalar(
        select(func.count()).select_from(ReferralLink).where(ReferralLink.is_default)
    )
    assert links == 3000  # everyone added has their default link, in the same transaction
    audited = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "people.import"))
    assert [event.details["created"] for event in audited] == [3000]

    # The message delivered again (or a worker's retry) does nothing more.
    assert background.execute(job.id) is None
    assert people_count() == 3001


def test_a_second_file_updates_and_adds_in_one_job(client, login_as):
    login_as(Role.HR)
    imports.apply_import(big_file(1500), actor=None, filename="first.csv")
    changed = big_file(3000).replace("Hà Nội", "Đà Nẵng")

    review_url(upload(client, changed))
    stored = db.session.scalars(select(PeopleImport)).one()
    review = client.get(f"/people/import/{stored.id}").get_data(as_text=True)
    client.post(f"/people/import/{stored.id}/confirm")

    assert 'data-testid="count-create">1,500<' in review
    assert 'data-testid="count-update">1,500<' in review
    job = imports.import_job(stored)
    assert (job.result["created"], job.result["updated"]) == (1500, 1500)
    db.session.expire_all()
    located = db.session.scalar(select(func.count()).where(User.location == "Đà Nẵng"))
    assert located == 3000


def test_every_problem_is_in_the_report_file_beyond_those_listed(client, login_as, monkeypatch):
    monkeypatch.setattr(imports, "ERRORS_SHOWN", 2)
    login_as(Role.HR)
    bad = "email,name\n" + "".join(f"bad{i}@,Người {i}\n" for i in range(5))

    location = review_url(upload(client, bad))
    html = client.get(location).get_data(as_text=True)
    check = imports.check_job(db.session.scalar(select(PeopleImport)))
    report = client.get(f"/people/import/jobs/{check.token}/problems.csv")

    assert "Showing the first 2 of 5 problems." in html
    assert html.count('<td class="text-end">') == 2
    assert f'href="/people/import/jobs/{check.token}/problems.csv"' in html
    assert report.status_code == 200
    assert report.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(report.get_data().decode("utf-8-sig"), newline="")))
    assert lines[0] == ["Line", "Problem"]
    assert [line[0] for line in lines[1:]] == ["2", "3", "4", "5", "6"]
    assert lines[5][1] == "“bad4@” is not a valid e-mail address."


def test_an_import_refused_because_the_directory_changed_shows_the_bad_rows(client, login_as):
    boss = UserFactory(email="boss@congty.vn")
    login_as(Role.HR)
    review_url(upload(client, "email,name,manager_email\nan@congty.vn,An,boss@congty.vn\n"))
    stored = db.session.scalar(select(PeopleImport))
    # After the dry run, the manager's address changes in the directory.
    boss.email = "sep@congty.vn"
    db.session.commit()

    confirmed = client.post(f"/people/import/{stored.id}/confirm")
    page = client.get(confirmed.headers["Location"]).get_data(as_text=True)

    job = imports.import_job(stored)
    assert job.state is JobState.FAILED
    assert "1 row cannot be imported; nothing was written." in page
    assert '<td class="text-end">2</td><td>The manager boss@congty.vn is neither' in page
    assert people_count() == 2
    db.session.expire_all()
    assert db.session.get(PeopleImport, stored.id).status == "pending"
    review = client.get(f"/people/import/{stored.id}").get_data(as_text=True)
    assert 'data-testid="import-failed"' in review


def test_confirming_while_the_import_waits_gives_the_same_job(client, login_as):
    hr = login_as(Role.HR)
    review_url(upload(client, GOOD_CSV))
    stored = db.session.scalar(select(PeopleImport))
    waiting = BackgroundJob(
        kind=imports.IMPORT_KIND,
        subject=f"people_import:{stored.id}",
        payload={"import_id": stored.id, "filename": stored.filename},
        created_by_id=hr.id,
        heartbeat_at=utcnow(),
    )
    db.session.add(waiting)
    db.session.commit()

    again = client.post(f"/people/import/{stored.id}/confirm")
    review = client.get(f"/people/import/{stored.id}").get_data(as_text=True)

    assert again.headers["Location"] == f"/jobs/{waiting.token}"
    jobs = db.session.scalar(select(func.count()).where(BackgroundJob.kind == imports.IMPORT_KIND))
    assert jobs == 1
    assert 'data-testid="import-running"' in review
    assert 'data-testid="confirm-import"' not in review


def test_a_job_started_by_someone_who_lost_the_hr_role_since_does_nothing_and_says_why(
    client, app, login_as
):
    """The import job checked only that its starter was still active: HR taken away between
    the confirmation and the job's run, the import still wrote everyone as them."""
    hr = login_as(Role.HR, locale="en")
    review_url(upload(client, GOOD_CSV))
    stored = db.session.scalar(select(PeopleImport))
    administrator = UserFactory(roles={Role.ADMIN})
    before = people_count()
    waiting = {}
    for kind, locale in ((imports.CHECK_KIND, "vi"), (imports.IMPORT_KIND, "en")):
        waiting[kind] = BackgroundJob(
            kind=kind,
            subject=f"people_import:{stored.id}",
            payload={"import_id": stored.id, "filename": stored.filename},
            created_by_id=hr.id,
            locale=locale,
            heartbeat_at=utcnow(),
        )
        db.session.add(waiting[kind])
    hr.set_roles({Role.EMPLOYEE})
    db.session.commit()

    for job in waiting.values():
        assert background.execute(job.id) is JobState.FAILED
        db.session.refresh(job)
        assert job.result in (None, {})
    # in the language of whoever started it, as every job's message
    assert "không còn vai trò nhân sự hay quản trị viên" in waiting[imports.CHECK_KIND].error
    assert "no longer holds the HR or administrator role" in waiting[imports.IMPORT_KIND].error

    assert people_count() == before
    db.session.expire_all()
    assert db.session.get(PeopleImport, stored.id).status == "pending"
    # out of HR, they no longer see the job; an administrator reads why it did nothing
    token = waiting[imports.IMPORT_KIND].token
    assert client.get(f"/jobs/{token}").status_code == 404
    admin = app.test_client()
    login(admin, administrator)
    page = admin.get(f"/jobs/{token}").get_data(as_text=True)
    assert "Whoever started this no longer holds the HR or administrator role" in page

    # an administrator holds every role: their job runs
    hr.set_roles({Role.ADMIN})
    db.session.commit()
    again = BackgroundJob(
        kind=imports.IMPORT_KIND,
        subject=f"people_import:{stored.id}:again",
        payload={"import_id": stored.id, "filename": stored.filename},
        created_by_id=hr.id,
        heartbeat_at=utcnow(),
    )
    db.session.add(again)
    db.session.commit()
    assert background.execute(again.id) is JobState.SUCCEEDED
    assert people_count() == before + 2


def test_the_upload_page_lists_my_recent_imports(client, login_as):
    login_as(Role.HR)
    review_url(upload(client, GOOD_CSV, filename="thang-11.csv"))
    someone_else = UserFactory(roles={Role.HR})
    imports.store_upload(GOOD_CSV.encode(), filename="khac.csv", actor=someone_else)

    html = client.get("/people/import/").get_data(as_text=True)

    assert "Your recent imports" in html
    assert "thang-11.csv" in html
    assert "khac.csv" not in html


def test_a_dry_run_still_running_shows_its_progress_on_the_review_page(client, login_as):
    hr = login_as(Role.HR)
    review_url(upload(client, GOOD_CSV))
    stored = db.session.scalar(select(PeopleImport))
    check = imports.check_job(stored)
    # As a worker leaves it halfway (its result not written yet).
    check.state, check.done, check.total, check.result = JobState.RUNNING, 1, 2, {}
    db.session.commit()

    review = client.get(f"/people/import/{stored.id}")

    assert review.status_code == 200
    html = review.get_data(as_text=True)
    assert 'data-testid="job-progress"' in html
    assert f'data-job-status-url="/jobs/{check.token}/status"' in html
    assert 'data-testid="confirm-import"' not in html
    assert check.created_by_id == hr.id


def test_a_file_above_the_old_limit_of_20000_people_is_accepted(app):
    rows = "".join(f"p{i}@congty.vn,Người {i}\n" for i in range(20_001))
    plan = imports.plan_import("email,name\n" + rows, actor=None)
    assert plan.errors == []
    assert plan.to_create == 20_001


LEAVING_ADMIN_CSV = (
    "employee_number,email,name,roles,leaving_date\n"
    "QT1,quantri@congty.vn,Quản Trị,employee;admin,2031-01-31\n"
)
LAST_ADMIN_WARNING = {
    "en": "Line 2: Quản Trị is the only active administrator: they stay active after their "
    "leaving date until someone else is made an administrator.",
    "vi": "Dòng 2: Quản Trị là quản trị viên duy nhất còn hoạt động: người này vẫn hoạt động "
    "sau ngày nghỉ việc cho đến khi có người khác được cấp quyền quản trị.",
}


def signed_in_administrator(login_as, **fields):  # type: ignore[no-untyped-def]
    """Only an administrator may change one (HR may not), so the last one imports their own
    leaving date, as they would save it on their edit page."""
    fields.setdefault("name", "Quản Trị")
    return login_as(
        Role.EMPLOYEE, Role.ADMIN, employee_number="QT1", email="quantri@congty.vn", **fields
    )


def test_a_dry_run_warns_in_the_importers_language_that_the_last_administrator_stays(
    client, login_as
):
    """The edit page warns that the only active administrator stays active past the leaving
    date it saves; a file (or the API) setting that date said nothing. The dry run warns,
    and the file can still be imported."""
    admin = signed_in_administrator(login_as, locale="en")
    for language in ("en", "vi"):
        admin.locale = language
        db.session.commit()
        review = client.get(review_url(upload(client, LEAVING_ADMIN_CSV)))

        html = review.get_data(as_text=True)
        assert review.status_code == 200, html[:500]
        assert 'data-testid="import-warnings"' in html
        assert LAST_ADMIN_WARNING[language] in html
        assert 'data-testid="confirm-import"' in html  # a warning, not a problem
    stored = db.session.scalars(select(PeopleImport).order_by(PeopleImport.id.desc())).first()
    assert client.post(f"/people/import/{stored.id}/confirm").status_code == 302
    db.session.refresh(admin)
    assert admin.leaving_date is not None
    assert admin.active


def test_a_dry_run_does_not_warn_when_another_administrator_stays(client, login_as):
    signed_in_administrator(login_as, locale="en")
    UserFactory(email="quantri2@congty.vn", roles={Role.ADMIN})

    html = client.get(review_url(upload(client, LEAVING_ADMIN_CSV))).get_data(as_text=True)

    assert 'data-testid="count-update">1<' in html
    assert "only active administrator" not in html


def test_a_dry_run_counts_the_administrators_the_file_adds_or_takes_away(client, login_as):
    signed_in_administrator(login_as, locale="en")
    UserFactory(employee_number="QT2", email="quantri2@congty.vn", roles={Role.ADMIN})
    handing_over = LEAVING_ADMIN_CSV + "QT2,quantri2@congty.vn,Quản Trị Hai,employee,\n"
    warned = client.get(review_url(upload(client, handing_over)))
    assert LAST_ADMIN_WARNING["en"] in warned.get_data(as_text=True)

    and_a_new_one = handing_over + "QT3,quantri3@congty.vn,Quản Trị Ba,employee;admin,\n"
    not_warned = client.get(review_url(upload(client, and_a_new_one)))
    assert 'data-testid="count-create">1<' in not_warned.get_data(as_text=True)
    assert "only active administrator" not in not_warned.get_data(as_text=True)


def test_a_dry_run_does_not_warn_again_of_a_leaving_date_already_stored(client, login_as):
    from datetime import date

    signed_in_administrator(login_as, locale="en", leaving_date=date(2031, 1, 31))

    html = client.get(review_url(upload(client, LEAVING_ADMIN_CSV))).get_data(as_text=True)

    assert 'data-testid="count-unchanged">1<' in html
    assert "only active administrator" not in html


def test_the_command_warns_that_the_last_administrator_stays_and_imports(runner, tmp_path):
    admin = UserFactory(
        employee_number="QT1", email="quantri@congty.vn", roles={Role.EMPLOYEE, Role.ADMIN}
    )
    path = Path(tmp_path) / "people.csv"
    path.write_text(LEAVING_ADMIN_CSV, encoding="utf-8")

    result = runner.invoke(args=["perks", "import-people", str(path), "--language", "en"])

    assert result.exit_code == 0, result.output
    assert LAST_ADMIN_WARNING["en"].replace("Line", "line") in result.output
    db.session.refresh(admin)
    assert admin.leaving_date is not None


def test_a_row_reactivating_someone_whose_leaving_date_has_come_is_refused(app):
    """Active again with their old leaving date on, a leaver claims nothing, earns nothing
    on their links, and the leavers' task, done with that date, never deactivates them
    again: the people page refuses it (clear or move the date first); so does a file."""
    from datetime import timedelta

    from perks.i18n import company_today

    gone = company_today() - timedelta(days=30)
    UserFactory(email="da-nghi@congty.vn", name="Đã Nghỉ", active=False, leaving_date=gone)

    stays = imports.plan_import("email,name,active\nda-nghi@congty.vn,Đã Nghỉ,yes\n", actor=None)
    assert [error.line for error in stays.errors] == [2]
    assert "Ngày nghỉ việc của Đã Nghỉ" in stays.errors[0].message

    cleared = imports.plan_import(
        "email,name,active,leaving_date\nda-nghi@congty.vn,Đã Nghỉ,yes,\n", actor=None
    )
    assert cleared.errors == []
    moved = (company_today() + timedelta(days=90)).isoformat()
    later = imports.plan_import(
        f"email,name,active,leaving_date\nda-nghi@congty.vn,Đã Nghỉ,yes,{moved}\n", actor=None
    )
    assert later.errors == []
    # a row that leaves them inactive is no reactivation
    still_gone = imports.plan_import("email,name\nda-nghi@congty.vn,Đã Nghỉ\n", actor=None)
    assert still_gone.errors == []

"""A background job's page on a phone: it fits 390 px, its progress moves by itself while the
job runs (the page's script asks the server), and the result appears when the job is done,
without anyone reloading. The import's review page does the same while its dry run runs."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from perks.background import BackgroundJob, JobState
from perks.db import utcnow
from perks.extensions import db
from perks.people import imports
from perks.people.models import Role
from tests import factories
from tests.browser.helpers import TABLES_SCROLLING, assert_fits_the_screen, new_context, sign_in

pytestmark = pytest.mark.browser

PHONE_WIDTH = 390
#: what makes a review's rows wide: a long address, name and place, before and after
LONG_EMAIL = "nguyen.hoang.bao.ngoc.tram@congty-du-lich-sen-vang.example"
LONG_NAME = "Nguyễn Hoàng Bảo Ngọc Trâm"
PLACE = "Văn phòng đại diện Thành phố Hồ Chí Minh"


@pytest.fixture
def phone(browser: Browser, live_server: str):  # type: ignore[no-untyped-def]
    context = new_context(browser, live_server)
    page = context.new_page()
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    yield page
    context.close()
    assert errors == []


def test_a_running_job_fits_a_phone_moves_and_shows_its_result_when_done(phone: Page):
    hr = factories.UserFactory(roles={Role.HR})
    sign_in(phone, hr.email)
    factories.UserFactory(email=LONG_EMAIL, name="Trâm Nguyễn")
    upload = imports.store_upload(
        "email,name,location\nan@congty.vn,Nguyễn Văn An,\n"
        f"{LONG_EMAIL},{LONG_NAME},{PLACE}\n".encode(),
        filename="nhansu.csv",
        actor=hr,
    )
    job = imports.check_job(upload)
    assert job is not None
    token, result = job.token, dict(job.result)  # the report, given back when it "finishes"
    # As a worker leaves it halfway through.
    job.state, job.done, job.total, job.stage = JobState.RUNNING, 1000, 4000, "checking"
    job.result, job.finished_at, job.heartbeat_at = {}, None, utcnow()
    db.session.commit()

    phone.goto(f"/jobs/{token}")
    expect(phone.get_by_test_id("job-state")).to_have_text("Running")
    expect(phone.locator("[data-job-bar]")).to_have_attribute("value", "25")
    assert_fits_the_screen(phone)

    # The worker moves on: the bar follows without a reload.
    db.session.expire_all()
    db.session.get(BackgroundJob, job.id).done = 3000
    db.session.commit()
    expect(phone.locator("[data-job-count]")).to_have_text("3,000 of 4,000", timeout=15_000)

    # The worker finishes: the page reloads by itself and shows the result.
    stored = db.session.get(BackgroundJob, job.id)
    stored.state, stored.result, stored.finished_at = JobState.SUCCEEDED, result, utcnow()
    db.session.commit()
    expect(phone.get_by_test_id("job-state")).to_have_text("Done", timeout=15_000)
    expect(phone.get_by_test_id("check-summary")).to_contain_text("2 rows: 1 to add, 1 to update")
    assert_fits_the_screen(phone)
    phone.get_by_test_id("review-link").click()
    expect(phone.get_by_test_id("count-create")).to_have_text("1")
    expect(phone.get_by_test_id("import-preview").locator("tbody tr")).to_have_count(2)
    expect(phone.get_by_test_id("confirm-import")).to_be_visible()
    assert_fits_the_screen(phone)
    assert phone.evaluate(TABLES_SCROLLING) == []

    # Where the person comes back to it.
    phone.goto("/jobs/")
    expect(phone.get_by_test_id("job-row")).to_have_count(1)
    assert_fits_the_screen(phone)


#: the changes a screen reader would hear in the page's live region (role=status)
WATCH_THE_LIVE_REGION = """() => {
  window.liveChanges = [];
  const region = document.querySelector('[data-testid=job-progress]');
  new MutationObserver((records) => {
    for (const r of records) window.liveChanges.push(r.type + ' ' + (r.target.textContent || ''));
  }).observe(region, {subtree: true, childList: true, characterData: true});
}"""


def test_a_job_that_does_not_move_is_not_announced_again_at_each_question(phone: Page):
    """The progress box is a live region (role=status): a screen reader reads it again each
    time its text is rewritten. It was rewritten at every question to the server, a change or
    not, so a job waiting for a worker was read out over and over."""
    hr = factories.UserFactory(roles={Role.HR})
    sign_in(phone, hr.email)
    upload = imports.store_upload(
        b"email,name\nan@congty.vn,Nguy\xe1\xbb\x85n V\xc4\x83n An\n", filename="a.csv", actor=hr
    )
    job = imports.check_job(upload)
    assert job is not None
    job.state, job.done, job.total, job.stage = JobState.RUNNING, 1000, 4000, "checking"
    job.result, job.finished_at, job.heartbeat_at = {}, None, utcnow()
    db.session.commit()

    phone.goto(f"/jobs/{job.token}")
    expect(phone.locator("[data-job-count]")).to_have_text("1,000 of 4,000")
    phone.evaluate(WATCH_THE_LIVE_REGION)
    for _ in range(2):
        with phone.expect_response(lambda r: r.url.endswith(f"/jobs/{job.token}/status")):
            pass
    phone.wait_for_load_state("networkidle")
    assert phone.evaluate("window.liveChanges") == []


def test_a_job_that_moves_is_announced_by_what_changed_alone(phone: Page):
    """A status region is read out whole at each change unless it says otherwise (ARIA's
    role=status is atomic): each new count had a screen reader read the whole box again, the
    title, the state and "You can leave this page: the work goes on…" included."""
    hr = factories.UserFactory(roles={Role.HR})
    sign_in(phone, hr.email)
    upload = imports.store_upload(b"email,name\nan@congty.vn,An\n", filename="a.csv", actor=hr)
    job = imports.check_job(upload)
    assert job is not None
    job.state, job.done, job.total, job.stage = JobState.RUNNING, 1000, 4000, "checking"
    job.result, job.finished_at, job.heartbeat_at = {}, None, utcnow()
    db.session.commit()

    phone.goto(f"/jobs/{job.token}")
    progress = phone.get_by_test_id("job-progress")
    expect(progress).to_have_attribute("role", "status")
    expect(progress).to_have_attribute("aria-atomic", "false")

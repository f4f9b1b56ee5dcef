"""HR creates a perk with a code pool and publishes it, in headless Chromium."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from perks.catalog.models import CodeMode, Perk, PerkCode, PerkStatus
from perks.extensions import db
from perks.people.models import Role
from tests import factories
from tests.browser.helpers import sign_in

pytestmark = pytest.mark.browser


def test_hr_creates_a_pool_perk_uploads_codes_and_publishes_it(page: Page, tmp_path: Path):
    factories.DepartmentFactory(name="Kinh doanh")
    hr = factories.UserFactory(roles={Role.EMPLOYEE, Role.HR}, name="Lê Thị Hồng Nhung")
    email = hr.email
    codes_file = tmp_path / "grab-codes.csv"
    codes_file.write_text("GRAB-0001\nGRAB-0002\nGRAB-0003\n", encoding="utf-8")
    sign_in(page, email)

    page.goto("/admin/perks/")
    page.get_by_test_id("new-perk").click()
    expect(page).to_have_url(re.compile(r"/admin/perks/new$"))
    form = page.get_by_test_id("perk-form")
    form.locator("input[name=title_vi]").fill("Giảm 50.000 ₫ cho chuyến Grab")
    form.locator("input[name=title_en]").fill("50,000 ₫ off a Grab ride")
    form.locator("input[name=value_vi]").fill("Giảm 50.000 ₫")
    form.locator("input[name=value_en]").fill("50,000 ₫ off")
    form.locator("input[name=partner_name]").fill("Grab")
    form.locator("select[name=category]").select_option("travel")
    form.locator("select[name=code_mode]").select_option("pool")
    form.locator("select[name=limit_period]").select_option("month")
    form.get_by_label("Kinh doanh").check()
    form.locator("[type=submit]").click()

    # A pool perk goes straight to its codes page.
    expect(page).to_have_url(re.compile(r"/admin/perks/\d+/codes$"))
    expect(page.locator(".alert-success")).to_contain_text("The draft is saved.")
    expect(page.get_by_test_id("codes-left")).to_have_text("0")
    codes_form = page.get_by_test_id("codes-form")
    codes_form.locator("input[name=file]").set_input_files(codes_file)
    codes_form.locator("[type=submit]").click()

    expect(page.locator(".alert-success")).to_have_text(re.compile(r"3 codes added\."))
    expect(page.get_by_test_id("codes-total")).to_have_text("3")
    expect(page.get_by_test_id("codes-left")).to_have_text("3")
    page.get_by_test_id("publish").click()

    expect(page).to_have_url(re.compile(r"/admin/perks/$"))
    expect(page.locator(".alert-success")).to_contain_text("is published")
    row = page.locator("tbody tr", has_text="50,000 ₫ off a Grab ride")
    expect(row.get_by_test_id("perk-status")).to_have_text("Published")
    expect(row.get_by_test_id("perk-stock")).to_have_text("3 codes left")

    folder = Path(os.environ.get("PERKS_SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=folder / "catalog-admin.png")

    db.session.expire_all()
    perk = db.session.scalar(select(Perk))
    assert perk.status is PerkStatus.PUBLISHED
    assert perk.code_mode is CodeMode.POOL
    assert [d.name for d in perk.departments] == ["Kinh doanh"]
    codes = set(db.session.scalars(select(PerkCode.code).where(PerkCode.perk_id == perk.id)))
    assert codes == {"GRAB-0001", "GRAB-0002", "GRAB-0003"}
    db.session.commit()  # end the read, so the server is free to write

"""HR runs the catalog: perks, images, code pools, publishing and draws, through the pages."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, time, timedelta
from html import unescape
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select, update
from werkzeug.datastructures import MultiDict

from perks import images
from perks.audit import AuditEvent
from perks.catalog import claims, draws, services
from perks.catalog.models import (
    Allocation,
    CodeMode,
    Draw,
    DrawStatus,
    EntryOutcome,
    LimitPeriod,
    Perk,
    PerkCategory,
    PerkCode,
    PerkKind,
    PerkStatus,
)
from perks.extensions import db
from perks.images import StoredImage
from perks.people.models import EmploymentType, Role
from tests import factories
from tests.helpers import counting_statements, login, png_bytes, png_of_size
from tests.submissions import perk_form

# --- helpers --------------------------------------------------------------------------------


def perk_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Perk)) or 0


def code_count(perk_id: int) -> int:
    return (
        db.session.scalar(select(func.count()).where(PerkCode.perk_id == perk_id)) or 0  # type: ignore[arg-type]
    )


def reload(perk_id: int) -> Perk:
    db.session.expire_all()
    return db.session.get(Perk, perk_id)  # type: ignore[return-value]


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def edit_form(perk: Perk, **overrides: object) -> dict[str, object]:
    """``perk_form`` as sent from the edit page of ``perk`` opened just now."""
    return {**perk_form(**overrides), "shown": services.shown_fingerprint(reload(perk.id))}


def draft(**fields: object) -> Perk:
    return factories.PerkFactory(status=PerkStatus.DRAFT, **fields)


class FormReader(HTMLParser):
    """What a browser would send back from a form, untouched: (name, value) pairs."""

    def __init__(self, testid: str) -> None:
        super().__init__()
        self.testid = testid
        self.values: list[tuple[str, str]] = []
        self._inside = False
        self._select: str | None = None
        self._first_option: tuple[str, str] | None = None
        self._chosen = False
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("data-testid") == self.testid:
            self._inside = True
        if not self._inside:
            return
        if tag == "input" and a.get("type", "text") not in ("submit", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.values.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._first_option, self._chosen = a["name"], None, False
        elif tag == "option" and self._select:
            pair = (self._select, a.get("value", ""))
            self._first_option = self._first_option or pair
            if "selected" in a:
                self.values.append(pair)
                self._chosen = True
        elif tag == "textarea":
            self._textarea, self._text = a["name"], []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False
        elif tag == "select" and self._select:
            if not self._chosen and self._first_option:
                self.values.append(self._first_option)
            self._select = None
        elif tag == "textarea" and self._textarea:
            text = "".join(self._text)
            # A newline right after <textarea> is not part of the value (HTML parsing rules).
            text = text[2:] if text.startswith("\r\n") else text.removeprefix("\n")
            self.values.append((self._textarea, text))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text.append(data)


def form_values(html: str, testid: str) -> MultiDict:
    reader = FormReader(testid)
    reader.feed(html)
    return MultiDict(reader.values)


@pytest.fixture
def hr(login_as):  # type: ignore[no-untyped-def]
    return login_as(Role.HR, name="Lê Thị Hồng Nhung")


def stored_image_names() -> set[str]:
    """The names of every image in the database (``perks.images``)."""
    return set(db.session.scalars(select(StoredImage.name)))


# --- creating and editing -------------------------------------------------------------------


def test_hr_creates_a_perk_and_every_field_round_trips(client, hr):
    sales = factories.DepartmentFactory(name="Kinh doanh")
    support = factories.DepartmentFactory(name="Chăm sóc khách hàng")
    factories.UserFactory(location="Đà Nẵng")
    data = MultiDict(perk_form())
    data.setlist("department_ids", [str(sales.id), str(support.id)])
    data.setlist("locations", ["Hà Nội", "Đà Nẵng"])
    data.setlist("employment_types", ["staff", "contractor"])

    response = client.post("/admin/perks/new", data=data)

    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    perk = db.session.scalar(select(Perk))
    assert response.headers["Location"] == f"/admin/perks/{perk.id}/edit"
    assert perk.title_vi == "Giảm 20% tại Highlands Coffee"
    assert perk.title_en == "20% off at Highlands Coffee"
    assert (perk.value_vi, perk.value_en) == ("Giảm 20%", "20% off")
    assert perk.description_vi.startswith("Áp dụng cho mọi đồ uống.")
    assert perk.description_en == "Any drink.\nNot with other offers."
    assert (perk.terms_vi, perk.terms_en) == (
        "Xuất trình mã tại quầy.",
        "Show the code at the counter.",
    )
    assert perk.partner_name == "Highlands Coffee"
    assert perk.kind is PerkKind.DISCOUNT_CODE
    assert perk.category is PerkCategory.FOOD_DRINK
    assert (perk.starts_on, perk.ends_on) == (date(2026, 1, 1), date(2026, 12, 31))
    assert (perk.code_mode, perk.shared_code) == (CodeMode.SHARED, "STAFF20")
    assert (perk.total_stock, perk.remaining_stock) == (100, 100)
    assert (perk.per_person_limit, perk.limit_period) == (2, LimitPeriod.MONTH)
    assert perk.allocation is Allocation.FIRST_COME
    assert {d.id for d in perk.departments} == {sales.id, support.id}
    assert sorted(perk.locations) == sorted(["Hà Nội", "Đà Nẵng"])
    assert perk.employment_types == ["contractor", "staff"]
    assert perk.min_tenure_days == 90
    assert perk.status is PerkStatus.DRAFT
    assert perk.created_by_id == hr.id
    assert audit_actions()[-1] == "catalog.perk_created"

    # The edit form shows every value; sending it back unchanged changes nothing.
    page = client.get(f"/admin/perks/{perk.id}/edit")
    assert page.status_code == 200
    shown = form_values(page.get_data(as_text=True), "perk-form")
    for name, value in perk_form().items():
        assert shown.get(name, "").replace("\r\n", "\n") == value, name
    assert sorted(shown.getlist("department_ids")) == sorted([str(sales.id), str(support.id)])
    assert sorted(shown.getlist("locations")) == sorted(["Hà Nội", "Đà Nẵng"])
    assert sorted(shown.getlist("employment_types")) == ["contractor", "staff"]
    before = {c.key: getattr(perk, c.key) for c in Perk.__table__.columns if c.key != "updated_at"}

    assert client.post(f"/admin/perks/{perk.id}/edit", data=shown).status_code == 302

    after = reload(perk.id)
    assert {c: getattr(after, c) for c in before} == before
    assert {d.id for d in after.departments} == {sales.id, support.id}


def test_hr_edits_a_perk(client, hr):
    perk = draft(total_stock=10, remaining_stock=10, code_mode=CodeMode.VOUCHER)
    data = edit_form(
        perk,
        title_vi="Vé xem phim",
        title_en="",
        code_mode="voucher",
        shared_code="IGNORED",
        total_stock="",
        per_person_limit="",
        limit_period="ever",
        starts_on="",
        ends_on="",
        min_tenure_days="",
        kind="internal_voucher",
        category="entertainment",
    )

    response = client.post(f"/admin/perks/{perk.id}/edit", data=data)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/perks/{perk.id}/edit"
    perk = reload(perk.id)
    assert (perk.title_vi, perk.title_en) == ("Vé xem phim", "")
    assert perk.kind is PerkKind.INTERNAL_VOUCHER
    assert perk.shared_code == ""  # only a shared-code perk keeps one
    assert (perk.total_stock, perk.remaining_stock) == (None, None)  # unlimited
    assert perk.per_person_limit is None
    assert (perk.starts_on, perk.ends_on, perk.min_tenure_days) == (None, None, 0)
    assert audit_actions()[-1] == "catalog.perk_updated"
    assert "Changes saved." in client.get(response.headers["Location"]).get_data(as_text=True)


def test_the_audit_log_says_what_an_edit_changed_beyond_the_rules(client, hr, app):
    """A new shared code, description, partner or category were
    changes the audit log recorded as "Perk changed" with no change named (only the rules
    history's terms were compared)."""
    perk = factories.PerkFactory(
        code_mode=CodeMode.SHARED,
        shared_code="STAFF2O",
        partner_name="Highlands",
        category=PerkCategory.OTHER,
        description_en="Old text.",
    )
    data = edit_form(
        perk,
        title_vi=perk.title_vi,
        title_en=perk.title_en,
        value_vi=perk.value_vi,
        value_en=perk.value_en,
        terms_vi="",
        terms_en="",
        description_vi="",
        description_en="New text.",
        partner_name="Highlands Coffee",
        category="food_drink",
        shared_code="STAFF20",
        starts_on="",
        ends_on="",
        total_stock="",
        per_person_limit="1",
        limit_period="ever",
        min_tenure_days="0",
    )

    assert client.post(f"/admin/perks/{perk.id}/edit", data=data).status_code == 302

    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "catalog.perk_updated")
    ).one()
    assert event.details["changes"] == {
        "shared_code": ["STAFF2O", "STAFF20"],
        "partner_name": ["Highlands", "Highlands Coffee"],
        "category": ["other", "food_drink"],
        "description_en": ["Old text.", "New text."],
    }
    admin = app.test_client()
    login(admin, factories.UserFactory(roles={Role.ADMIN}, locale="en"))
    page = unescape(admin.get("/admin/audit").get_data(as_text=True))
    assert "Shared code: STAFF2O → STAFF20" in page
    assert "Category: Other → Food and drink" in page
    assert "Partner or vendor: Highlands → Highlands Coffee" in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title_vi": "", "title_en": " "}, "Give the perk a title."),
        ({"title_vi": "\u200b", "title_en": "\ufeff \u2060"}, "Give the perk a title."),
        ({"starts_on": "2026-05-01", "ends_on": "2026-04-30"}, "The end date is before the start"),
        ({"code_mode": "shared", "shared_code": ""}, "Enter the shared code."),
        ({"allocation": "draw", "code_mode": "pool"}, "cannot use a code pool"),
        ({"allocation": "draw", "code_mode": "voucher", "total_stock": ""}, "number of seats"),
        ({"total_stock": "-1"}, "Number must be between 0 and 1,000,000,000."),
        ({"total_stock": "99999999999999999999"}, "Number must be between 0 and 1,000,000,000."),
        ({"per_person_limit": "0"}, "Number must be between 1 and 1,000,000,000."),
        ({"terms_en": "Show\x1b[31m the code"}, "Remove the invisible control characters"),
        ({"kind": "lottery"}, "Not a valid choice."),
        ({"starts_on": "31/02/2026"}, "Not a valid date value."),
        ({"locations": "Sao Hỏa"}, "not a valid choice"),
        ({"department_ids": "9999"}, "not a valid choice"),
    ],
)
def test_bad_perk_data_gets_a_400_with_the_reason_and_saves_nothing(client, hr, overrides, message):
    response = client.post("/admin/perks/new", data=perk_form(**overrides))

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert perk_count() == 0


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title_vi": "", "title_en": " "}, "title_vi", "Give the perk a title."),
        (
            {"starts_on": "2026-05-01", "ends_on": "2026-04-30"},
            "ends_on",
            "The end date is before the start date.",
        ),
        ({"code_mode": "shared", "shared_code": ""}, "shared_code", "Enter the shared code."),
        (
            {"allocation": "draw", "code_mode": "voucher", "total_stock": ""},
            "allocation",
            "A draw needs a number of seats",
        ),
        (
            {"allocation": "draw", "points_price": "50"},
            "points_price",
            "A reward bought with points is first come, not a draw.",
        ),
        (
            {"allocation": "draw", "kind": "gift", "total_stock": "3"},
            "allocation",
            "A gift is given by its programme or award, never entered: not a draw.",
        ),
    ],
)
def test_a_refusal_of_the_perk_is_shown_at_its_field(client, hr, overrides, field, message):
    """The form is long (a phone scrolls through a dozen screens of it): the service's
    refusals were only a line above it, no field marked, so HR had to hunt for what to
    change. Each now sits at its field, which is marked invalid, and what was typed stays."""
    response = client.post("/admin/perks/new", data=perk_form(**overrides))

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    error = re.search(rf'<div class="invalid-feedback" id="{field}-error-1">([^<]*)</div>', html)
    assert error is not None, html[html.find("alert-danger") - 200 :][:600]
    assert message in unescape(error.group(1))
    assert re.search(rf'<(input|select)[^>]*class="[^"]*is-invalid[^"]*"[^>]*id="{field}"', html)
    assert "alert-danger" not in html  # said once, at the field
    assert "Highlands Coffee" in html  # nothing typed is lost
    assert perk_count() == 0


def test_a_stock_below_what_is_claimed_is_refused_at_the_stock(client, hr):
    perk = factories.PerkFactory(total_stock=5, per_person_limit=1)
    for _ in range(3):
        claims.claim_perk(perk.id, factories.UserFactory())

    response = client.post(f"/admin/perks/{perk.id}/edit", data=edit_form(perk, total_stock="2"))

    assert response.status_code == 400
    assert (
        '<div class="invalid-feedback" id="total_stock-error-1">'
        "3 are already claimed: the stock cannot be lower.</div>"
    ) in response.get_data(as_text=True)


def test_titles_and_a_partner_pasted_with_invisible_ends_are_kept_without_them(client, hr):
    data = perk_form(title_vi="\u200bVé xem phim ", title_en="\ufeff", partner_name=" CGV\u2060")

    assert client.post("/admin/perks/new", data=data).status_code == 302
    perk = db.session.scalar(select(Perk))
    assert (perk.title_vi, perk.title_en, perk.partner_name) == ("Vé xem phim", "", "CGV")


def test_the_forms_ignore_fields_they_do_not_list(client, hr):
    other = factories.UserFactory()
    sneaky = {
        "status": "published",
        "remaining_stock": "999",
        "created_by_id": str(other.id),
        "image_filename": "../../secret.png",
        "id": "4242",
    }

    assert client.post("/admin/perks/new", data=perk_form(**sneaky)).status_code == 302

    perk = db.session.scalar(select(Perk))
    assert perk.id != 4242
    assert perk.status is PerkStatus.DRAFT
    assert perk.remaining_stock == 100
    assert perk.created_by_id == hr.id
    assert perk.image_filename is None

    edited = client.post(
        f"/admin/perks/{perk.id}/edit", data=edit_form(perk, **{**sneaky, "status": "archived"})
    )

    assert edited.status_code == 302
    perk = reload(perk.id)
    assert (perk.status, perk.remaining_stock, perk.image_filename) == (
        PerkStatus.DRAFT,
        100,
        None,
    )


def test_lowering_the_stock_below_what_is_claimed_is_refused(client, hr):
    perk = factories.PerkFactory(total_stock=5, per_person_limit=1)
    for _ in range(3):
        claims.claim_perk(perk.id, factories.UserFactory())

    response = client.post(
        f"/admin/perks/{perk.id}/edit",
        data=edit_form(perk, code_mode="voucher", total_stock="2", per_person_limit="1"),
    )

    assert response.status_code == 400
    assert "3 are already claimed: the stock cannot be lower." in response.get_data(as_text=True)
    perk = reload(perk.id)
    assert (perk.total_stock, perk.remaining_stock) == (5, 2)

    raised = client.post(
        f"/admin/perks/{perk.id}/edit",
        data=edit_form(perk, code_mode="voucher", total_stock="3", per_person_limit="1"),
    )

    assert raised.status_code == 302
    assert (reload(perk.id).total_stock, reload(perk.id).remaining_stock) == (3, 0)


# --- images ---------------------------------------------------------------------------------


def test_hr_uploads_a_png_image(client, hr):
    data = perk_form()
    data["image"] = (io.BytesIO(png_bytes()), "logo.PNG")

    response = client.post("/admin/perks/new", data=data, content_type="multipart/form-data")

    assert response.status_code == 302
    perk = db.session.scalar(select(Perk))
    assert perk.image_filename.endswith(".png")
    assert stored_image_names() == {perk.image_filename}
    assert images.load_image(perk.image_filename).data == png_bytes()  # type: ignore[union-attr]
    assert "catalog.image_set" in audit_actions()
    page = client.get(f"/admin/perks/{perk.id}/edit").get_data(as_text=True)
    assert 'data-testid="perk-image"' in page

    # A new image replaces the old one, file and all.
    old = perk.image_filename
    replace = edit_form(perk)
    replace["image"] = (io.BytesIO(b"\xff\xd8\xff\xe0" + b"\x00" * 64), "photo.jpg")
    edited = client.post(
        f"/admin/perks/{perk.id}/edit", data=replace, content_type="multipart/form-data"
    )
    assert edited.status_code == 302
    perk = reload(perk.id)
    assert perk.image_filename.endswith(".jpg")
    assert images.load_image(old) is None
    assert stored_image_names() == {perk.image_filename}


@pytest.mark.parametrize("page", ["new", "edit"])
def test_an_image_chosen_on_a_refused_form_is_asked_for_again(client, hr, page):
    """A browser cannot fill a file input again: the refused page showed it empty and said
    nothing, so HR corrected the field, saved, read "Changes saved." and the perk had no
    new image."""
    if page == "new":
        url, data = "/admin/perks/new", perk_form(ends_on="2025-12-31")
    else:
        perk = draft()
        url, data = f"/admin/perks/{perk.id}/edit", edit_form(perk, ends_on="2025-12-31")
    data["image"] = (io.BytesIO(png_bytes()), "photo.png")

    response = client.post(url, data=data, content_type="multipart/form-data")

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The end date is before the start date." in html
    assert (
        '<div class="invalid-feedback" id="image-error-1">A new image: choose it again.</div>'
        in html
    )
    assert stored_image_names() == set()


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("animation.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "Upload a PNG or JPEG image."),
        ("disguised.png", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "Upload a PNG or JPEG image."),
        ("notes.png", b"just some text, not an image\n", "Upload a PNG or JPEG image."),
        ("huge.png", png_bytes() + b"\x00" * services.MAX_IMAGE_BYTES, "larger than 2 MB"),
        ("bomb.png", png_of_size(20_000, 20_000), "too many pixels"),
    ],
)
def test_a_bad_image_gets_a_400_and_nothing_is_saved(client, hr, filename, content, message):
    data = perk_form()
    data["image"] = (io.BytesIO(content), filename)

    response = client.post("/admin/perks/new", data=data, content_type="multipart/form-data")

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert perk_count() == 0
    assert stored_image_names() == set()

    perk = draft()
    again = edit_form(perk)
    again["image"] = (io.BytesIO(content), filename)
    edited = client.post(
        f"/admin/perks/{perk.id}/edit", data=again, content_type="multipart/form-data"
    )
    assert edited.status_code == 400
    assert reload(perk.id).image_filename is None


# --- publishing -----------------------------------------------------------------------------


def test_hr_publishes_then_archives_a_perk(client, hr):
    perk = draft(title_en="Cinema tickets")

    published = client.post(f"/admin/perks/{perk.id}/publish")

    assert published.status_code == 302
    assert published.headers["Location"] == "/admin/perks/"
    assert reload(perk.id).status is PerkStatus.PUBLISHED
    listing = client.get("/admin/perks/").get_data(as_text=True)
    assert "“Cinema tickets” is published" in listing
    assert "Published" in listing

    again = client.post(f"/admin/perks/{perk.id}/publish", follow_redirects=True)
    assert "This perk is already published." in again.get_data(as_text=True)

    archived = client.post(f"/admin/perks/{perk.id}/archive")
    assert archived.status_code == 302
    assert reload(perk.id).status is PerkStatus.ARCHIVED
    assert audit_actions()[-2:] == ["catalog.perk_published", "catalog.perk_archived"]


def test_a_pool_perk_without_codes_cannot_be_published(client, hr):
    perk = draft(code_mode=CodeMode.POOL)

    response = client.post(f"/admin/perks/{perk.id}/publish")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/perks/{perk.id}/edit"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Add codes to the pool before publishing." in page
    assert reload(perk.id).status is PerkStatus.DRAFT


def test_a_new_pool_perk_leads_to_its_codes_page(client, hr):
    response = client.post(
        "/admin/perks/new", data=perk_form(code_mode="pool", shared_code="", total_stock="")
    )

    perk = db.session.scalar(select(Perk))
    assert response.headers["Location"] == f"/admin/perks/{perk.id}/codes"
    assert perk.total_stock is None


# --- code pools -----------------------------------------------------------------------------


def test_pasted_codes_with_a_duplicate_and_a_blank_line_are_refused_whole(client, hr):
    perk = draft(code_mode=CodeMode.POOL, codes=["OLD-1"])
    pasted = "NEW-1\r\nNEW-2\r\n\r\nNEW-1\r\nOLD-1\r\n   \r\nNEW-3"

    response = client.post(f"/admin/perks/{perk.id}/codes", data={"codes": pasted})

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Nothing was imported: fix the lines listed below." in html
    assert "4 lines to fix" in html
    for line, reason in [
        (3, "This line is blank."),
        (4, "Same code as line 1."),
        (5, "Already in this perk&#39;s pool."),
        (6, "This line is blank."),
    ]:
        assert f'<td class="text-end">{line}</td><td>{reason}</td>' in html
    assert '<td class="text-end">1</td>' not in html
    assert code_count(perk.id) == 1
    assert "NEW-3" in html  # the text stays in the box to be fixed


def test_as_many_codes_as_an_import_takes_can_be_pasted(client, hr):
    """A browser sends the codes form as multipart, and Flask keeps any field of it over
    MAX_FORM_MEMORY_SIZE (500 kB by default) out with a 413: 40,000 codes of 16 characters
    pasted into the box (the page takes 50,000) got the error page "File too large" though
    no file was sent, and the pasted codes were gone."""
    perk = draft(code_mode=CodeMode.POOL, codes=["OLD-1"])
    width = services.MAX_CODE_LENGTH - 6
    pasted = "\r\n".join(
        f"CODE-{number:0{width}d}" for number in range(services.MAX_CODES_PER_IMPORT)
    )

    response = client.post(
        f"/admin/perks/{perk.id}/codes",
        data={"codes": pasted, "file": (io.BytesIO(b""), "")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 302
    assert code_count(perk.id) == services.MAX_CODES_PER_IMPORT + 1


def test_a_file_of_more_codes_than_an_import_takes_says_so_not_that_line_1_is_wrong(
    client, hr, monkeypatch
):
    """A partner's file of 100,000 codes was refused as "1 line to fix", line 1: "At most
    50,000 codes at a time.", though line 1 was a good code: HR looked for a fault there."""
    monkeypatch.setattr(services, "MAX_CODES_PER_IMPORT", 3)
    perk = draft(code_mode=CodeMode.POOL)
    content = "\ufeffHL-1\r\nHL-2\r\nHL-3\r\nHL-4\r\n".encode()

    response = client.post(
        f"/admin/perks/{perk.id}/codes",
        data={"file": (io.BytesIO(content), "codes.csv")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert (
        "Nothing was imported: the list has 4 lines, and an import takes at most 3 codes. "
        "Split it and import each part."
    ) in html
    assert 'data-testid="code-errors"' not in html
    assert "line to fix" not in html
    assert code_count(perk.id) == 0


def test_codes_with_control_characters_are_reported_by_line(client, hr):
    perk = draft(code_mode=CodeMode.POOL)
    content = b"GOOD-1\nBAD\x00CODE\nNAME\tCODE\nGOOD-2\n"

    response = client.post(
        f"/admin/perks/{perk.id}/codes",
        data={"file": (io.BytesIO(content), "codes.txt")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for line in (2, 3):
        assert (
            f'<td class="text-end">{line}</td>'
            "<td>Contains a tab or an invisible control character.</td>"
        ) in html
    assert code_count(perk.id) == 0


def test_a_clean_code_file_is_added_and_counted(client, hr):
    perk = draft(code_mode=CodeMode.POOL)
    content = "\ufeffHL-0001\nHL-0002\r\nMÃ-ĐẶC-BIỆT\n".encode()

    response = client.post(
        f"/admin/perks/{perk.id}/codes",
        data={"file": (io.BytesIO(content), "codes.csv")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/perks/{perk.id}/codes"
    stored = set(db.session.scalars(select(PerkCode.code).where(PerkCode.perk_id == perk.id)))
    assert stored == {"HL-0001", "HL-0002", "MÃ-ĐẶC-BIỆT"}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "3 codes added." in page
    assert 'data-testid="codes-total">3<' in page
    assert 'data-testid="codes-used">0<' in page
    assert 'data-testid="codes-left">3<' in page
    assert audit_actions()[-1] == "catalog.codes_imported"

    # Handing one out shows in the counts, and in the list.
    client.post(f"/admin/perks/{perk.id}/publish")
    claims.claim_perk(perk.id, factories.UserFactory())
    page = client.get(f"/admin/perks/{perk.id}/codes").get_data(as_text=True)
    assert 'data-testid="codes-used">1<' in page
    assert 'data-testid="codes-left">2<' in page
    assert "2 codes left" in client.get("/admin/perks/").get_data(as_text=True)


def test_a_code_file_that_is_not_utf8_gets_a_400(client, hr):
    perk = draft(code_mode=CodeMode.POOL)
    content = "CODE-1\nCAFÉ-2\n".encode("cp1258")

    response = client.post(
        f"/admin/perks/{perk.id}/codes",
        data={"file": (io.BytesIO(content), "codes.txt")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 400
    assert "The file is not UTF-8 text (line 2)." in response.get_data(as_text=True)
    assert code_count(perk.id) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Paste the codes or choose a file."),
        ({"codes": "  \r\n "}, "Paste the codes or choose a file."),
        (
            {"codes": "A1", "file": (io.BytesIO(b"B2\n"), "codes.txt")},
            "Paste the codes or upload a file, not both.",
        ),
        ({"file": (io.BytesIO(b"MZ\x90\x00"), "codes.exe")}, "Upload a .txt or .csv file."),
    ],
)
def test_the_codes_form_needs_exactly_one_list(client, hr, data, message):
    perk = draft(code_mode=CodeMode.POOL)

    response = client.post(
        f"/admin/perks/{perk.id}/codes", data=data, content_type="multipart/form-data"
    )

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert code_count(perk.id) == 0


def test_a_perk_without_a_pool_takes_no_codes(client, hr):
    perk = draft(code_mode=CodeMode.SHARED, shared_code="ALL")

    page = client.get(f"/admin/perks/{perk.id}/codes")
    assert page.status_code == 200
    assert "does not use a code pool" in page.get_data(as_text=True)
    assert 'data-testid="codes-form"' not in page.get_data(as_text=True)

    response = client.post(f"/admin/perks/{perk.id}/codes", data={"codes": "A1"})
    assert response.status_code == 409
    assert code_count(perk.id) == 0


# --- the list -------------------------------------------------------------------------------


def test_the_list_shows_each_perks_stock_and_filters_by_status(client, hr):
    pool = factories.PerkFactory(
        title_vi="Mã Grab", code_mode=CodeMode.POOL, codes=["G1", "G2", "G3"]
    )
    counted = factories.PerkFactory(title_vi="Vé xem phim", total_stock=10)
    factories.PerkFactory(title_vi="Cà phê miễn phí", total_stock=None)
    factories.PerkFactory(
        title_vi="Nghỉ dưỡng", status=PerkStatus.DRAFT, starts_on=date(2026, 3, 1)
    )
    for perk in (pool, counted):
        claims.claim_perk(perk.id, factories.UserFactory())

    everything = client.get("/admin/perks/")

    assert everything.status_code == 200
    html = everything.get_data(as_text=True)
    assert "2 codes left" in html
    assert "1 / 10 claimed" in html
    assert "Unlimited" in html
    assert "Nghỉ dưỡng" in html
    drafts = client.get("/admin/perks/?status=draft").get_data(as_text=True)
    assert "Nghỉ dưỡng" in drafts
    assert "Vé xem phim" not in drafts
    assert "Vé xem phim" in client.get("/admin/perks/?status=published").get_data(as_text=True)
    assert client.get("/admin/perks/?status=deleted").status_code == 400


def test_a_status_with_no_perk_says_so_not_that_the_catalog_is_empty(client, hr):
    """Filtering on "Archived" with no archived perk said "No perks here yet. Add the first
    one." over a catalog of published perks."""
    assert "No perks here yet." in client.get("/admin/perks/").get_data(as_text=True)
    factories.PerkFactory(title_vi="Vé xem phim")

    html = client.get("/admin/perks/?status=archived").get_data(as_text=True)
    assert "No perks here yet." not in html
    assert "No perks have this status." in html


def test_the_list_runs_the_same_queries_for_few_or_many_perks(client, hr):
    def statements_for_list() -> int:
        with counting_statements() as sent:
            assert client.get("/admin/perks/").status_code == 200
        return len(sent)

    department = factories.DepartmentFactory()

    def add_perks(n: int) -> None:
        for i in range(n):
            mode = [CodeMode.POOL, CodeMode.VOUCHER, CodeMode.SHARED][i % 3]
            perk = factories.PerkFactory(
                code_mode=mode,
                shared_code="S" if mode is CodeMode.SHARED else "",
                total_stock=None if mode is CodeMode.POOL else 5,
                codes=[f"C{i}"] if mode is CodeMode.POOL else None,
            )
            perk.departments = [department]
        db.session.commit()

    add_perks(3)
    few = statements_for_list()
    add_perks(30)
    many = statements_for_list()

    assert many == few


# --- draws ----------------------------------------------------------------------------------


def as_utc(moment: datetime) -> datetime:
    """SQLite gives stored times back naive (they are UTC); PostgreSQL gives them aware."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def test_hr_opens_a_draw_and_makes_it_after_entries_close(client, hr, app):
    perk = factories.PerkFactory(
        title_en="Resort weekend",
        allocation=Allocation.DRAW,
        kind=PerkKind.EXPERIENCE,
        total_stock=2,
    )
    page = client.get(f"/admin/perks/{perk.id}/draw")
    assert page.status_code == 200
    assert 'data-testid="open-draw-form"' in page.get_data(as_text=True)
    # the form proposes XSMB and the time its results are complete
    assert 'id="public_value_time" name="public_value_time" type="time" value="18:40"' in (
        page.get_data(as_text=True)
    )

    opened = client.post(
        f"/admin/perks/{perk.id}/draw",
        data={
            "entries_close_at": "2030-01-10T09:30",
            "decline_days": "5",
            "recent_winner_draws": "1",
            "show_names": "y",
            "public_value_time": "18:40",
        },
    )

    assert opened.status_code == 302, opened.get_data(as_text=True)[:2000]
    draw = db.session.scalar(select(Draw).where(Draw.perk_id == perk.id))
    # 09:30 in Hồ Chí Minh City (UTC+7) is 02:30 UTC.
    assert as_utc(draw.entries_close_at) == datetime(2030, 1, 10, 2, 30, tzinfo=UTC)
    assert (draw.seats, draw.decline_days, draw.recent_winner_draws, draw.show_names) == (
        2,
        5,
        1,
        True,
    )
    assert "catalog.draw_opened" in audit_actions()
    shown = client.get(f"/admin/perks/{perk.id}/draw").get_data(as_text=True)
    assert draw.commitment in shown
    assert draw.seed not in shown  # secret until the draw
    assert 'data-testid="draw-now"' not in shown
    assert 'data-testid="open-draw-form"' not in shown

    people = [factories.UserFactory(name=f"Người {i}") for i in range(3)]
    for person in people:
        draws.enter_draw(perk.id, person)
    assert 'data-testid="entry-count">3<' in client.get(f"/admin/perks/{perk.id}/draw").get_data(
        as_text=True
    )

    too_early = client.post(f"/admin/perks/{perk.id}/draw/run", follow_redirects=True)

    assert "Entries are still open." in too_early.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Draw, draw.id).status is DrawStatus.OPEN

    assert draw.public_value_source == draws.DEFAULT_PUBLIC_VALUE_SOURCE
    assert draw.public_value_date == date(2030, 1, 11)  # the day after the close
    assert draw.public_value_time == time(18, 40)
    # Time passes: entries closed two days ago.
    db.session.execute(
        update(Draw)
        .where(Draw.id == draw.id)
        .values(entries_close_at=datetime.now(UTC) - timedelta(days=2))
    )
    db.session.commit()
    closed = client.get(f"/admin/perks/{perk.id}/draw").get_data(as_text=True)
    assert 'data-testid="freeze-entries"' in closed
    assert 'data-testid="draw-now"' not in closed

    frozen = client.post(f"/admin/perks/{perk.id}/draw/run", follow_redirects=True)
    frozen_html = frozen.get_data(as_text=True)
    assert "Entries are frozen and their hash is published." in frozen_html
    db.session.expire_all()
    draw = db.session.get(Draw, draw.id)
    assert draw.status is DrawStatus.CLOSED
    assert draw.entries_hash in frozen_html
    assert 'data-testid="waits-for-value"' in frozen_html
    assert 'data-testid="draw-now"' not in frozen_html
    assert "catalog.draw_entries_closed" in audit_actions()
    # HR sees it among the draws waiting for a public value, from the catalog too.
    assert 'data-testid="draws-waiting"' in client.get("/admin/perks/").get_data(as_text=True)
    waiting = client.get("/admin/perks/draws/waiting").get_data(as_text=True)
    assert "Resort weekend" in waiting
    assert draws.DEFAULT_PUBLIC_VALUE_SOURCE in waiting
    no_value = client.post(f"/admin/perks/{perk.id}/draw/run", follow_redirects=True)
    assert "The draw waits for the public value." in no_value.get_data(as_text=True)
    # The stated day (2030) has not come: the value cannot be known yet.
    today = draws.company_date(datetime.now(UTC))
    assert draw.public_value_date == date(2030, 1, 11)
    early = client.post(f"/admin/perks/{perk.id}/draw/public-value", data={"value": "58214"})
    assert early.status_code == 400
    assert "is not published yet" in early.get_data(as_text=True)
    # Time passes again: the freeze was yesterday, the value's day is today.
    db.session.execute(
        update(Draw)
        .where(Draw.id == draw.id)
        .values(
            entries_frozen_at=datetime.now(UTC) - timedelta(days=1),
            public_value_date=today,
            public_value_time=time(0, 0),  # published already, whatever the time of day
        )
    )
    db.session.commit()

    empty = client.post(f"/admin/perks/{perk.id}/draw/public-value", data={"value": ""})
    assert empty.status_code == 400
    valued = client.post(f"/admin/perks/{perk.id}/draw/public-value", data={"value": "58214"})
    assert valued.status_code == 302, valued.get_data(as_text=True)[:2000]
    ready = client.get(valued.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="draw-now"' in ready
    assert "58214" in ready
    assert "catalog.draw_public_value_entered" in audit_actions()
    assert "Resort weekend" not in client.get("/admin/perks/draws/waiting").get_data(as_text=True)

    made = client.post(f"/admin/perks/{perk.id}/draw/run")

    assert made.status_code == 302
    result = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "The draw is made: 3 entries in draw order." in result
    db.session.expire_all()
    draw = db.session.get(Draw, draw.id)
    assert draw.status is DrawStatus.DRAWN
    assert draw.seed in result
    outcomes = [e.outcome for e in draws.draw_entries(draw.id)]
    assert outcomes == [EntryOutcome.WON, EntryOutcome.WON, EntryOutcome.WAITING]
    assert result.count(">Won<") == 2
    assert result.count(">Waiting list<") == 1
    for entry in draws.draw_entries(draw.id):
        assert entry.user.name in result
    if "catalog.draw" in app.view_functions:
        assert 'data-testid="public-draw"' in result
    # Both seats went to the winners: another round needs more stock first.
    assert 'data-testid="no-seats"' in result
    assert 'data-testid="open-draw-form"' not in result
    client.post(
        f"/admin/perks/{perk.id}/edit",
        data=edit_form(
            perk, allocation="draw", kind="experience", code_mode="voucher", total_stock="4"
        ),
    )
    assert 'data-testid="open-draw-form"' in client.get(f"/admin/perks/{perk.id}/draw").get_data(
        as_text=True
    )

    assert draws.verify_draw(draw.id).ok
    twice = client.post(f"/admin/perks/{perk.id}/draw/run", follow_redirects=True)
    assert "This draw has already been made." in twice.get_data(as_text=True)
    late = client.post(f"/admin/perks/{perk.id}/draw/public-value", data={"value": "11111"})
    assert late.status_code == 400
    assert "This draw has already been made." in late.get_data(as_text=True)


@pytest.mark.parametrize(
    ("perk_fields", "data", "message"),
    [
        ({"status": PerkStatus.DRAFT}, None, "Only a published perk allocated by draw"),
        ({}, {"entries_close_at": "2001-01-01T10:00"}, "Entries must close in the future."),
        ({}, {"entries_close_at": "next week"}, "Not a valid datetime value."),
        ({}, {"decline_days": "-1"}, "Number must be between 1 and 365."),
        # the winner would be told to decline by a moment already passed
        ({}, {"decline_days": "0"}, "Number must be between 1 and 365."),
        ({"kind": PerkKind.GIFT}, None, "Only a published perk allocated by draw"),
        ({}, {"public_value_date": "2030-01-01"}, "a day after the day entries close"),
    ],
)
def test_a_draw_that_cannot_open_gets_a_400(client, hr, perk_fields, data, message):
    fields = {"allocation": Allocation.DRAW, "kind": PerkKind.EXPERIENCE, "total_stock": 3}
    perk = factories.PerkFactory(**{**fields, **perk_fields})
    form = {"entries_close_at": "2030-01-01T10:00", "decline_days": "7", **(data or {})}

    response = client.post(f"/admin/perks/{perk.id}/draw", data=form)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Draw)) == 0


def test_a_first_come_perk_has_no_draw(client, hr):
    perk = factories.PerkFactory()

    page = client.get(f"/admin/perks/{perk.id}/draw")
    assert page.status_code == 200
    assert "allocated first come, first served" in page.get_data(as_text=True)
    ran = client.post(f"/admin/perks/{perk.id}/draw/run", follow_redirects=True)
    assert "There is no draw to make" in ran.get_data(as_text=True)


# --- who may come in ------------------------------------------------------------------------


def admin_pages(perk: Perk, pool: Perk, lottery: Perk) -> list[tuple[str, str]]:
    return [
        ("GET", "/admin/perks/"),
        ("GET", "/admin/perks/new"),
        ("POST", "/admin/perks/new"),
        ("GET", f"/admin/perks/{perk.id}/edit"),
        ("POST", f"/admin/perks/{perk.id}/edit"),
        ("POST", f"/admin/perks/{perk.id}/publish"),
        ("POST", f"/admin/perks/{perk.id}/archive"),
        ("GET", f"/admin/perks/{pool.id}/codes"),
        ("POST", f"/admin/perks/{pool.id}/codes"),
        ("GET", f"/admin/perks/{lottery.id}/draw"),
        ("POST", f"/admin/perks/{lottery.id}/draw"),
        ("POST", f"/admin/perks/{lottery.id}/draw/run"),
    ]


@pytest.fixture
def sample_perks() -> tuple[Perk, Perk, Perk]:
    perk = factories.PerkFactory(status=PerkStatus.DRAFT)
    pool = factories.PerkFactory(code_mode=CodeMode.POOL, codes=["P1"])
    lottery = factories.DrawFactory().perk
    return perk, pool, lottery


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.MANAGER, Role.REDEEMER, Role.FINANCE])
def test_only_hr_and_admins_reach_the_catalog_admin(client, sample_perks, role):
    login(client, factories.UserFactory(roles={role}))
    perk, pool, _lottery = sample_perks
    before = audit_actions()

    for method, url in admin_pages(*sample_perks):
        response = client.open(url, method=method, data={"codes": "X", "title_vi": "X"})
        assert response.status_code == 403, (method, url)

    assert reload(perk.id).status is PerkStatus.DRAFT
    assert code_count(pool.id) == 1
    assert audit_actions() == before


def test_visitors_are_sent_to_sign_in(client, sample_perks):
    for method, url in admin_pages(*sample_perks):
        response = client.open(url, method=method)
        assert response.status_code == 302, (method, url)
        assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", [Role.HR, Role.ADMIN])
def test_hr_and_admins_see_every_page(client, sample_perks, role):
    login(client, factories.UserFactory(roles={role}))
    for method, url in admin_pages(*sample_perks):
        if method == "GET":
            assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "edit"),
        ("POST", "edit"),
        ("POST", "publish"),
        ("POST", "archive"),
        ("GET", "codes"),
        ("POST", "codes"),
        ("GET", "draw"),
        ("POST", "draw"),
        ("POST", "draw/run"),
    ],
)
def test_an_unknown_perk_is_a_404(client, hr, method, path):
    assert client.open(f"/admin/perks/9999/{path}", method=method).status_code == 404


def test_employment_type_choices_are_every_type(client, hr):
    html = client.get("/admin/perks/new").get_data(as_text=True)
    for kind in EmploymentType:
        assert f'value="{kind.value}"' in html


def test_every_page_renders_in_vietnamese(client, sample_perks, login_as):
    login_as(Role.HR, locale="vi")
    perk, pool, lottery = sample_perks
    draws.enter_draw(lottery.id, factories.UserFactory())
    pages = [url for method, url in admin_pages(perk, pool, lottery) if method == "GET"]

    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert '<html lang="vi">' in response.get_data(as_text=True), url
    bad = client.post(f"/admin/perks/{pool.id}/codes", data={"codes": "P1\n\nX\nX"})
    assert bad.status_code == 400


def test_code_counts_are_grouped_in_the_readers_language(client, hr):
    """1,200 codes added read "1200 codes added." and "1200" in either language."""
    perk = draft(code_mode=CodeMode.POOL)
    content = "\n".join(f"MA-{i:05d}" for i in range(1200)).encode()

    response = client.post(
        f"/admin/perks/{perk.id}/codes",
        data={"file": (io.BytesIO(content), "codes.csv")},
        content_type="multipart/form-data",
    )

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1,200 codes added." in page
    assert 'data-testid="codes-total">1,200<' in page
    assert 'data-testid="codes-left">1,200<' in page
    assert "1,200 codes left" in client.get("/admin/perks/").get_data(as_text=True)
    client.post("/language", data={"locale": "vi"})
    assert 'data-testid="codes-left">1.200<' in client.get(
        f"/admin/perks/{perk.id}/codes"
    ).get_data(as_text=True)
    assert "Còn 1.200 mã" in client.get("/admin/perks/").get_data(as_text=True)


def test_the_list_shows_published_perks_first_then_drafts_then_archived(client, hr):
    """What people see now first: it went by the stored status's spelling, so the archived
    came first."""
    factories.PerkFactory(title_vi="A cũ", status=PerkStatus.ARCHIVED)
    factories.PerkFactory(title_vi="B nháp", status=PerkStatus.DRAFT)
    factories.PerkFactory(title_vi="C đang mở")

    html = client.get("/admin/perks/").get_data(as_text=True)

    assert html.index("C đang mở") < html.index("B nháp") < html.index("A cũ")


def test_a_perk_titled_only_in_english_is_listed_by_that_title(client, hr):
    """The list goes by the title it shows: a perk with only an English title went by its
    empty Vietnamese one, first of all, and its title was marked as Vietnamese."""
    factories.PerkFactory(title_vi="Ăn trưa", title_en="Lunch")
    factories.PerkFactory(title_vi="", title_en="Zoo tickets")
    factories.PerkFactory(title_vi="Bánh sinh nhật", title_en="Birthday cake")

    html = client.get("/admin/perks/").get_data(as_text=True)

    assert html.index("Ăn trưa") < html.index("Bánh sinh nhật") < html.index("Zoo tickets")
    assert 'lang="en">Zoo tickets</a>' in html
    assert 'lang="vi">Ăn trưa</a>' in html


def test_hrs_draw_buttons_start_a_job_and_hold_no_request_while_it_runs(client, hr, monkeypatch):
    """Freezing 10,000 entries, or making their draw, took longer than the web worker's
    timeout: the worker was killed, the freeze rolled back and pressing again failed the
    same way. Each button now starts a background job, whose page shows its progress, as
    the people import and the payouts do; the draw's page links to it meanwhile."""
    from perks import background
    from perks.background import BackgroundJob, JobState

    held: list[tuple[object, tuple[object, ...]]] = []
    # as deployed: the worker takes the job up later, not in the request
    monkeypatch.setattr(background, "enqueue", lambda task, *args: held.append((task, args)))
    draw = factories.DrawFactory(entries_close_at=datetime.now(UTC) + timedelta(hours=1))
    perk_id, draw_id = draw.perk_id, draw.id
    for _ in range(3):
        draws.enter_draw(perk_id, factories.UserFactory())
    db.session.execute(
        update(Draw)
        .where(Draw.id == draw_id)
        .values(entries_close_at=datetime.now(UTC) - timedelta(minutes=1))
    )
    db.session.commit()

    pressed = client.post(f"/admin/perks/{perk_id}/draw/run")

    job = db.session.scalars(select(BackgroundJob)).one()
    assert (job.kind, job.state, job.total) == (draws.FREEZE_JOB_KIND, JobState.QUEUED, 3)
    assert pressed.headers["Location"] == f"/jobs/{job.token}"
    assert len(held) == 1
    db.session.expire_all()
    assert db.session.get(Draw, draw_id).status is DrawStatus.OPEN  # not in the request
    page = client.get(f"/admin/perks/{perk_id}/draw").get_data(as_text=True)
    assert 'data-testid="draw-step-running"' in page
    assert f'href="/jobs/{job.token}"' in page
    assert 'data-testid="freeze-entries"' not in page
    again = client.post(f"/admin/perks/{perk_id}/draw/run")
    assert again.headers["Location"] == f"/jobs/{job.token}"  # the same job
    assert 'data-testid="job-progress"' in client.get(f"/jobs/{job.token}").get_data(as_text=True)

    assert background.execute(job.id) is JobState.SUCCEEDED

    db.session.expire_all()
    frozen = db.session.get(Draw, draw_id)
    assert frozen.status is DrawStatus.CLOSED
    assert frozen.entries_hash is not None
    done = client.get(f"/jobs/{job.token}").get_data(as_text=True)
    assert "Entries are frozen and their hash is published." in done
    assert f'href="/admin/perks/{perk_id}/draw"' in done
    page = client.get(f"/admin/perks/{perk_id}/draw").get_data(as_text=True)
    assert 'data-testid="draw-step-running"' not in page
    assert 'data-testid="waits-for-value"' in page

    db.session.execute(
        update(Draw)
        .where(Draw.id == draw_id)
        .values(public_value="58214", public_value_entered_at=datetime.now(UTC))
    )
    db.session.commit()
    made = client.post(f"/admin/perks/{perk_id}/draw/run")
    job = db.session.scalars(
        select(BackgroundJob).where(BackgroundJob.kind == draws.MAKE_JOB_KIND)
    ).one()
    assert made.headers["Location"] == f"/jobs/{job.token}"
    db.session.expire_all()
    assert db.session.get(Draw, draw_id).status is DrawStatus.CLOSED
    assert background.execute(job.id) is JobState.SUCCEEDED
    done = client.get(f"/jobs/{job.token}").get_data(as_text=True)
    assert "The draw is made: 3 entries in draw order." in done
    db.session.expire_all()
    assert db.session.get(Draw, draw_id).status is DrawStatus.DRAWN
    assert draws.verify_draw(draw_id).ok
    assert "catalog.draw_made" in audit_actions()


def test_someone_without_hr_does_not_see_a_draw_job(client, login_as, monkeypatch):
    from perks import background

    monkeypatch.setattr(background, "enqueue", lambda task, *args: None)
    draw = factories.DrawFactory(entries_close_at=datetime.now(UTC) - timedelta(minutes=1))
    hr_person = factories.UserFactory(roles={Role.HR})
    job = draws.start_next_step(draw.id, actor=hr_person)
    login_as(Role.EMPLOYEE)

    assert client.get(f"/jobs/{job.token}").status_code == 404

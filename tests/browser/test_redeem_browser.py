"""The counters in headless Chromium: a redeemer types a customer's code and redeems the
order; the page's QR decoder (vendored jsQR, under the strict CSP) reads a QR picture; the
camera button, the same component at both counters, scans a QR code from Chromium's fake
camera, fed a video of the code; and an order's code at the perk counter leads to the order
counter."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import segno
from playwright.sync_api import Browser, Page, expect

from perks.catalog import claims
from perks.extensions import db
from perks.people.models import Role
from perks.qr import qr_png_bytes
from perks.shop.models import Order
from tests import factories
from tests.browser.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    PageProblems,
    new_context,
    sign_in,
)

pytestmark = pytest.mark.browser


def paid_order(**fields: object) -> Order:
    order = factories.OrderFactory(customer_name="Nguyễn Thị Lan", locale="vi", **fields)
    order.paid_at = datetime.now(UTC)
    order.paid_amount = order.total_amount
    order.refresh_status()
    db.session.commit()
    return order


def grouped(code: str) -> str:
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4)).lower()


def test_a_redeemer_types_the_code_and_redeems_the_order_once(page: Page):
    order = paid_order()
    redeemer = factories.UserFactory(roles={Role.REDEEMER}, name="Trần Văn Quầy")
    sign_in(page, redeemer.email)

    page.get_by_role("link", name="Redeem order").click()
    expect(page).to_have_url(re.compile(r"/redeem-order$"))
    page.get_by_test_id("order-code").fill(grouped(order.redemption_code))
    page.get_by_test_id("order-lookup-submit").click()

    card = page.get_by_test_id("redeem-order")
    expect(card).to_contain_text(order.number)
    expect(page.get_by_test_id("redeem-customer")).to_have_text("Lan")
    expect(page.get_by_test_id("redeem-items")).to_contain_text(order.lines[0].product_name)
    page.get_by_test_id("mark-redeemed").click()

    expect(page.get_by_text(f"Order {order.number} is redeemed for Lan.")).to_be_visible()
    expect(page.get_by_test_id("redeemed-info")).to_contain_text("Trần Văn Quầy")
    expect(page.get_by_test_id("mark-redeemed")).to_have_count(0)

    # Looked up again later: it says when and by whom, and offers no button.
    page.get_by_test_id("order-code").fill(order.redemption_code)
    page.get_by_test_id("order-lookup-submit").click()
    expect(page.get_by_test_id("redeem-problem")).to_contain_text("Redeemed on")
    expect(page.get_by_test_id("redeem-problem")).to_contain_text("Trần Văn Quầy")
    db.session.expire_all()
    assert db.session.get(Order, order.id).redeemed_by_id == redeemer.id  # type: ignore[union-attr]


def test_the_page_decodes_a_qr_picture_with_the_vendored_decoder(page: Page):
    order = paid_order()
    sign_in(page, factories.UserFactory(roles={Role.REDEEMER}).email)
    page.goto("/redeem-order")
    page.wait_for_function("typeof window.jsQR === 'function' && window.perksScan")

    picture = "data:image/png;base64," + base64.b64encode(
        qr_png_bytes(order.redemption_code)
    ).decode("ascii")
    decoded = page.evaluate("(url) => window.perksScan.decodeImageUrl(url)", picture)
    assert decoded == order.redemption_code

    blank = "data:image/png;base64," + base64.b64encode(_white_png()).decode("ascii")
    assert page.evaluate("(url) => window.perksScan.decodeImageUrl(url)", blank) is None
    # The camera button is offered where the browser has a camera interface.
    expect(page.get_by_test_id("scan-start")).to_be_visible()


def _white_png() -> bytes:
    import io
    import struct
    import zlib

    width = height = 64
    raw = b"".join(b"\x00" + b"\xff" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    out = io.BytesIO()
    out.write(b"\x89PNG\r\n\x1a\n")
    out.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)))
    out.write(chunk(b"IDAT", zlib.compress(raw)))
    out.write(chunk(b"IEND", b""))
    return out.getvalue()


# --- the camera -----------------------------------------------------------------------------

WIDTH, HEIGHT = 640, 480


def qr_video(text: str, path: Path, frames: int = 10) -> Path:
    """A Y4M video (what Chromium's fake camera plays) of ``text``'s QR code, black on white."""
    matrix = [list(row) for row in segno.make(text, micro=False).matrix]
    border = 4
    size = len(matrix) + 2 * border
    scale = min(WIDTH, HEIGHT) * 3 // 4 // size
    left = (WIDTH - size * scale) // 2
    top = (HEIGHT - size * scale) // 2
    luma = bytearray(b"\xff" * (WIDTH * HEIGHT))
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if not dark:
                continue
            for dy in range(scale):
                start = (top + (y + border) * scale + dy) * WIDTH + left + (x + border) * scale
                luma[start : start + scale] = b"\x00" * scale
    chroma = b"\x80" * (WIDTH // 2 * HEIGHT // 2)
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    header = f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * frames)
    return path


@pytest.fixture
def camera_browser(
    browser: Browser, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Browser]:
    """A second Chromium whose fake camera films the QR code of ``request.param``."""
    video = qr_video(request.param, tmp_path / "qr.y4m")
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    chromium = browser.browser_type.launch(executable_path=str(CHROMIUM), args=args)
    try:
        yield chromium
    finally:
        chromium.close()


CAMERA_CODE = "ABCDE23456"


@pytest.mark.parametrize("camera_browser", [CAMERA_CODE], indirect=True)
def test_the_camera_button_scans_the_qr_code_and_looks_the_order_up(
    camera_browser: Browser, live_server: str
):
    order = paid_order(redemption_code=CAMERA_CODE)
    redeemer = factories.UserFactory(roles={Role.REDEEMER})
    context = new_context(camera_browser, live_server)
    context.grant_permissions(["camera"], origin=live_server)
    problems = PageProblems()
    try:
        page = context.new_page()
        page.on("pageerror", problems.page_error)
        page.on("console", problems.console)
        sign_in(page, redeemer.email)
        page.goto("/redeem-order")

        page.get_by_test_id("scan-start").click()

        expect(page.get_by_test_id("redeem-order")).to_contain_text(
            order.number, timeout=TIMEOUT_MS * 2
        )
        expect(page).to_have_url(re.compile(rf"/redeem-order\?code={CAMERA_CODE}$"))
        expect(page.get_by_test_id("mark-redeemed")).to_be_visible()
        # The camera was let go once the code was read.
        expect(page.get_by_test_id("scan-panel")).to_be_hidden()
    finally:
        context.close()
    assert not problems.items, "\n".join(problems.items)


CAMERA_CLAIM = "PK-CAMR-A234"


@pytest.mark.parametrize("camera_browser", [CAMERA_CLAIM], indirect=True)
def test_the_perk_counter_scans_a_claim_with_the_same_camera_button(
    camera_browser: Browser, live_server: str
):
    claim = claims.claim_perk(
        factories.PerkFactory(title_en="Buffet").id, factories.UserFactory(name="Lê Văn Nam")
    )
    claim.reference = CAMERA_CLAIM
    db.session.commit()
    redeemer = factories.UserFactory(roles={Role.REDEEMER})
    context = new_context(camera_browser, live_server)
    context.grant_permissions(["camera"], origin=live_server)
    problems = PageProblems()
    try:
        page = context.new_page()
        page.on("pageerror", problems.page_error)
        page.on("console", problems.console)
        sign_in(page, redeemer.email)
        page.goto("/redeem")

        page.get_by_test_id("scan-start").click()

        expect(page.get_by_test_id("redeem-claim")).to_contain_text(
            "Buffet", timeout=TIMEOUT_MS * 2
        )
        expect(page.get_by_test_id("redeem-person")).to_have_text("Lê Văn Nam")
        expect(page.get_by_test_id("redeem-use")).to_be_visible()
        expect(page.get_by_test_id("scan-panel")).to_be_hidden()
    finally:
        context.close()
    assert not problems.items, "\n".join(problems.items)


def test_an_order_code_typed_at_the_perk_counter_leads_to_the_order_counter(page: Page):
    order = paid_order()
    sign_in(page, factories.UserFactory(roles={Role.REDEEMER}).email)
    page.goto("/redeem")
    expect(page.get_by_test_id("scan-start")).to_be_visible()

    page.get_by_test_id("redeem-code").fill(grouped(order.redemption_code))
    page.get_by_test_id("redeem-lookup-submit").click()
    expect(page.get_by_test_id("other-counter")).to_contain_text("shop order")
    page.get_by_test_id("other-counter-link").click()

    expect(page).to_have_url(re.compile(rf"/redeem-order\?code={order.redemption_code}$"))
    expect(page.get_by_test_id("order-code")).to_have_value(order.redemption_code)
    page.get_by_test_id("mark-redeemed").click()
    expect(page.get_by_text(f"Order {order.number} is redeemed for Lan.")).to_be_visible()

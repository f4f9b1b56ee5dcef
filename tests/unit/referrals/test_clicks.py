"""Writing clicks: in the request (sync) or queued and written in batches (batched), never
losing one on a clean stop; hashing IPs; reading the referrer; the code cache."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from perks.extensions import db
from perks.referrals import clicks
from perks.referrals.clicks import ClickRecorder, hash_ip, referrer_domain
from perks.referrals.models import Click
from perks.referrals.services import normalize_code
from tests.factories import ReferralLinkFactory

CLICKED_AT = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def click_row(link_id: int, n: int = 0, *, is_bot: bool = False) -> dict[str, object]:
    return {
        "link_id": link_id,
        "clicked_at": CLICKED_AT,
        "ip_hash": f"{n:064x}",
        "user_agent_family": "Chrome",
        "is_bot": is_bot,
        "referrer_domain": "zalo.me",
    }


def stored_clicks() -> int:
    db.session.commit()  # end this session's read, so the count sees other connections' rows
    count = db.session.scalar(select(func.count()).select_from(Click)) or 0
    db.session.commit()
    return count


@pytest.fixture
def link_id(app) -> int:
    link_id = ReferralLinkFactory().id
    db.session.commit()
    return link_id


@pytest.fixture
def batched(app):  # type: ignore[no-untyped-def]
    """A batched recorder whose thread would wait an hour: only flush() and close() write."""
    recorder = ClickRecorder("batched", flush_seconds=3600, batch_size=100_000, engine=db.engine)
    yield recorder
    recorder.close()


# --- sync ------------------------------------------------------------------------------------


def test_sync_mode_writes_the_click_at_once_and_returns_its_id(link_id):
    recorder = ClickRecorder("sync")
    click_id = recorder.record(click_row(link_id))
    assert click_id is not None
    stored = db.session.get(Click, click_id)
    assert stored is not None
    assert (stored.link_id, stored.referrer_domain, stored.is_bot) == (link_id, "zalo.me", False)
    assert recorder.pending == 0


# --- batched ---------------------------------------------------------------------------------


def test_batched_mode_queues_clicks_and_flush_writes_them_all(link_id, batched):
    for n in range(1234):
        assert batched.record(click_row(link_id, n)) is None
    assert batched.pending == 1234
    assert stored_clicks() == 0

    assert batched.flush() == 1234  # in batches of at most CLICK_BATCH_SIZE

    assert batched.pending == 0
    assert stored_clicks() == 1234
    hashes = set(db.session.scalars(select(Click.ip_hash)))
    assert hashes == {f"{n:064x}" for n in range(1234)}


def test_flush_writes_in_batches_of_the_batch_size(link_id, monkeypatch):
    recorder = ClickRecorder("batched", flush_seconds=3600, batch_size=100, engine=db.engine)
    sizes: list[int] = []
    original = ClickRecorder._write

    def spy(self, batch):  # type: ignore[no-untyped-def]
        sizes.append(len(batch))
        original(self, batch)

    monkeypatch.setattr(ClickRecorder, "_write", spy)
    recorder._pending.extend(click_row(link_id, n) for n in range(250))  # no thread started
    assert recorder.flush() == 250
    assert sizes == [100, 100, 50]
    assert stored_clicks() == 250


def test_a_full_batch_is_written_without_waiting_for_the_interval(link_id):
    recorder = ClickRecorder("batched", flush_seconds=3600, batch_size=50, engine=db.engine)
    try:
        for n in range(50):
            recorder.record(click_row(link_id, n))
        deadline = time.monotonic() + 10
        while stored_clicks() < 50 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stored_clicks() == 50
    finally:
        recorder.close()


def test_the_writer_thread_flushes_every_interval(link_id):
    recorder = ClickRecorder("batched", flush_seconds=0.05, batch_size=500, engine=db.engine)
    try:
        for n in range(7):
            recorder.record(click_row(link_id, n))
        deadline = time.monotonic() + 10
        while stored_clicks() < 7 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stored_clicks() == 7
    finally:
        recorder.close()


def test_closing_writes_what_is_queued(link_id, batched):
    for n in range(20):
        batched.record(click_row(link_id, n))
    assert batched.close() == 20
    assert stored_clicks() == 20


def test_close_all_recorders_flushes_every_queue_at_exit(link_id, batched):
    """What atexit and gunicorn's worker_exit hook call."""
    for n in range(5):
        batched.record(click_row(link_id, n))
    clicks.close_all_recorders()
    assert stored_clicks() == 5


def test_a_refused_batch_stays_queued_and_is_written_later(link_id, batched, monkeypatch):
    for n in range(10):
        batched.record(click_row(link_id, n))
    original = ClickRecorder._write

    def database_down(self, batch):  # type: ignore[no-untyped-def]
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(ClickRecorder, "_write", database_down)
    assert batched.flush() == 0
    assert batched.pending == 10
    monkeypatch.setattr(ClickRecorder, "_write", original)
    assert batched.flush() == 10
    assert stored_clicks() == 10


def test_the_queue_drops_the_oldest_clicks_beyond_its_limit(link_id, batched, monkeypatch):
    monkeypatch.setattr(clicks, "MAX_PENDING", 5)
    monkeypatch.setattr(
        ClickRecorder, "_write", lambda self, batch: (_ for _ in ()).throw(OSError("down"))
    )
    for n in range(8):
        batched.record(click_row(link_id, n))
    batched.flush()
    assert batched.pending == 5


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown click write mode"):
        ClickRecorder("sometimes")


# --- what a click stores --------------------------------------------------------------------


def test_the_ip_hash_is_stable_keyed_and_says_nothing_of_the_ip():
    first = hash_ip("203.113.131.1", "secret-one")
    assert first == hash_ip("203.113.131.1", "secret-one")
    assert first != hash_ip("203.113.131.2", "secret-one")
    assert first != hash_ip("203.113.131.1", "secret-two")
    assert len(first) == 64


@pytest.mark.parametrize(
    ("referrer", "domain"),
    [
        ("https://l.facebook.com/l.php?u=x", "l.facebook.com"),
        ("https://chat.zalo.me/", "chat.zalo.me"),
        ("HTTP://Example.COM:8080/path", "example.com"),
        ("android-app://com.zing.zalo/", ""),
        ("javascript:alert(1)", ""),
        ("not a url", ""),
        ("http://[::1", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_the_referrer_domain_is_the_host_of_an_http_referrer(referrer, domain):
    assert referrer_domain(referrer) == domain


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("ab3k9mq", "ab3k9mq"),
        (" AB3K9MQ ", "ab3k9mq"),
        ("AB3K-9MQ", "ab3k9mq"),  # copied out in groups, as the counter takes order codes
        ("ab3 k9mq", "ab3k9mq"),
        ("https://perks.example/r/ab3k9mq", "ab3k9mq"),
        ("perks.example/r/ab3k9mq/?utm_source=zalo#top", "ab3k9mq"),
        ("//evil.com", None),
        ("https://evil.com", None),
        ("/\\evil.com", None),
        ("../..", None),
        ("a" * 17, None),
        ("mã-giảm-giá", None),
        ("", None),
        (None, None),
    ],
)
def test_codes_are_normalised_or_refused(text, code):
    assert normalize_code(text) == code


# --- the code cache -------------------------------------------------------------------------


def test_the_cache_answers_from_memory_until_it_expires_or_is_told(app):
    link = ReferralLinkFactory()
    cache = clicks.LinkCache(60)
    with app.test_request_context():
        assert cache.get(link.code).location == "/shop/"

    link.paused = True
    db.session.commit()
    assert not cache.get(link.code).paused  # remembered
    cache.forget(link.code)
    with app.test_request_context():
        assert cache.get(link.code).paused
        assert cache.get("nosuchc") is None


def test_without_a_cache_every_lookup_reads_the_database(app):
    link = ReferralLinkFactory()
    cache = clicks.LinkCache(0)
    with app.test_request_context():
        assert not cache.get(link.code).paused
        link.paused = True
        db.session.commit()
        assert cache.get(link.code).paused

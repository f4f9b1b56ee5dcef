"""The outbox: a message is written with the change that causes it and sent after the commit,
through a real SMTP server that may be down or refusing; kept in development."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import select, update

from perks.audit import AuditEvent
from perks.db import transaction, utcnow
from perks.extensions import db
from perks.mail import MessageStatus, OutboxMessage, send_due, send_email
from perks.people.models import Role, User
from tests import factories
from tests.helpers import is_postgres


def queue_invitation(app, recipient: str = "binh@example.com") -> None:  # type: ignore[no-untyped-def]
    user = factories.UserFactory(name="Trần Văn Bình", email=recipient)
    with app.test_request_context(), transaction():
        send_email(user.email, "invitation", locale="vi", user=user, link="http://x/invitation/t")


def messages() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def make_due_now() -> None:
    """Skip the backoff wait, as time passing would."""
    db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
    db.session.commit()


def test_a_committed_message_is_sent_once_with_stable_headers(smtp_app, smtp_server):
    queue_invitation(smtp_app)

    assert len(smtp_server.received) == 1
    email = smtp_server.received[0]
    assert email["To"] == "binh@example.com"
    assert email["From"] == "Perks <perks@senvang.example>"
    assert email["Date"]
    assert "Bình" in email.get_body(("plain",)).get_content()
    [row] = messages()
    assert row.status == MessageStatus.SENT
    assert email["Message-ID"] == row.message_id
    assert row.message_id.endswith("@senvang.example>")
    assert row.attempts == 1
    assert send_due() == 0  # nothing left: a sent row is never sent again
    assert len(smtp_server.received) == 1


def test_nothing_is_sent_for_a_change_that_rolled_back(smtp_app, smtp_server):
    user = factories.UserFactory()

    def failing_action() -> None:
        with smtp_app.test_request_context(), transaction():
            send_email(user.email, "invitation", locale="vi", user=user, link="http://x/i/t")
            raise RuntimeError("the business action failed")

    with pytest.raises(RuntimeError):
        failing_action()

    assert messages() == []
    assert smtp_server.received == []


def test_with_the_server_down_the_message_waits_and_goes_once_when_it_is_back(
    smtp_app, smtp_server
):
    smtp_server.stop()

    queue_invitation(smtp_app)  # the caller's commit succeeds, nothing raised

    [row] = messages()
    assert row.status == MessageStatus.QUEUED
    assert row.attempts == 1
    assert aware(row.next_attempt_at) > utcnow()  # backoff
    assert "ConnectionRefusedError" in (row.last_error or "")
    assert send_due() == 0  # not due yet

    smtp_server.start()
    make_due_now()
    assert send_due() == 1
    assert send_due() == 0
    assert len(smtp_server.to("binh@example.com")) == 1
    assert messages()[0].status == MessageStatus.SENT


def test_a_refusing_server_is_retried_with_growing_waits(smtp_app, smtp_server):
    smtp_server.refusing = True
    queue_invitation(smtp_app)
    first = messages()[0].next_attempt_at
    make_due_now()
    send_due()
    row = messages()[0]
    assert row.attempts == 2
    assert "451" in (row.last_error or "")
    assert aware(row.next_attempt_at) - utcnow() > first - row.created_at  # the wait doubled

    smtp_server.refusing = False
    make_due_now()
    assert send_due() == 1
    assert len(smtp_server.received) == 1


def test_after_the_last_attempt_a_message_fails_and_an_admin_can_send_it_again(
    smtp_app, smtp_server, client, login_as, monkeypatch
):
    monkeypatch.setitem(smtp_app.config, "MAIL_MAX_ATTEMPTS", 2)
    smtp_server.refusing = True
    queue_invitation(smtp_app)
    make_due_now()
    send_due()
    row = messages()[0]
    assert row.status == MessageStatus.FAILED

    login_as(Role.ADMIN)
    page = client.get("/admin/messages?status=failed")
    assert page.status_code == 200
    assert "binh@example.com" in page.get_data(as_text=True)

    smtp_server.refusing = False
    response = client.post(f"/admin/messages/{row.id}/retry")
    assert response.status_code == 302
    assert messages()[0].status == MessageStatus.SENT
    assert len(smtp_server.received) == 1
    # a message that has not failed cannot be retried (a second click, say)
    again = client.post(f"/admin/messages/{row.id}/retry", follow_redirects=True)
    assert "Only a failed message can be sent again." in again.get_data(as_text=True)
    assert len(smtp_server.received) == 1


def test_the_audit_log_says_which_message_was_sent_again_and_why_it_had_failed(
    smtp_app, smtp_server, client, login_as, monkeypatch
):
    """The log said only "E-mail sent again · E-mail #7": not to whom, what, or why."""
    monkeypatch.setitem(smtp_app.config, "MAIL_MAX_ATTEMPTS", 2)
    smtp_server.refusing = True
    queue_invitation(smtp_app)
    make_due_now()
    send_due()
    row = messages()[0]
    assert row.status == MessageStatus.FAILED
    smtp_server.refusing = False

    login_as(Role.ADMIN, locale="vi")
    client.post(f"/admin/messages/{row.id}/retry")
    page = unescape(client.get("/admin/audit?action=mail.retry").get_data(as_text=True))
    assert "Đã gửi lại email" in page
    assert "binh@example.com" in page
    assert row.subject in page
    assert "Số lần thử:</span> 2" in page
    assert f"Lỗi gần nhất:</span> {row.last_error}" in page


def test_a_message_that_cannot_be_built_fails_alone_and_the_others_go(smtp_app, smtp_server):
    smtp_server.stop()
    queue_invitation(smtp_app, "first@example.com")
    queue_invitation(smtp_app, "second@example.com")
    first = messages()[0]
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == first.id)
        .values(recipient="first@example.com\r\nBcc: everyone@example.com")
    )
    db.session.commit()
    smtp_server.start()
    make_due_now()

    assert send_due() == 1
    broken, fine = messages()
    assert broken.status == MessageStatus.FAILED
    assert fine.status == MessageStatus.SENT
    assert [m["To"] for m in smtp_server.received] == ["second@example.com"]


def test_only_admins_see_the_messages_page(client, login_as):
    login_as(Role.HR)
    assert client.get("/admin/messages").status_code == 403


def test_a_sender_that_died_mid_send_leaves_the_row_to_another_after_its_lease(
    smtp_app, smtp_server
):
    smtp_server.stop()
    queue_invitation(smtp_app)
    # a sender took the row, then its process died: the row stays "sending" with a lease
    db.session.execute(
        update(OutboxMessage).values(
            status=MessageStatus.SENDING, lease_until=utcnow() + timedelta(minutes=1)
        )
    )
    db.session.commit()
    smtp_server.start()
    assert send_due() == 0  # someone holds it

    db.session.execute(update(OutboxMessage).values(lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert send_due() == 1
    assert len(smtp_server.received) == 1


def test_a_message_whose_senders_died_on_every_attempt_fails_instead_of_going_round_for_ever(
    smtp_app, smtp_server, monkeypatch
):
    """A sender that dies mid-send (killed, or an error no handler expected) records no
    outcome; after its lease another takes the row. The claims counted attempts, but only a
    recorded failure ever compared them with ``MAIL_MAX_ATTEMPTS``: such a row went round
    for ever, never failed, never shown to an admin."""
    monkeypatch.setitem(smtp_app.config, "MAIL_MAX_ATTEMPTS", 3)
    smtp_server.stop()  # the send after the commit fails: the row stays for the story below
    queue_invitation(smtp_app)
    smtp_server.start()
    # three senders took the row in turn and each died before recording what happened
    db.session.execute(
        update(OutboxMessage).values(
            status=MessageStatus.SENDING,
            attempts=3,
            lease_until=utcnow() - timedelta(seconds=1),
        )
    )
    db.session.commit()

    assert send_due() == 0

    row = messages()[0]
    assert row.status == MessageStatus.FAILED
    assert row.last_error is not None
    assert "no outcome" in row.last_error
    assert smtp_server.received == []


def test_a_crash_between_commit_and_send_loses_no_message(app, smtp_server, database_url):
    """A real process commits a message, then dies before it can hand it to a sender."""
    script = textwrap.dedent(
        f"""
        import os
        from perks import create_app, jobs
        from perks.people.models import User
        from perks.db import transaction
        from perks.extensions import db
        from perks.mail import send_email

        app = create_app({{
            "PERKS_ENV": "testing", "SECRET_KEY": "x" * 40,
            "SQLALCHEMY_DATABASE_URI": {database_url!r},
            "MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": {smtp_server.port},
            "MAIL_USE_TLS": False, "CELERY_ALWAYS_EAGER": False,
        }})
        jobs._publish = lambda *args: os._exit(3)  # the process dies right after the commit
        with app.test_request_context():
            user = db.session.scalar(db.select(User))
            with transaction():
                send_email(user.email, "invitation", locale="vi", user=user, link="http://x/i")
        """
    )
    factories.UserFactory(email="lan@example.com")
    db.session.commit()
    env = {**os.environ, "PERKS_ENV": "testing"}
    done = subprocess.run([sys.executable, "-c", script], env=env, timeout=120, check=False)

    assert done.returncode == 3
    assert smtp_server.received == []
    [row] = messages()
    assert row.status == MessageStatus.QUEUED
    # the sweep (Celery beat, or `flask perks tick`) finds it
    with pytest.MonkeyPatch.context() as patch:
        for key, value in smtp_server.settings().items():
            patch.setitem(app.config, key, value)
        assert send_due() == 1
    assert len(smtp_server.to("lan@example.com")) == 1


def test_two_sweeps_at_once_send_each_message_once(smtp_app, smtp_server):
    if not is_postgres(smtp_app):
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to lose")
    import threading

    smtp_server.stop()
    for n in range(20):
        queue_invitation(smtp_app, f"p{n}@example.com")
    smtp_server.start()
    make_due_now()
    results: list[int] = []

    def sweep() -> None:
        with smtp_app.app_context():
            results.append(send_due())

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 20
    assert len(smtp_server.received) == 20
    assert len({m["Message-ID"] for m in smtp_server.received}) == 20


def test_a_second_send_again_while_the_first_is_saving_is_refused(
    smtp_app, smtp_server, monkeypatch
):
    """A double click (or two admins) on "Send again": the second request read "failed"
    before the first had written, so both queued the message and both were audited; had the
    first been sent by then, it went out again. The second now waits for the first and is
    refused."""
    if not is_postgres(smtp_app):
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to lose")
    import threading

    from perks import audit
    from perks.errors import Conflict
    from perks.mail import retry_message

    monkeypatch.setitem(smtp_app.config, "MAIL_MAX_ATTEMPTS", 1)
    smtp_server.refusing = True
    queue_invitation(smtp_app)
    row = messages()[0]
    assert row.status == MessageStatus.FAILED
    smtp_server.refusing = False
    first_admin, second_admin = (factories.UserFactory(roles={Role.ADMIN}).id for _ in "ab")

    # the first retry stops after reading "failed" until the second has read the row too (or,
    # when the second waits for the first's lock, for a moment)
    first_has_read, second_has_read = threading.Event(), threading.Event()
    record = audit.record

    def record_in_turn(action: str, **kwargs: object) -> object:
        if not first_has_read.is_set():
            first_has_read.set()
            second_has_read.wait(timeout=2)
        else:
            second_has_read.set()
        return record(action, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(audit, "record", record_in_turn)
    answers: list[str] = []

    def retry(admin_id: int) -> None:
        with smtp_app.app_context():
            try:
                retry_message(row.id, actor=db.session.get(User, admin_id))
                answers.append("ok")
            except Conflict:
                answers.append("refused")
            finally:
                db.session.remove()

    first = threading.Thread(target=retry, args=(first_admin,))
    first.start()
    assert first_has_read.wait(timeout=10)
    second = threading.Thread(target=retry, args=(second_admin,))
    second.start()
    first.join()
    second.join()
    assert sorted(answers) == ["ok", "refused"]
    assert len(smtp_server.received) == 1
    assert messages()[0].status == MessageStatus.SENT
    retries = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "mail.retry"))
    assert len(retries.all()) == 1


def test_outbox_keeps_the_message_in_the_recipients_language(client, login_as):
    login_as(Role.HR)
    person = factories.UserFactory(locale="vi", password_hash=None, email="vi@example.com")
    client.post(f"/people/{person.id}/invite")
    message = db.session.scalar(db.select(OutboxMessage))
    assert message.recipient == "vi@example.com"
    assert message.status == MessageStatus.KEPT
    assert message.subject != "You are invited to Perks"  # translated to Vietnamese
    assert "/invitation/" in message.body_text


def test_admin_reads_the_outbox(client, login_as):
    login_as(Role.ADMIN)
    db.session.add(
        OutboxMessage(
            recipient="a@example.com", subject="Xin chào", body_text="Nội dung", body_html=""
        )
    )
    db.session.commit()
    assert "Xin chào" in client.get("/dev/outbox").get_data(as_text=True)
    message_id = db.session.scalar(db.select(OutboxMessage.id))
    assert "Nội dung" in client.get(f"/dev/outbox/{message_id}").get_data(as_text=True)
    assert client.get("/dev/outbox/999999").status_code == 404


def test_an_unknown_delivery_state_is_refused_saying_so(client, login_as):
    """``?status=bogus`` showed every message under no tab, as if the filter had worked."""
    login_as(Role.ADMIN, locale="vi")
    response = client.get("/admin/messages?status=bogus")
    assert response.status_code == 400
    assert "Không có trạng thái gửi này" in response.get_data(as_text=True)
    assert client.get("/admin/messages?status=").status_code == 200
    assert client.get("/admin/messages?status=failed").status_code == 200


def test_the_counts_of_each_delivery_state_are_in_the_readers_digit_grouping(client, login_as):
    db.session.execute(
        OutboxMessage.__table__.insert(),
        [
            {
                "recipient": f"p{n}@example.com",
                "subject": "Hi",
                "body_text": "",
                "body_html": "",
                "status": MessageStatus.KEPT.value,
                "message_id": f"<{n}@example.com>",
                "attempts": 0,
                "created_at": utcnow(),
                "next_attempt_at": utcnow(),
            }
            for n in range(1234)
        ],
    )
    db.session.commit()
    login_as(Role.ADMIN, locale="vi")
    assert '<span class="badge text-bg-light">1.234</span>' in client.get(
        "/admin/messages"
    ).get_data(as_text=True)


def test_a_slow_sweep_holds_each_message_only_while_it_sends_it(smtp_app, smtp_server, monkeypatch):
    """A sweep took every due message at once (a lease each, counted from the start) and then
    sent them one after another: behind a slow server the leases of the last ones ran out
    before their turn, the next sweep (or another host's) took them and sent them, and the
    first sweep sent them again. Each message is now taken just before it is sent."""
    if not is_postgres(smtp_app):
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to lose")
    import threading
    import time

    from perks import mail

    monkeypatch.setattr(mail, "LEASE", timedelta(seconds=2))
    smtp_server.stop()
    for n in range(3):
        queue_invitation(smtp_app, f"p{n}@example.com")
    smtp_server.start()
    smtp_server.delay = 1.2  # each message takes 1.2 s, under the lease
    make_due_now()

    def sweep() -> None:
        with smtp_app.app_context():
            send_due()

    first = threading.Thread(target=sweep)
    first.start()
    time.sleep(2.2)  # the first sweep is on its second message
    sweep()
    first.join()

    recipients = sorted(m["To"] for m in smtp_server.received)
    assert recipients == ["p0@example.com", "p1@example.com", "p2@example.com"]
    assert all(row.status == MessageStatus.SENT for row in messages())


def test_a_sweep_stops_at_a_server_that_does_not_answer(smtp_app, smtp_server, monkeypatch):
    """A mail server that takes the connection but never answers (a firewall, a hung relay)
    cost a whole SMTP timeout for each due message, one after another: a sweep of 200 held a
    worker for half an hour, and the next sweeps took the other worker, so imports and
    payouts waited behind the mail. The sweep now stops at the first message it cannot
    connect for; the others wait, untouched, for the next sweep."""
    import socket
    import time

    smtp_server.stop()
    for n in range(4):
        queue_invitation(smtp_app, f"p{n}@example.com")
    make_due_now()
    with socket.socket() as silent:  # listens, never accepts: no greeting ever comes
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        monkeypatch.setitem(smtp_app.config, "MAIL_PORT", silent.getsockname()[1])
        monkeypatch.setitem(smtp_app.config, "MAIL_TIMEOUT_SECONDS", 0.5)
        started = time.monotonic()
        assert send_due() == 0
        took = time.monotonic() - started

    assert took < 1.5
    rows = messages()
    assert sorted(row.attempts for row in rows) == [1, 1, 1, 2]  # one more attempt, not four
    assert all(row.status == MessageStatus.QUEUED for row in rows)


def test_tick_stands_in_for_beat_sending_due_mail_and_taking_up_stalled_jobs(smtp_app, smtp_server):
    """``flask perks tick`` is what cron users run instead of beat, and the README and this
    module promise that it runs the outbox sweep; it did not, nor the sweep of background
    jobs: a message left by an SMTP outage was never sent, and a job whose worker died showed
    "Running" for ever."""
    from perks.background import BackgroundJob, JobState
    from perks.people import imports

    smtp_server.stop()
    queue_invitation(smtp_app)
    smtp_server.start()
    make_due_now()
    hr = factories.UserFactory(roles={Role.HR})
    upload = imports.store_upload(b"email,name\nan@congty.vn,An\n", filename="nhansu.csv", actor=hr)
    job = BackgroundJob(  # its worker died halfway, long ago
        kind=imports.CHECK_KIND,
        created_by_id=hr.id,
        subject=f"people_import:{upload.id}",
        payload={"import_id": upload.id, "filename": "nhansu.csv"},
        state=JobState.RUNNING,
        attempts=1,
        heartbeat_at=utcnow() - timedelta(hours=1),
    )
    db.session.add(job)
    db.session.commit()

    result = smtp_app.test_cli_runner().invoke(args=["perks", "tick"])

    assert result.exit_code == 0, result.output
    assert len(smtp_server.to("binh@example.com")) == 1
    db.session.expire_all()
    taken_up = db.session.get(BackgroundJob, job.id)
    assert (taken_up.state, taken_up.error, taken_up.attempts) == (JobState.SUCCEEDED, "", 2)


def test_a_sender_whose_lease_ran_out_does_not_undo_the_send_of_the_one_that_took_over(
    smtp_app, smtp_server, monkeypatch
):
    """A sender waited on a slow server past its lease; another took the row and sent it.
    When the first one's send then failed, its failure was written over the row: "sent"
    became "queued" again, and the message went out a third time."""
    import smtplib

    from perks import mail

    class Server:
        def __init__(self, send) -> None:  # type: ignore[no-untyped-def]
            self.send_message = send

        def quit(self) -> None:
            pass

        close = quit

    received: list[str] = []

    def slow_then_dropped(email) -> None:  # type: ignore[no-untyped-def]
        # the lease ran out while this sender waited; another sender took the row and sent it
        db.session.execute(
            update(OutboxMessage).values(lease_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        assert send_due() == 1
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    servers = iter([Server(slow_then_dropped), Server(lambda email: received.append(email["To"]))])
    smtp_server.stop()  # the send after the commit fails: the row waits for the sweep
    queue_invitation(smtp_app)
    make_due_now()
    monkeypatch.setattr(mail, "_connect", lambda: next(servers))

    assert send_due() == 0

    [row] = messages()
    assert received == ["binh@example.com"]
    assert row.status == MessageStatus.SENT
    assert row.sent_at is not None


def test_a_message_queued_for_many_is_sent_once_to_each_after_the_commit(smtp_app, smtp_server):
    """``send_to_each`` (a draw's thousands of entrants) hands its messages to the senders in
    batches after the commit: each person gets theirs once, greeted by name."""
    from perks.mail import send_to_each

    people = [factories.UserFactory(name=f"Trần Văn Bình{n}", locale="vi") for n in range(5)]
    with smtp_app.test_request_context(), transaction():
        queued = send_to_each(
            people, "notification", locale="vi", title="Tiêu đề", body="Nội dung", url="http://x/"
        )

    assert queued == 5
    for person in people:
        [email] = smtp_server.to(person.email)
        assert f"Chào Bình{people.index(person)}," in email.get_body(("plain",)).get_content()
    assert {row.status for row in messages()} == {MessageStatus.SENT}
    assert send_due() == 0
    assert len(smtp_server.received) == 5

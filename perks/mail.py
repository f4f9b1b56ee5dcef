"""The outbox: every e-mail is a row written in the transaction that causes it, sent after.

``send_email`` renders the message in the recipient's language and adds an
``OutboxMessage`` to the caller's unit of work (flush only). When that transaction commits,
``perks.jobs.enqueue`` hands its id to the ``perks.mail.send_message`` task; the
``perks.mail.send_due`` sweep (Celery beat, every 30 s, and ``flask perks tick``) sends
whatever a lost publish, a crash or an SMTP outage left behind. So:

* a business action never fails, waits or answers differently because mail is slow or down;
* a message is never sent for a change that rolled back, and never lost after a commit;
* each row is claimed by one sender at a time (a conditional UPDATE with a lease), and a row
  marked sent is never sent again. A sender that dies after the SMTP server accepted a
  message but before marking it sent leaves the row to be sent again when its lease ends:
  the stable ``Message-ID`` lets mail systems recognise that copy.

Failures are retried with exponential backoff (``MAIL_RETRY_SECONDS`` doubled per attempt,
at most an hour apart) up to ``MAIL_MAX_ATTEMPTS``; then the row is ``failed`` and an admin
may send it again from the messages page. So is a row whose every attempt ended with no
outcome recorded (each sender died, or met an error nobody expected), instead of going round
for ever. With ``MAIL_BACKEND=outbox`` (development and
tests) nothing is sent: rows are ``kept`` and read at ``/dev/outbox``.

Images travel inside the message, never loaded from the site (mail clients block remote
images): the brand's logo in every message and whatever the caller adds (an order's QR code)
are ``OutboxAttachment`` rows of the message, bytes and all, written with it; the HTML part
points at them by ``cid:`` and the message goes out as ``multipart/alternative`` of the text
and a ``multipart/related`` of the HTML with its images. A logo changed after the message
was queued does not change the message.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from celery import shared_task
from flask import current_app, has_app_context, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from sqlalchemy import (
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from perks import audit
from perks.branding.services import current_brand, logo_for_email
from perks.db import Base, affected_rows, transaction, utcnow
from perks.errors import Conflict, NotFound
from perks.extensions import db
from perks.i18n import LabelledEnum
from perks.jobs import enqueue

if TYPE_CHECKING:
    from perks.people.models import User

log = logging.getLogger(__name__)

#: how long a sender may hold a row before another may take it (well above the SMTP timeout)
LEASE = timedelta(minutes=2)
#: the longest wait between two attempts
MAX_BACKOFF = timedelta(hours=1)
#: messages one sweep sends at most (the next sweep takes the rest)
SWEEP_BATCH = 200


class MessageStatus(LabelledEnum):
    QUEUED = "queued", _l("Queued")  # waiting for its first or next attempt
    SENDING = "sending", _l("Sending")  # claimed by a sender until ``lease_until``
    SENT = "sent", _l("Sent")  # the SMTP server accepted it
    FAILED = "failed", _l("Failed")  # every attempt failed; an admin may retry
    KEPT = "kept", _l("Kept (development)")  # development outbox: kept here, never sent


class OutboxMessage(Base):
    """An e-mail written in the transaction that caused it, sent after the commit."""

    __tablename__ = "outbox_message"
    #: the sweep's question: what is due, oldest first
    __table_args__ = (Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    #: where the message is on its way out
    status: Mapped[MessageStatus] = mapped_column(
        Enum(
            MessageStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=MessageStatus.QUEUED,
    )
    #: the ``Message-ID`` header, the same on every attempt
    message_id: Mapped[str] = mapped_column(
        String(255), unique=True, default=lambda: make_msgid(domain=_message_domain())
    )
    #: attempts made so far
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: not to be tried before this time (backoff)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: a sender holds the row until then
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: when the SMTP server accepted it
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: what the last failed attempt said
    last_error: Mapped[str | None] = mapped_column(String(500))
    #: where the person turns this kind of message off (the ``List-Unsubscribe`` header);
    #: None for a message they cannot turn off (a password reset)
    list_unsubscribe: Mapped[str | None] = mapped_column(String(500))

    #: the images the HTML part shows, inside the message
    attachments: Mapped[list[OutboxAttachment]] = relationship(
        order_by="OutboxAttachment.id", cascade="all, delete-orphan"
    )


class OutboxAttachment(Base):
    """An image inside a message (``Content-ID``), written with it: the message can be built
    again, identical, at every attempt."""

    __tablename__ = "outbox_attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_message.id", ondelete="CASCADE"), index=True
    )
    #: the ``Content-ID`` without its angle brackets; the HTML says ``cid:<this>``
    content_id: Mapped[str] = mapped_column(String(255))
    #: ``image/png`` or ``image/jpeg``
    content_type: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(100))
    data: Mapped[bytes] = mapped_column(LargeBinary)


@dataclass(frozen=True)
class InlineImage:
    """An image a message shows inside itself, named for its template (``inline_images.qr``)."""

    content_type: str
    data: bytes

    @property
    def extension(self) -> str:
        return "jpg" if self.content_type == "image/jpeg" else self.content_type.split("/")[-1]


def send_email(
    recipient: str,
    template: str,
    *,
    locale: str = "vi",
    images: Mapping[str, InlineImage] | None = None,
    unsubscribe: str | None = None,
    **context: object,
) -> None:
    """Render ``templates/emails/<template>.{subject,txt,html}`` in ``locale`` and queue it.

    The brand's logo (if it has one) and ``images`` travel inside the message: the templates
    read ``inline_images[name]``, a ``cid:`` URL, for each (``logo`` for the logo).
    ``unsubscribe`` (absolute) is where the person turns such messages off: the
    ``List-Unsubscribe`` header, and a link in the footer of both parts (``unsubscribe_url``).
    The subject is one line, whatever line breaks the names in it carry (a header with one
    is refused by every mail server). The message joins the caller's unit of work (flush
    only) and is sent after its commit. Raises nothing about mail delivery: an SMTP outage
    never reaches the caller.
    """
    inline = dict(images or {})
    logo = logo_for_email()
    if logo is not None:
        inline["logo"] = InlineImage(logo.content_type, logo.data)
    domain = _message_domain()
    content_ids = {name: make_msgid(idstring=name, domain=domain)[1:-1] for name in inline}
    urls = {name: f"cid:{content_id}" for name, content_id in content_ids.items()}
    with force_locale(locale):
        subject = one_line(render_template(f"emails/{template}.subject.txt", **context))
        text = render_template(f"emails/{template}.txt", unsubscribe_url=unsubscribe, **context)
        html = render_template(
            f"emails/{template}.html", inline_images=urls, unsubscribe_url=unsubscribe, **context
        )
    kept = current_app.config["MAIL_BACKEND"] == "outbox"
    message = OutboxMessage(
        recipient=recipient,
        subject=subject,
        body_text=text,
        body_html=html,
        status=MessageStatus.KEPT if kept else MessageStatus.QUEUED,
        list_unsubscribe=unsubscribe,
        attachments=[
            OutboxAttachment(
                content_id=content_ids[name],
                content_type=image.content_type,
                filename=f"{name}.{image.extension}",
                data=image.data,
            )
            for name, image in inline.items()
        ],
    )
    db.session.add(message)
    db.session.flush()
    if not kept:
        enqueue(send_message, message.id)


#: what stands for a person's first name, and for an image's ``Content-ID``, in a message
#: rendered once for many people (``send_to_each``): characters of the private use area, which
#: no name holds and no escaping changes
_NAME_MARK = "\ue000name\ue000"
_CID_MARK = "\ue000cid:{}\ue000"
#: messages one ``send_messages`` task sends (a message queued for many people is handed to
#: the senders in tasks of this many)
SEND_BATCH = 200


@dataclass(frozen=True)
class _StandIn:
    """The person a message for many is rendered with: their name is put in afterwards."""

    first_name: str = _NAME_MARK


def send_to_each(
    people: Sequence[User],
    template: str,
    *,
    locale: str = "vi",
    unsubscribe: str | None = None,
    **context: object,
) -> int:
    """``send_email`` of the same message to each of ``people`` (all reading ``locale``),
    greeting each by their first name: rendered once, each person's name then put in (escaped
    in the HTML part), each message with its own ``Message-ID`` and ``Content-ID`` s, written
    with two INSERTs (the messages, their images) and handed to the senders in tasks of
    ``SEND_BATCH`` after the commit. Returns how many were queued.

    The templates may read nothing of ``person`` but ``first_name``. Flush only; raises
    nothing about mail delivery.
    """
    if not people:
        return 0
    logo = logo_for_email()
    inline = {"logo": InlineImage(logo.content_type, logo.data)} if logo is not None else {}
    urls = {name: f"cid:{_CID_MARK.format(name)}" for name in inline}
    with force_locale(locale):
        subject = one_line(
            render_template(f"emails/{template}.subject.txt", person=_StandIn(), **context)
        )
        text = render_template(
            f"emails/{template}.txt", unsubscribe_url=unsubscribe, person=_StandIn(), **context
        )
        html = render_template(
            f"emails/{template}.html",
            inline_images=urls,
            unsubscribe_url=unsubscribe,
            person=_StandIn(),
            **context,
        )
    kept = current_app.config["MAIL_BACKEND"] == "outbox"
    domain = _message_domain()
    rows, images = [], []
    for person in people:
        content_ids = {name: make_msgid(idstring=name, domain=domain)[1:-1] for name in inline}
        header_id = make_msgid(domain=domain)  # each row's own key, to find its id by
        body_html = html.replace(_NAME_MARK, str(escape(person.first_name)))
        for name, content_id in content_ids.items():
            body_html = body_html.replace(_CID_MARK.format(name), content_id)
        rows.append(
            {
                "message_id": header_id,
                "recipient": person.email,
                "subject": subject.replace(_NAME_MARK, person.first_name),
                "body_text": text.replace(_NAME_MARK, person.first_name),
                "body_html": body_html,
                "status": MessageStatus.KEPT if kept else MessageStatus.QUEUED,
                "list_unsubscribe": unsubscribe,
            }
        )
        images.append(content_ids)
    # A batched INSERT's RETURNING promises no order: each row's id is found by its unique
    # Message-ID, so each message gets the images its Content-IDs name.
    made = insert(OutboxMessage).returning(OutboxMessage.message_id, OutboxMessage.id)
    id_of: dict[str, int] = dict(db.session.execute(made, rows).all())
    ids = [id_of[str(row["message_id"])] for row in rows]
    attachments = [
        {
            "message_id": message_id,
            "content_id": content_ids[name],
            "content_type": image.content_type,
            "filename": f"{name}.{image.extension}",
            "data": image.data,
        }
        for message_id, content_ids in zip(ids, images, strict=True)
        for name, image in inline.items()
    ]
    if attachments:
        db.session.execute(insert(OutboxAttachment), attachments)
    if not kept:
        for start in range(0, len(ids), SEND_BATCH):
            enqueue(send_messages, ids[start : start + SEND_BATCH])
    return len(ids)


def one_line(text: str) -> str:
    """``text`` with its line breaks and runs of blanks as single spaces, trimmed: a header
    value every mail server takes. Raises nothing."""
    return " ".join(text.split())


def _message_domain() -> str:
    if not has_app_context():
        return "localhost"
    sender = current_app.config["MAIL_SENDER"]
    domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else ""
    return domain or urlsplit(current_app.config.get("BASE_URL") or "").hostname or "localhost"


@shared_task(name="perks.mail.send_message")
def send_message(message_id: int) -> bool:
    """Send one queued message if it is due and nobody else holds it; True if sent now."""
    return _send_each([message_id]) == 1


@shared_task(name="perks.mail.send_messages")
def send_messages(message_ids: list[int]) -> int:
    """Send the queued messages among ``message_ids`` that are due and nobody else holds, over
    one connection (``send_to_each`` hands them over so); returns how many were sent now."""
    return _send_each([int(message_id) for message_id in message_ids])


@shared_task(name="perks.mail.send_due")
def send_due() -> int:
    """Send every queued message that is due (and those whose sender's lease ran out), up to
    ``SWEEP_BATCH``; stops at the first when the server cannot be reached. Returns how many
    were sent."""
    now = utcnow()
    due = db.session.scalars(
        select(OutboxMessage.id)
        .where(_due(now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(SWEEP_BATCH)
    ).all()
    db.session.rollback()  # end the read before sending: no transaction held over SMTP
    return _send_each(list(due))


def _due(now: datetime) -> Any:
    return or_(
        (OutboxMessage.status == MessageStatus.QUEUED) & (OutboxMessage.next_attempt_at <= now),
        (OutboxMessage.status == MessageStatus.SENDING) & (OutboxMessage.lease_until < now),
    )


def _claim(message_id: int) -> bool:
    """Take the row for this sender if it is due (one conditional UPDATE); True if taken."""
    now = utcnow()
    with transaction():
        result = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, _due(now))
            .values(
                status=MessageStatus.SENDING,
                lease_until=now + LEASE,
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        return affected_rows(result) == 1


def _send_each(ids: list[int]) -> int:
    """Send the due rows among ``ids`` over one SMTP connection; record each outcome.
    Returns how many were sent.

    Each row is claimed just before it is sent, so its lease covers its own send only: taken
    all at once, the last rows of a batch behind a slow server would outlive their leases
    while waiting their turn, and another sweep would send them too. A server that cannot be
    connected to ends the run at the first row: one timeout, not one per row.
    """
    sent = 0
    smtp: smtplib.SMTP | None = None
    try:
        for message_id in ids:
            if not _claim(message_id):
                continue
            message = db.session.get(OutboxMessage, message_id)
            assert message is not None
            attempt = message.attempts  # this claim's: its outcome is written only while it holds
            if message.attempts > current_app.config["MAIL_MAX_ATTEMPTS"]:
                # every attempt so far ended with no outcome recorded (its sender died, or
                # met an error nobody expected): not sent again by itself; an admin may
                _record_failure(
                    message_id, SenderDied(message.attempts - 1), attempt, permanent=True
                )
                continue
            try:
                email = _email(message)
            except ValueError as error:  # a header no mail server would take: never retried
                _record_failure(message_id, error, attempt, permanent=True)
                continue
            db.session.rollback()  # no transaction open while we talk to the server
            try:
                smtp = smtp or _connect()
            except (smtplib.SMTPException, OSError) as error:
                # the server is down or does not answer: the rest wait, unclaimed, for the
                # next sweep, instead of each costing the worker another timeout
                _record_failure(message_id, error, attempt)
                break
            try:
                smtp.send_message(email)
            except (smtplib.SMTPException, OSError) as error:
                _record_failure(message_id, error, attempt)
                if smtp is not None:
                    _quit(smtp)
                smtp = None
                continue
            _record_sent(message_id)
            sent += 1
    finally:
        if smtp is not None:
            _quit(smtp)
    return sent


class SenderDied(RuntimeError):
    """Every attempt to send a message ended with no outcome recorded."""

    def __init__(self, attempts: int) -> None:
        super().__init__(f"{attempts} attempts ended with no outcome recorded (the sender died)")


def _email(message: OutboxMessage) -> EmailMessage:
    config = current_app.config
    email = EmailMessage()
    email["From"] = config["MAIL_SENDER"]
    contact = current_brand().contact_email
    if contact:  # a reply reaches the company, not the mailbox messages are sent from
        email["Reply-To"] = contact
    email["To"] = message.recipient
    email["Subject"] = one_line(message.subject)  # one queued before subjects were one line
    email["Date"] = format_datetime(_aware(message.created_at))
    email["Message-ID"] = message.message_id
    if message.list_unsubscribe:
        email["List-Unsubscribe"] = f"<{message.list_unsubscribe}>"
    email.set_content(message.body_text)
    email.add_alternative(message.body_html, subtype="html")
    html = email.get_body(("html",))
    assert html is not None
    for attachment in message.attachments:  # the HTML part becomes multipart/related
        maintype, subtype = attachment.content_type.split("/")
        html.add_related(
            attachment.data,
            maintype=maintype,
            subtype=subtype,
            cid=f"<{attachment.content_id}>",
            filename=attachment.filename,
            disposition="inline",
        )
    return email


def _connect() -> smtplib.SMTP:
    config = current_app.config
    smtp = smtplib.SMTP(
        config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT_SECONDS"]
    )
    try:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    except BaseException:
        _quit(smtp)
        raise
    return smtp


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _record_sent(message_id: int) -> None:
    with transaction():
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(status=MessageStatus.SENT, sent_at=utcnow(), lease_until=None, last_error=None)
            .execution_options(synchronize_session=False)
        )


def _record_failure(
    message_id: int, error: BaseException, attempt: int, *, permanent: bool = False
) -> None:
    """Write a failed attempt's outcome, unless that claim (``attempt``) no longer holds the
    row: its lease ran out and another sender took it (and may have sent it since)."""
    config = current_app.config
    with transaction():
        message = db.session.get(OutboxMessage, message_id, with_for_update=True)
        assert message is not None
        if message.status != MessageStatus.SENDING or message.attempts != attempt:
            log.warning("mail %s failed after another sender took it over: %s", message_id, error)
            return
        message.last_error = f"{type(error).__name__}: {error}"[:500]
        message.lease_until = None
        if permanent or message.attempts >= config["MAIL_MAX_ATTEMPTS"]:
            message.status = MessageStatus.FAILED
        else:
            message.status = MessageStatus.QUEUED
            message.next_attempt_at = utcnow() + backoff(message.attempts, config)
        attempts, status = message.attempts, message.status
    log.warning("mail %s failed (attempt %s, now %s): %s", message_id, attempts, status, error)


def backoff(attempts: int, config: Any) -> timedelta:
    """The wait after ``attempts`` failed attempts: the base doubled each time, capped."""
    base = timedelta(seconds=config["MAIL_RETRY_SECONDS"])
    factor: int = 2 ** max(attempts - 1, 0)
    return min(base * factor, MAX_BACKOFF)


def retry_message(message_id: int, *, actor: User) -> None:
    """Queue a failed message again, now (an admin's retry). Audited.

    Raises:
        NotFound: no such message.
        Conflict: the message has not failed.
    """
    with transaction():
        # locked: of two retries at once (a double click), the second reads the first's
        # outcome and is refused, instead of queueing a message already sent again
        message = db.session.get(OutboxMessage, message_id, with_for_update=True)
        if message is None:
            raise NotFound()
        if message.status != MessageStatus.FAILED:
            raise Conflict(_l("Only a failed message can be sent again."))
        # what the log says: which message (its subject and recipient, never its body) and
        # why it had failed, before the attempts start again
        audit.record(
            "mail.retry",
            actor=actor,
            target=message,
            email=message.recipient,
            subject=message.subject,
            attempts=message.attempts,
            last_error=message.last_error,
        )
        message.status = MessageStatus.QUEUED
        message.next_attempt_at = utcnow()
        message.attempts = 0
        enqueue(send_message, message.id)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

"""The one outgoing-mail service.

Production sends through SMTP. Development and tests write to the outbox table instead, so
invitations and resets work offline; admins read it at the development-only outbox page.
"""

from __future__ import annotations

import smtplib
from datetime import datetime
from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from perks.db import Base, utcnow
from perks.extensions import db


class OutboxMessage(Base):
    """An e-mail kept instead of sent (development and tests)."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)


def send_email(recipient: str, template: str, *, locale: str = "vi", **context: object) -> None:
    """Render ``templates/emails/<template>.{subject,txt,html}`` in ``locale`` and send it.

    With the outbox backend the message is added to the caller's unit of work (flush only).

    Raises:
        smtplib.SMTPException, OSError: the SMTP server refused or could not be reached.
    """
    with force_locale(locale):
        subject = render_template(f"emails/{template}.subject.txt", **context).strip()
        text = render_template(f"emails/{template}.txt", **context)
        html = render_template(f"emails/{template}.html", **context)
    config = current_app.config
    if config["MAIL_BACKEND"] == "outbox":
        db.session.add(
            OutboxMessage(recipient=recipient, subject=subject, body_text=text, body_html=html)
        )
        db.session.flush()
        return
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)

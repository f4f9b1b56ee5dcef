"""The mail service: the outbox in development, real SMTP in production."""

from __future__ import annotations

import socketserver
import threading
from email import message_from_bytes, policy

import pytest

from perks.auth.models import Role
from perks.extensions import db
from perks.mail import OutboxMessage, send_email
from tests import factories


class SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough of RFC 5321 to receive one message over a real socket."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 test SMTP ready")
        while line := self.rfile.readline():
            command = line.decode().strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.reply("250 test")
            elif command.startswith(("MAIL FROM", "RCPT TO")):
                self.server.envelope.append(line.decode().strip())  # type: ignore[attr-defined]
                self.reply("250 OK")
            elif command == "DATA":
                self.reply("354 go on")
                body = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    body += chunk
                self.server.messages.append(body)  # type: ignore[attr-defined]
                self.reply("250 queued")
            elif command == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SMTPHandler)
    server.messages = []  # type: ignore[attr-defined]
    server.envelope = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_smtp_backend_sends_a_real_message(app, app_factory, smtp_server):
    smtp_app = app_factory(
        MAIL_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_server.server_address[1],
        MAIL_USE_TLS=False,
        MAIL_SENDER="Perks <perks@senvang.example>",
    )
    user = factories.UserFactory(name="Trần Văn Bình", email="binh@example.com")
    with smtp_app.test_request_context():
        send_email(user.email, "invitation", locale="vi", user=user, link="http://x/invitation/t")
    assert len(smtp_server.messages) == 1
    message = message_from_bytes(smtp_server.messages[0], policy=policy.default)
    assert message["To"] == "binh@example.com"
    assert message["From"] == "Perks <perks@senvang.example>"
    text = message.get_body(("plain",)).get_content()
    assert "Bình" in text
    assert "http://x/invitation/t" in text
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 0


def test_outbox_keeps_the_message_in_the_recipients_language(client, login_as):
    login_as(Role.HR)
    person = factories.UserFactory(locale="vi", password_hash=None, email="vi@example.com")
    client.post(f"/people/{person.id}/invite")
    message = db.session.scalar(db.select(OutboxMessage))
    assert message.recipient == "vi@example.com"
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

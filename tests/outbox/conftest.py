"""A real SMTP server on loopback (aiosmtpd) that answers what the test scripts, and a port
where nothing listens (connection refused)."""

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller


class ScriptedServer:
    """Answers each DATA with the next scripted reply ("451 …", "554 …"), then "250 OK";
    `refuse_rcpt` answers RCPT TO with it. Keeps every message it was handed (`attempts`) and
    those it accepted (`accepted`)."""

    def __init__(self):
        self.script: list[str] = []
        self.refuse_rcpt = ""
        self.attempts: list[email.message.EmailMessage] = []
        self.accepted: list[email.message.EmailMessage] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.attempts.append(message)
        if self.script:
            return self.script.pop(0)
        self.accepted.append(message)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _smtp_settings(settings, port):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5


@pytest.fixture
def smtp(settings):
    handler = ScriptedServer()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    _smtp_settings(settings, port)
    yield handler
    controller.stop()


@pytest.fixture
def smtp_down(settings):
    """Nothing listens on the port: every connection is refused (`make run` without SMTP)."""
    _smtp_settings(settings, free_port())

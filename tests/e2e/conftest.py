"""Shared fixtures of the end-to-end browser tests (headless Chromium through Playwright).

- `browser` (tests/conftest.py): one Chromium per test, launched with the CI's flags.
- `new_page(user=None)`: a fresh browser context (French, 1366 × 900); logged in as `user`
  (whose password is the factories' default) through the real pages when given, with a real
  TOTP code for the roles that need a second factor (`tests.browser.login`).
- `page`: an anonymous page.
- `shot(page, name)`: a full-page screenshot in var/screenshots/ (git-ignored), returned path.
- `smtp_server`: a real SMTP server on loopback (aiosmtpd) that keeps what it receives; the
  project sends to it (EMAIL_BACKEND smtp, EMAIL_HOST/EMAIL_PORT pointed at it).

Tests using them are marked `e2e` and `requires_chromium` and use a transactional database
with serialized rollback (the live server runs in another thread, and the reference data
loaded by migrations must survive the flush).
"""

from __future__ import annotations

import os
import socket
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls tests make between
# browser steps are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.browser import SHOTS, login  # noqa: E402


@pytest.fixture
def new_page(browser, live_server):
    contexts = []

    def make(user=None, *, width: int = 1366, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        if user is not None:
            login(page, live_server.url, user)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


def shot(page, name: str) -> Path:
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


class SmtpSink:
    """What the loopback SMTP server received: parsed messages, oldest first."""

    def __init__(self) -> None:
        self.messages = []
        self.host = "127.0.0.1"
        self.port = 0

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 15.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, f"{len(self.messages)} message(s) received"
        return self.messages


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    sink.port = _free_port()
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = sink.host
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield sink
    finally:
        controller.stop()

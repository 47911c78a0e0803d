"""What every browser test shares: where Chromium is, its flags, the screenshot folder, the
factories' password and the sign-in through the real pages (`login`). The `browser` fixture
itself is in tests/conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
PASSWORD = "correct horse battery staple"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def is_problem(text: str) -> bool:
    """A console message the browser tests refuse: a Content-Security-Policy violation."""
    return "Content Security Policy" in text or "Content-Security-Policy" in text


def watch(browser) -> list[str]:
    """Record, for every context the browser opens from now on, each console message about the
    Content-Security-Policy and each uncaught JavaScript error of any of its pages and frames.
    Returns the list the messages go to; the `browser` fixture fails the test when it is not
    empty at teardown (a test that expects one takes it out of the list)."""
    problems: list[str] = []

    def on_console(message) -> None:
        if is_problem(message.text):
            problems.append(f"CSP ({message.page.url if message.page else '?'}): {message.text}")

    def on_error(error) -> None:
        url = error.page.url if error.page else "?"
        problems.append(f"uncaught JavaScript error ({url}): {error.error}")

    new_context = browser.new_context

    def watched_context(*args, **kwargs):
        context = new_context(*args, **kwargs)
        context.on("console", on_console)
        context.on("weberror", on_error)
        return context

    def watched_page(*args, **kwargs):
        context = watched_context(*args, **kwargs)
        return context.new_page()

    browser.new_context = watched_context
    browser.new_page = watched_page
    return problems


def totp_code(device) -> str:
    """The code the user's authenticator app shows now."""
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def login(page, base_url: str, user) -> None:
    """Sign in through the real pages: password, then (managers, administrators, mediators)
    a code of their authenticator, computed from a real confirmed TOTP device. `user` is a
    User or a username."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts import permissions
    from accounts.models import User

    if isinstance(user, str):
        user = User.objects.get(username=user)
    device = None
    if permissions.second_factor_required(user):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="tests", confirmed=True)
        # A code is accepted once per 30-second step; a test may sign the same person in twice.
        TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    assert "/login/" not in page.url, "login failed"
    if device is not None:
        assert "/accounts/verify/" in page.url, page.url
        page.fill("#id_code", totp_code(device))
        page.click("main form button[type=submit]")
        page.wait_for_load_state()
        assert "/accounts/verify/" not in page.url, "second factor refused"

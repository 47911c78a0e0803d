"""What every browser test shares: where Chromium is, its flags, the screenshot folder and the
factories' password. The `browser` fixture itself is in tests/conftest.py."""

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

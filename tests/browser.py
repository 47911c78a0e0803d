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

"""Skip markers for tests that need a service of the machine.

Every reason starts with "needs service:": `.ci/run` fails the PostgreSQL + Redis run if any
test skipped for such a reason there, so a missing service cannot pass silently in CI.
"""

import os
import shutil

import pytest
from django.conf import settings
from django.db import connection

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs service: PostgreSQL (set DATABASE_URL=postgres://…)",
)
requires_broker = pytest.mark.skipif(
    settings.CELERY_TASK_ALWAYS_EAGER,
    reason="needs service: a Celery broker and worker (set CELERY_BROKER_URL)",
)
requires_chromium = pytest.mark.skipif(
    not shutil.which(os.environ.get("CHROMIUM", "chromium")),
    reason="needs service: Debian's chromium for end-to-end tests",
)
requires_tesseract = pytest.mark.skipif(
    not shutil.which("tesseract"), reason="needs service: tesseract-ocr with the French model"
)

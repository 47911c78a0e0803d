import os

import pytest


@pytest.fixture(autouse=True)
def _matrix_env(settings, tmp_path):
    """Media in a temporary folder, a private cache, mail captured, triage left to the test."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"matrix-{os.getpid()}-{tmp_path.name}",
        }
    }
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TRIAGE_TASK = ""

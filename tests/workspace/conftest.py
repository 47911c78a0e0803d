import pytest


@pytest.fixture(autouse=True)
def _workspace_env(settings, tmp_path):
    """Media in a temporary folder, a private local-memory cache (presence), mail captured."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"workspace-{tmp_path.name}",
        }
    }
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TRIAGE_TASK = ""
    yield

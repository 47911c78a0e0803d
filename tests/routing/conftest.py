"""Fixtures of the routing tests."""

import pytest


@pytest.fixture(autouse=True)
def _fresh_policy_cache():
    # The compiled live policy is cached per process; each test sees its own database.
    from routing.services import reset_caches

    reset_caches()
    yield
    reset_caches()

"""Fixtures of the mediation tests: the two mediators in their teams, a case with tickets."""

import os

import pytest

from accounts.models import Role, Team, TeamMembership
from contacts.models import Topic
from mediation.services import case_open_from_escalation
from tests.factories import TicketFactory, UserFactory, brand

# Playwright's sync API runs an event loop in the test's thread; Django's live server and ORM
# refuse to run "async-unsafe" code there unless told it is fine (it is: one thread).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _local_cache(settings):
    # The rate limit of comments uses the cache; the database cache's table is not created in
    # the test database, and each test wants a fresh counter anyway.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"mediation-tests-{os.getpid()}",
        }
    }
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _mail_in_memory(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def mediator(db):
    """The programmes mediator (overrides the shared persona: same name, now in its team)."""
    user = UserFactory(
        username="mediator",
        role=Role.MEDIATOR,
        all_brands=True,
        first_name="Hélène",
        last_name="Marchand",
    )
    TeamMembership.objects.get_or_create(
        team=Team.objects.get(code="mediator-programmes"), user=user, defaults={"is_lead": True}
    )
    return user


@pytest.fixture
def news_mediator(db):
    user = UserFactory(
        username="mediator-news",
        role=Role.MEDIATOR,
        all_brands=True,
        first_name="Olivier",
        last_name="Garnier",
    )
    TeamMembership.objects.get_or_create(
        team=Team.objects.get(code="mediator-news"), user=user, defaults={"is_lead": True}
    )
    return user


@pytest.fixture
def case(mediator, srt):
    """An open programmes case opened from one escalated France 2 ticket."""
    ticket = TicketFactory(
        level=3,
        topic=Topic.EDITORIAL_PROGRAMMES,
        brand=brand("france2"),
        subject="Scène violente en première partie de soirée",
    )
    return case_open_from_escalation(
        ticket=ticket, by=srt, reason="Le téléspectateur demande l'avis du médiateur."
    )

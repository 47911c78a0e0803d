"""Staff sessions end after SESSION_IDLE_MINUTES without a request, and at the end of a shift
(SESSION_COOKIE_AGE after sign-in) however active the session."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def test_an_idle_session_expires_after_the_configured_minutes(client, agent, settings):
    settings.SESSION_IDLE_MINUTES = 30
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(agent)
        assert client.get("/queue/").status_code == 200
        clock.shift(dt.timedelta(minutes=29))
        assert client.get("/queue/").status_code == 200  # activity resets the idle clock
        clock.shift(dt.timedelta(minutes=29))
        assert client.get("/queue/").status_code == 200
        clock.shift(dt.timedelta(minutes=31))
        response = client.get("/queue/")
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
        assert "_auth_user_id" not in client.session


def test_an_active_session_still_ends_with_the_shift(client, manager, settings):
    settings.SESSION_IDLE_MINUTES = 30
    settings.SESSION_COOKIE_AGE = 10 * 60 * 60
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(manager)
        for _ in range(9 * 3):  # a request every 20 minutes for nine hours
            clock.shift(dt.timedelta(minutes=20))
            assert client.get("/queue/").status_code == 200
        clock.shift(dt.timedelta(minutes=61))  # 10 h 01 after signing in
        response = client.get("/queue/")
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_the_idle_limit_comes_from_the_environment(settings, agent, client):
    settings.SESSION_IDLE_MINUTES = 5
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(agent)
        clock.shift(dt.timedelta(minutes=6))
        assert client.get("/queue/").status_code == 302

"""Health check, API schema and documentation, API scoping, settings, pages and language."""

import json
import os
import subprocess
import sys

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from tests.factories import TicketFactory, brand

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True


def test_healthz_says_degraded_when_the_broker_is_unreachable(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    # The web still serves (work waits in the database for the sweeps): 200, degraded.
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["broker"]["ok"] is False


def test_openapi_schema_lists_the_api(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "openapi: 3" in text
    assert "/api/v1/tickets/" in text


def test_api_documentation_is_served_without_cdn(client, manager):
    client.force_login(manager)
    html = client.get("/api/docs/").content.decode()
    assert "swagger" in html.lower()
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()


def test_api_tickets_are_scoped_by_level_and_brand(client, agent):
    mine = TicketFactory(level=1, brand=brand("france2"))
    TicketFactory(level=2, brand=brand("france2"))
    TicketFactory(level=1, brand=brand("france5"))
    token = Token.objects.create(user=agent)
    response = client.get("/api/v1/tickets/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert [t["reference"] for t in response.json()["results"]] == [mine.reference]
    assert "next" in response.json()  # cursor pagination


def test_api_ticket_outside_scope_is_not_found(client, agent):
    hidden = TicketFactory(level=2, brand=brand("france2"))
    client.force_login(agent)
    assert client.get(f"/api/v1/tickets/{hidden.pk}/").status_code == 404


def test_api_filters_tickets(client, manager):
    TicketFactory(level=1, topic="praise")
    wanted = TicketFactory(level=2, topic="accessibility")
    client.force_login(manager)
    response = client.get("/api/v1/tickets/", {"topic": "accessibility", "level": 2})
    assert [t["reference"] for t in response.json()["results"]] == [wanted.reference]


def test_api_refuses_anonymous_callers(client):
    assert client.get("/api/v1/tickets/").status_code in (401, 403)


def test_malformed_settings_fail_loudly():
    env = dict(os.environ, DEBUG="maybe", DJANGO_SETTINGS_MODULE="frt_crm.settings")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def _postgres_options(**env) -> dict:
    code = "import django, json; django.setup(); from django.conf import settings; "
    code += "o = dict(settings.DATABASES['default']['OPTIONS']); o.pop('pool', None); "
    code += "print(json.dumps(o))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="frt_crm.settings",
            DATABASE_URL="postgres://crm@127.0.0.1:5432/crm?options=-c%20work_mem%3D8MB",
            **env,
        ),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("pool", ["1", "0"])
def test_postgresql_jit_is_off_unless_asked_for(pool):
    # JIT compiling costs 0.3-0.5 s on counts whose rows the planner overestimates.
    options = _postgres_options(DATABASE_POOL=pool, DATABASE_JIT="")
    assert options["options"] == "-c work_mem=8MB -c jit=off"
    assert options["connect_timeout"] == 2
    assert "jit" not in _postgres_options(DATABASE_POOL=pool, DATABASE_JIT="1")["options"]


def test_the_web_connections_run_without_jit(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (JIT is PostgreSQL's)")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_login_page_is_in_french_and_labelled(client):
    html = client.get(reverse("login")).content.decode()
    assert 'lang="fr"' in html
    assert "Connexion" in html or "Se connecter" in html
    assert '<label for="id_username">' in html


def test_french_even_when_the_browser_asks_for_english(client):
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert 'lang="fr"' in html


def test_english_is_available(client):
    client.cookies["django_language"] = "en"
    html = client.get(reverse("login")).content.decode()
    assert 'lang="en"' in html and "Log in" in html


def test_pages_need_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_navigation_depends_on_the_role(client, agent, manager):
    client.force_login(agent)
    agent_html = client.get(reverse("home")).content.decode()
    client.force_login(manager)
    manager_html = client.get(reverse("home")).content.decode()
    assert "/admin/" not in agent_html
    assert "/admin/" in manager_html


def test_configuration_admin_is_for_managers_only(client, agent, manager):
    client.force_login(agent)
    assert client.get("/admin/").status_code == 302
    client.force_login(manager)
    response = client.get("/admin/accounts/team/")
    assert response.status_code == 200
    assert "SRT France 2" in response.content.decode()


def test_refused_page_explains_itself_in_french_with_the_site_menu(client, agent):
    client.force_login(agent)
    response = client.get(reverse("reporting:dashboard"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "Accès refusé" in html
    assert "demandez-le à votre responsable d'équipe" in html
    assert reverse("home") in html

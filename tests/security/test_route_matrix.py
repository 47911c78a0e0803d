"""The permission matrix: every URL pattern of the project, every role, real objects.

`route_expectations.ROUTES` declares, for each route, what each role gets; these tests fail
when a pattern has no row (a new route must say who may reach it), when a role gets another
answer than its row says, and when any page shows a role a secret planted in the world that
it may not see (`world.SECRETS`), whatever the page. Each role's test builds the world once and
makes every request of the table, GETs first, then POSTs (which may change the world), the
sign-outs last.
"""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.exceptions import Resolver404

from accounts import permissions
from tests.conftest import otp_verify_session
from tests.security.route_expectations import (
    ALLOWED,
    ALOGIN,
    DENIED,
    ENROL,
    KNOWN_HOLES,
    LOGIN,
    MOVED,
    REFUSALS,
    ROLES,
    ROUTES,
    SHOWN_BY_DESIGN,
    UNVERIFIED_REACH,
    UNVERIFIED_ROLES,
    VERIFY,
    Row,
)
from tests.security.world import SECRETS, World, build_world

pytestmark = pytest.mark.django_db

# Requests that end the session: made last.
ENDS_THE_SESSION = frozenset({"/logout/", "/admin/logout/"})
# POST-only routes whose GET redirects without doing anything (Django's set_language).
GET_REDIRECTS_HARMLESSLY = frozenset({"/i18n/setlang/"})
_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/rss",
    "application/atom",
)


def _client_for(role: str, world: World) -> Client:
    """A browser signed in as `role` ("anonymous": not signed in). The one place the matrix
    signs in: the roles that need a second factor (mediator, manager, administrator) pass it
    with a real confirmed TOTP device, as after typing a right code."""
    client = Client(raise_request_exception=False)
    if role != "anonymous":
        user = world.users[role]
        client.force_login(user)
        if permissions.second_factor_required(user):
            otp_verify_session(client, user)
    return client


def _request(client: Client, row: Row, url: str):
    """The row's request; the API reads JSON only, so its forms are sent as JSON."""
    if row.method == "GET":
        return client.get(url)
    if url.startswith("/api/"):
        return client.post(url, row.data, content_type="application/json")
    return client.post(url, row.data)


def _answer(response) -> object:
    """The response as the table writes answers: a status, or where a redirect goes."""
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith(reverse("admin:login")):
            return ALOGIN
        if location.startswith(reverse("login")):
            return LOGIN
        if location.startswith(reverse("accounts:enrol")):
            return ENROL
        if location.startswith(reverse("accounts:verify")):
            return VERIFY
        return MOVED
    return response.status_code


def _matches(expected: object, got: object) -> bool:
    if expected == ALLOWED:
        return got not in REFUSALS and not (isinstance(got, int) and got >= 500)
    return expected == got


def _text(response) -> str:
    """The body of a text answer (pages, JSON, CSV, feeds); "" for files and images.

    A streamed answer (a file) is read to its end, which closes it the test client's way; never
    `response.close()`: it would signal the end of a request and close the test's database
    connection on PostgreSQL."""
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    if not response.get("Content-Type", "").startswith(_TEXT_TYPES):
        return ""
    return raw.decode("utf-8", "replace")


def _running_order(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: (r.method == "POST", r.url in ENDS_THE_SESSION))


_GET_URLS = {row.url for row in ROUTES if row.method == "GET"}


def _check_cell(row: Row, role: str, got: object) -> str | None:
    expected = row.answers[role]
    today = KNOWN_HOLES.get((row.url, role))
    if today is None:
        return None if _matches(expected, got) else f"expected {expected}, got {got}"
    if _matches(expected, got):
        return f"answers {got} as its row says: the hole is closed, delete it from KNOWN_HOLES"
    return None if _matches(today, got) else f"known hole answered {today}, now {got}"


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_as_declared(role):
    world = build_world()
    client = _client_for(role, world)
    failures = []
    for row in _running_order(ROUTES):
        url = row.url.format(**world.ids)
        response = _request(client, row, url)
        got = _answer(response)
        problem = _check_cell(row, role, got)
        if problem:
            failures.append(f"{row}: {problem}")
        shown = _text(response)
        for secret, readers in SECRETS.items():
            if role in readers or secret in SHOWN_BY_DESIGN.get(row.url, ()):
                continue
            if secret in shown:
                failures.append(f"{row} ({got}): shows {secret} to {role}")
        if row.method == "POST" and row.url not in _GET_URLS and row.url not in ENDS_THE_SESSION:
            # A POST-only route does nothing on GET: refused, or what the POST got if refused.
            got_get = _answer(client.get(url))
            harmless = got_get in REFUSALS or (
                row.answers[role] != ALLOWED and got_get == row.answers[role]
            )
            if not harmless and row.url not in GET_REDIRECTS_HARMLESSLY:
                failures.append(f"GET {row.url}: POST-only route answers GET with {got_get}")
    assert not failures, f"{len(failures)} cells differ for {role}:\n" + "\n".join(failures)


def _unverified_client_for(column: str, world: World) -> Client:
    """A manager who signed in with a password only and has no authenticator yet
    ("must-enrol"), or a mediator who has one and has not typed a code ("must-verify")."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client(raise_request_exception=False)
    if column == "must-enrol":
        client.force_login(world.users["manager"])
    else:
        user = world.users["mediator"]
        TOTPDevice.objects.create(user=user, name="téléphone", confirmed=True)
        client.force_login(user)
    return client


@pytest.mark.parametrize("column", UNVERIFIED_ROLES)
def test_an_unverified_privileged_user_reaches_only_the_second_factor_pages(column):
    """Every request of the table, made by a privileged user who has not passed the second
    factor: the few pages of `UNVERIFIED_REACH` answer as declared, every other page sends
    them to enrol or verify, every API call gets a JSON 403, and no page shows any secret."""
    world = build_world()
    client = _unverified_client_for(column, world)
    gate = ENROL if column == "must-enrol" else VERIFY
    failures = []
    for row in _running_order(ROUTES):
        url = row.url.format(**world.ids)
        response = _request(client, row, url)
        got = _answer(response)
        declared = UNVERIFIED_REACH.get((row.method, row.url))
        if declared is not None:
            expected = declared[UNVERIFIED_ROLES.index(column)]
        elif row.url.startswith("/api/"):
            expected = DENIED
            if got == DENIED and response.get("Content-Type") != "application/json":
                failures.append(f"{row}: the API's refusal is not JSON")
        else:
            expected = gate
        if not _matches(expected, got):
            failures.append(f"{row}: expected {expected}, got {got}")
        shown = _text(response)
        failures += [f"{row} ({got}): shows {secret}" for secret in SECRETS if secret in shown]
    reached = {key for key in UNVERIFIED_REACH}
    tabled = {(row.method, row.url) for row in ROUTES}
    failures += [f"{key}: no such row in ROUTES" for key in reached - tabled]
    assert not failures, f"{len(failures)} cells differ for {column}:\n" + "\n".join(failures)


def _join(prefix: str, route: str) -> str:
    # As Django's URLResolver joins the routes of a ResolverMatch.
    return prefix + route.removeprefix("^") if prefix else route


def url_patterns(patterns=None, prefix: str = "") -> list[str]:
    """Every URL pattern of the project (the admin and the API router included), as the full
    route string Django reports in `ResolverMatch.route`."""
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = _join(prefix, str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            found += url_patterns(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            found.append(route)
    return found


def _route_of(row: Row) -> str:
    any_id = defaultdict(lambda: "1")
    return resolve(urlsplit(row.url.format_map(any_id)).path).route


def test_every_url_pattern_has_a_declared_expectation_for_every_role():
    declared, unresolved = set(), []
    for row in ROUTES:
        try:
            declared.add(_route_of(row))
        except Resolver404:
            unresolved.append(repr(row))
    missing = [route for route in url_patterns() if route not in declared]
    assert not unresolved, "rows whose URL no longer exists:\n" + "\n".join(unresolved)
    assert not missing, (
        "routes nobody said who may reach: add a row per route to "
        "tests/security/route_expectations.py\n" + "\n".join(missing)
    )
    assert all(set(row.answers) == set(ROLES) for row in ROUTES)


def test_the_planted_secrets_are_shown_where_they_belong():
    """The matrix's search for leaks is only worth something if the secrets are on the pages
    of those who may read them."""
    world = build_world()
    ids = world.ids
    for role, url, secret in [
        ("mediator", f"/mediation/cases/{ids['case']}/", "NOTE-CONFIDENTIELLE-MEDIATEUR"),
        ("srt", f"/tickets/{ids['t1']}/", "NOTE-INTERNE-NIVEAU-2"),
        ("manager", f"/tickets/{ids['t3']}/", "MESSAGE-DIRECT-MEDIATEUR"),
        ("mediator", f"/tickets/{ids['other']}/", "MESSAGE-FRANCE-5"),
        ("srt", f"/contacts/{ids['contact2']}/html/", "HTML-NIVEAU-2"),
        ("srt", f"/tickets/{ids['t1']}/reply/preview/{ids['preview_token']}/", "APERCU-LETTRE-SRT"),
    ]:
        response = _client_for(role, world).get(url)
        assert response.status_code == 200, (role, url)
        assert secret in response.content.decode(), (role, url, secret)

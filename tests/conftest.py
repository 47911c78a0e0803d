"""Role personas and shared fixtures.

Personas: `agent` (external call centre, France 2 and France 3 with its regional stations),
`mailroom`, `srt` (France 2), `srt3` (France 3), `mediator`, `manager` (all brands), `admin`,
and `outsider` (an agent of France 5 only: another brand's staff).

`client.force_login(user)` also passes the second factor for the roles that need one (a real
confirmed TOTP device, see `VerifiedClient`); `unverified_client` does not, for the tests of
the second factor itself. Browser tests sign in through the real pages (`tests.browser.login`).
"""

import os

import pytest
from django.test import Client

from accounts.models import Role
from tests.factories import UserFactory


def otp_verify_session(client, user):
    """Mark `client`'s session as signed in with a second factor, with a real confirmed
    authenticator of `user` (made if missing): what the sign-in pages do after a right code."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="tests", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


class VerifiedClient(Client):
    """The test client, whose force_login also passes the second factor for the roles that
    need one (managers, administrators, mediators), as if they had typed a right code.
    Tests of the second factor itself use `unverified_client`."""

    def force_login(self, user, backend=None):
        super().force_login(user, backend)
        from accounts import permissions

        if permissions.second_factor_required(user):
            otp_verify_session(self, user)


@pytest.fixture
def client():
    return VerifiedClient()


@pytest.fixture
def unverified_client():
    """A plain test client: force_login leaves the second factor to be passed."""
    return Client()


def pytest_collection_modifyitems(items):
    """Every transactional test (live server, real worker) restores the database as the
    migrations left it. The reference data that data migrations load (brands, teams, the
    triage policy) must survive the flush at the end of such a test, and content types must
    keep their ids, or the next transactional test finds the database half-empty (PostgreSQL
    does not reset sequences on flush)."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        transactional = (
            "live_server" in item.fixturenames
            or "transactional_db" in item.fixturenames
            or (marker is not None and marker.kwargs.get("transaction"))
        )
        if transactional and not (marker is not None and marker.kwargs.get("serialized_rollback")):
            item.add_marker(
                pytest.mark.django_db(transaction=True, serialized_rollback=True), append=False
            )


class _CutsLast:
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        """Tests that cut every connection of the test database (marked `cuts_database`) run
        at the very end, after pytest-django's own ordering: the connections they kill belong
        to this process's pool, its live server and the CI worker, and the tests after them
        would inherit the damage."""
        items.sort(key=lambda item: item.get_closest_marker("cuts_database") is not None)


def pytest_configure(config):
    config.pluginmanager.register(_CutsLast(), "cuts-database-last")


@pytest.fixture(scope="session", autouse=True)
def _close_connection_pools_before_dropping_the_test_database(django_db_setup, django_db_blocker):
    # Torn down before django_db_setup: a pooled connection (live server thread) left open
    # would stop PostgreSQL from dropping the test database.
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for conn in connections.all():
            if getattr(conn, "pool", None) is not None:
                conn.close()
                conn.close_pool()


@pytest.fixture(autouse=True)
def _celery_in_process_unless_worker_test(request):
    """Tasks run in-process in tests, even when a broker is configured, so that a test sees
    their effect when its transaction "commits". Tests marked `worker` (transactional, with
    `requires_broker`) use the real broker and the worker that `.ci/run` starts."""
    from frt_crm.celery import app

    if request.node.get_closest_marker("worker"):
        yield
        return
    old = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = old


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness protects real passwords; tests create hundreds of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def agent(db):
    return UserFactory(username="agent", role=Role.AGENT, brands=["france2", "france3"])


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider", role=Role.AGENT, brands=["france5"])


@pytest.fixture
def mailroom(db):
    return UserFactory(username="mailroom", role=Role.MAILROOM, brands=["france2", "france3"])


@pytest.fixture
def srt(db):
    return UserFactory(username="srt", role=Role.SRT, brands=["france2"])


@pytest.fixture
def srt3(db):
    return UserFactory(username="srt3", role=Role.SRT, brands=["france3"])


@pytest.fixture
def mediator(db):
    return UserFactory(username="mediator", role=Role.MEDIATOR, all_brands=True)


@pytest.fixture
def manager(db):
    return UserFactory(username="manager", role=Role.MANAGER, all_brands=True)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", role=Role.ADMIN, all_brands=True)


@pytest.fixture
def personas(agent, outsider, mailroom, srt, srt3, mediator, manager, admin_user):
    return {
        "agent": agent,
        "outsider": outsider,
        "mailroom": mailroom,
        "srt": srt,
        "srt3": srt3,
        "mediator": mediator,
        "manager": manager,
        "admin": admin_user,
    }


@pytest.fixture
def browser():
    """One headless Chromium per test (Playwright), with the flags CI needs. The test fails at
    teardown on any Content-Security-Policy violation or uncaught JavaScript error of its pages
    (tests/browser.py `watch`)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, watch

    # Playwright's sync API runs an event loop in this thread; the ORM calls tests make
    # between browser steps are still plain synchronous calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        browser.problems = watch(browser)
        yield browser
        browser.close()
    if browser.problems:
        pytest.fail("the pages broke in the browser:\n" + "\n".join(browser.problems))


@pytest.fixture(autouse=True)
def _fresh_triage_configuration_cache():
    # The live policy, the classifier in use and the teams are cached per process; each test
    # sees its own database (a classifier one test put in use must not triage the next one's).
    from routing.services import reset_caches

    reset_caches()
    yield
    reset_caches()

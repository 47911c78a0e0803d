"""End to end, in headless Chromium: a manager opens each dashboard, clicks through a figure
and a chart's bar to the tickets behind them, exports a table and tries a cost simulation;
an agent is refused. Screenshots land in var/screenshots/reporting-*.png.

Elements are found by id, URL and structure rather than by their (translated) text.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from contacts import demo as contacts_demo
from reporting.demo import seed_activity
from reporting.services.rollups import rollup_rebuild
from tests.browser import SHOTS
from tests.browser import login as signin
from tests.factories import UserFactory
from tests.markers import requires_chromium

# Playwright's sync API runs an event loop in this thread; the ORM calls between browser
# steps stay plain synchronous calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [
    pytest.mark.e2e,
    requires_chromium,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TABS = [
    ("overview", "/dashboards/"),
    ("volumes", "/dashboards/volumes/?dimension=topic"),
    ("service", "/dashboards/service/"),
    ("satisfaction", "/dashboards/satisfaction/"),
    ("trends", "/dashboards/trends/"),
    ("cost", "/dashboards/cost/"),
]


def login(browser, live_server, user):
    context = browser.new_context(
        viewport={"width": 1366, "height": 900}, locale="fr-FR", accept_downloads=True
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    signin(page, live_server.url, user)
    return page


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"reporting-{name}.png"), full_page=True)


@pytest.fixture
def activity(db):
    """Half a year of demo tickets with calls, surveys and escalations, rolled up."""
    contacts_demo.seed(viewers=300, tickets=2500, years=1, seed=11)
    seed_activity(since=timezone.now() - timedelta(days=400), rng_seed=11)
    rollup_rebuild()


def test_manager_opens_each_dashboard_and_reaches_the_tickets_behind_figures(
    browser, live_server, activity
):
    manager = UserFactory(username="e2e-manager", role=Role.MANAGER, all_brands=True)
    page = login(browser, live_server, manager)
    for name, path in TABS:
        page.goto(f"{live_server.url}{path}")
        assert page.locator("h1").count() == 1
        # Every chart is an image with a title and a description, and a table follows it.
        for svg in page.locator("svg.chart-svg").all():
            assert svg.get_attribute("role") == "img"
            assert svg.locator("title").count() >= 1 and svg.locator("desc").count() == 1
        assert page.locator("section.report-table table.report").count() >= 1
        shot(page, name)

    # A key figure: the tickets of the period.
    page.goto(f"{live_server.url}/dashboards/")
    tile = page.locator(".kpi a.kpi-value").first
    expected = int("".join(ch for ch in tile.inner_text() if ch.isdigit()))
    tile.click()
    page.wait_for_url("**/dashboards/tickets/**")
    rows = page.locator("table.tickets tbody tr")
    assert rows.count() == min(expected, 50)
    shot(page, "tickets-from-tile")
    if expected > 50:
        page.locator("a[rel=next]").click()
        page.wait_for_load_state()
        assert page.locator("table.tickets tbody tr").count() >= 1

    # A bar of a chart: the tickets of that week and channel.
    page.goto(f"{live_server.url}/dashboards/volumes/")
    bar = page.locator("#t-volumes svg a").first
    href = bar.get_attribute("href")
    assert href and "/dashboards/tickets/" in href
    bar.click()
    page.wait_for_url("**/dashboards/tickets/**")
    assert page.locator("table.tickets tbody tr").count() >= 1
    shot(page, "tickets-from-chart")

    # A table cell on the service page: the late resolutions.
    page.goto(f"{live_server.url}/dashboards/service/")
    late = page.locator("#t-sla tfoot a").last
    late.click()
    page.wait_for_url("**metric=res_breached**")
    shot(page, "tickets-late")

    # An export downloads a spreadsheet.
    page.goto(f"{live_server.url}/dashboards/satisfaction/")
    with page.expect_download() as download:
        page.locator("#t-distribution .exports a[href*='.xlsx']").click()
    assert download.value.suggested_filename.endswith(".xlsx")

    # A what-if on the cost page.
    page.goto(f"{live_server.url}/dashboards/cost/")
    page.fill("#id_hourly_rate", "45")
    page.locator("form.what-if button[type=submit]").click()
    page.wait_for_url("**hourly_rate=45**")
    assert page.locator(".cost-intro .message").count() == 1
    shot(page, "cost-what-if")


def test_agent_is_refused_the_dashboards(browser, live_server, db):
    agent = UserFactory(username="e2e-agent", role=Role.AGENT, brands=["france2"])
    page = login(browser, live_server, agent)
    assert page.locator("a[href='/dashboards/']").count() == 0
    for path in ("/dashboards/", "/dashboards/cost/", "/dashboards/export/volumes/volumes.csv"):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 403
    shot(page, "agent-refused")

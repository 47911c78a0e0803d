"""In headless Chromium, every main page as each role it is for, and the public pages: the
Content-Security-Policy refuses nothing the page needs (no violation in the console, no uncaught
error: the `browser` fixture fails the test otherwise), and the page's own JavaScript still
works (htmx requests, the shortcuts overlay, the email's frame, the letter preview).

Pages are found by URL and ids rather than by their (translated) text.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from contacts import demo as contacts_demo
from contacts.models import Topic
from contacts.services.quarantine import quarantine_put
from mediation.services import case_open_from_escalation
from mediation.services.comment_requests import comment_request_token
from reporting.demo import seed_activity
from reporting.services.rollups import rollup_rebuild
from routing.models import PolicyVersion
from satisfaction import services as satisfaction
from tests.browser import login as browser_login
from tests.factories import TicketFactory, brand
from tests.markers import requires_chromium
from tests.security.helpers import letter_scan, public_objects
from tests.workspace.helpers import workspace_ticket

pytestmark = [
    pytest.mark.e2e,
    requires_chromium,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def login(browser, live_server, user):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="fr-FR")
    context.set_default_timeout(15_000)
    page = context.new_page()
    if user is not None:
        # Through the real pages, the second factor included for the roles that need one.
        browser_login(page, live_server.url, user)
    return page


def visit(browser, page, url: str, *, status: int = 200):
    """Open `url`, check its answer and that it was served with a nonce-based policy, and fail
    at once (naming the page) on a policy violation or a script error."""
    response = page.goto(url)
    page.wait_for_load_state("load")
    assert response.status == status, f"{url}: {response.status}"
    policy = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, f"{url}: {policy!r}"
    assert "'unsafe-inline'" not in policy, f"{url}: {policy!r}"
    page.wait_for_timeout(150)  # late violations (frames, deferred scripts) reach the console
    assert not browser.problems, f"{url}:\n" + "\n".join(browser.problems)
    return response


def htmx_request_after(page, action) -> None:
    """Run `action` and wait for the htmx request it must send."""
    with page.expect_request(lambda r: r.headers.get("hx-request") == "true"):
        action()


def test_staff_pages_work_under_the_policy_for_each_role(
    browser, live_server, agent, mailroom, srt, mediator, manager, admin_user
):
    base = live_server.url
    level1 = workspace_ticket(contacts=2)  # the first email is HTML: shown in its frame
    level2 = workspace_ticket(level=2, contacts=1)
    escalated = TicketFactory(
        level=3, topic=Topic.EDITORIAL_PROGRAMMES, brand=brand("france2"), subject="Scène"
    )
    case = case_open_from_escalation(ticket=escalated, by=srt, reason="Avis demandé.")
    quarantined, _created = quarantine_put(
        source="email", reason_code="unparseable", reason="Illisible.", data=b"\x00garbage"
    )

    # Agent: queue (shortcuts overlay), ticket (email frame, htmx preview), calls, viewers.
    page = login(browser, live_server, agent)
    visit(browser, page, f"{base}/queue/")
    page.keyboard.press("?")
    page.wait_for_selector("#ws-help:not([hidden])")
    page.keyboard.press("Escape")
    visit(browser, page, f"{base}/tickets/{level1.pk}/")
    frame = page.frame_locator("iframe.msg-html")
    assert "Message 0" in frame.locator("body").inner_text()
    page.fill("#reply-body", "Bonjour, la rediffusion est prévue jeudi.")
    htmx_request_after(page, lambda: page.click("#reply-preview-button"))
    page.wait_for_selector("#reply-preview .preview")
    # The letter preview: its own document, styled, in its sandboxed frame.
    page.check("input[name=channel][value=letter]")
    htmx_request_after(page, lambda: page.click("#reply-preview-button"))
    letter = page.frame_locator("#reply-preview iframe.letter-preview").locator(".sheet")
    assert "la rediffusion est prévue jeudi" in letter.inner_text()
    assert letter.evaluate("e => getComputedStyle(e).position") == "relative"  # its CSS applies
    page.wait_for_timeout(150)
    assert not browser.problems, "\n".join(browser.problems)
    visit(browser, page, f"{base}/calls/")
    htmx_request_after(page, lambda: page.fill("#q", "lefevre"))
    visit(browser, page, f"{base}/viewers/")
    htmx_request_after(page, lambda: page.fill("#viewer-q", "lefevre"))
    page.wait_for_selector("#viewer-results")
    visit(browser, page, f"{base}/viewers/{level1.viewer_id}/")
    page.context.close()

    # Mailroom: the letters desk, a letter's page with its PDF scan, and the print queue.
    page = login(browser, live_server, mailroom)
    visit(browser, page, f"{base}/mailroom/")
    scan = letter_scan(mailroom, "pdf")
    visit(browser, page, f"{base}/mailroom/letters/{scan.pk}/")
    assert page.locator("iframe.scan-view").count() == 1
    scan = letter_scan(mailroom, "png")
    visit(browser, page, f"{base}/mailroom/letters/{scan.pk}/")
    assert page.evaluate("document.querySelector('img.scan-view').naturalWidth") > 0
    visit(browser, page, f"{base}/letters/")
    page.context.close()

    # SRT: a level-2 ticket, the response templates.
    page = login(browser, live_server, srt)
    visit(browser, page, f"{base}/tickets/{level2.pk}/")
    visit(browser, page, f"{base}/templates/")
    page.context.close()

    # Mediator: the desk and a case file.
    page = login(browser, live_server, mediator)
    visit(browser, page, f"{base}/mediation/")
    visit(browser, page, f"{base}/mediation/cases/{case.pk}/")
    page.context.close()

    # Manager: the quarantine, the mediation overview.
    page = login(browser, live_server, manager)
    visit(browser, page, f"{base}/mediation/overview/")
    visit(browser, page, f"{base}/quarantine/")
    visit(browser, page, f"{base}/quarantine/{quarantined.pk}/")
    page.context.close()

    # Administrator: the admin site (its index, a change list, a change form), the API docs.
    page = login(browser, live_server, admin_user)
    visit(browser, page, f"{base}/admin/")
    visit(browser, page, f"{base}/admin/accounts/user/")
    visit(browser, page, f"{base}/admin/accounts/user/{agent.pk}/change/")
    visit(browser, page, f"{base}/admin/contacts/brand/{level1.brand_id}/change/")
    visit(browser, page, f"{base}/admin/replies/responsetemplate/add/")
    policy = PolicyVersion.objects.order_by("pk").first()
    visit(browser, page, f"{base}/admin/routing/policyversion/{policy.pk}/change/")
    visit(browser, page, f"{base}/admin/routing/policyversion/{policy.pk}/dry-run/")
    # The API's documentation: Swagger UI lists the operations, ReDoc renders the schema.
    visit(browser, page, f"{base}/api/docs/")
    page.wait_for_selector(".opblock", timeout=20_000)
    page.goto(f"{base}/api/redoc/")
    page.wait_for_selector("h1", timeout=20_000)
    page.wait_for_timeout(500)
    # ReDoc's "API docs by Redocly" badge always asks a CDN for its logo: refused on purpose
    # (no third-party origin), the one violation expected.
    refused = [p for p in browser.problems if "https://cdn.redoc.ly/" in p]
    assert refused, "ReDoc's badge should have been refused its remote logo"
    browser.problems[:] = [p for p in browser.problems if p not in refused]
    assert not browser.problems, "\n".join(browser.problems)
    page.context.close()


def test_dashboards_and_their_charts_work_under_the_policy(browser, live_server, manager):
    contacts_demo.seed(viewers=40, tickets=300, years=1, seed=5)
    seed_activity(since=timezone.now() - timedelta(days=400), rng_seed=5)
    rollup_rebuild()
    page = login(browser, live_server, manager)
    for path in (
        "/dashboards/",
        "/dashboards/volumes/?dimension=topic",
        "/dashboards/service/",
        "/dashboards/satisfaction/",
        "/dashboards/trends/",
        "/dashboards/cost/",
    ):
        visit(browser, page, f"{live_server.url}{path}")
    assert page.locator("svg.chart-svg").count() >= 1 or "/cost/" in page.url
    visit(browser, page, f"{live_server.url}/dashboards/volumes/")
    assert page.locator("svg.chart-svg").count() >= 1


def test_public_pages_work_under_the_policy(browser, live_server, mediator, srt):
    base = live_server.url
    shown = public_objects(srt=srt, mediator=mediator)
    case, opinion, request, survey = (
        shown["case"],
        shown["opinion"],
        shown["request"],
        shown["survey"],
    )

    page = login(browser, live_server, None)
    visit(browser, page, f"{base}/login/")
    # The web form; sent empty, its error summary takes the focus (no inline script).
    visit(browser, page, f"{base}/vous-et-nous/france2/")
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert not browser.problems, "\n".join(browser.problems)
    visit(browser, page, f"{base}/mediateur/france2/")
    visit(browser, page, f"{base}/mediateur/france2/{opinion.pk}-{opinion.slug}/")
    token = comment_request_token(request=request)
    visit(browser, page, f"{base}/mediateur/reponse/{case.reference}/{token}/")
    survey_path = f"/satisfaction/{satisfaction.survey_token(survey=survey)}/"
    visit(browser, page, f"{base}{survey_path}")
    visit(browser, page, f"{base}/no-such-page/", status=404)
    # The language picker submits itself (a listener in app.js, not an inline handler).
    visit(browser, page, f"{base}/login/")
    with page.expect_navigation():
        page.select_option("#lang-select", "en")
    assert re.search(r"<html lang=\"en\"", page.content())


def test_the_browser_fixture_records_violations_and_uncaught_errors(browser):
    """The net every browser test relies on: a refused inline script and an uncaught error are
    both recorded (and would fail the test at teardown)."""
    page = browser.new_context().new_page()
    body = (
        "<!DOCTYPE html><html><head>"
        "<script>document.title = 'inline ran';</script>"
        "<script nonce='n0nce'>throw new Error('boom');</script>"
        "</head><body><p>probe</p></body></html>"
    )
    page.route(
        "http://probe.test/",
        lambda route: route.fulfill(
            body=body,
            content_type="text/html",
            headers={"Content-Security-Policy": "script-src 'nonce-n0nce'"},
        ),
    )
    page.goto("http://probe.test/")
    page.wait_for_timeout(200)
    assert page.title() != "inline ran"
    assert any("Content Security Policy" in p for p in browser.problems), browser.problems
    assert any("boom" in p for p in browser.problems), browser.problems
    browser.problems.clear()  # expected here

"""The Content-Security-Policy of every HTML page, without a browser: the header is there, scripts
and styles come only from the site or with the request's nonce (never 'unsafe-inline'), nothing
from another origin, no framing; the page's own inline scripts and styles carry that nonce and it
has no inline handler or style attribute. The documented exceptions are tested as such: ReDoc,
a viewer's email in its frame, the letter preview."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from contacts.services.quarantine import quarantine_put
from mediation.services.comment_requests import comment_request_token
from satisfaction import services as satisfaction
from tests.security.helpers import letter_scan, public_objects
from tests.workspace.helpers import workspace_ticket

pytestmark = pytest.mark.django_db

NONCE_RE = re.compile(r"'nonce-([A-Za-z0-9+/=]+)'")
INLINE_ATTRIBUTE_RE = re.compile(r"<[a-zA-Z][^>]*\s(?:style|on[a-z]+)\s*=", re.S)
INLINE_ELEMENT_RE = re.compile(r"<(script|style)\b([^>]*)>", re.S)


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def check_page(response, *, nonce_required: bool = True) -> dict[str, list[str]]:
    """The page's policy is the strict one and the page keeps to it; returns its directives."""
    url = response.wsgi_request.get_full_path()
    assert response["Content-Type"].startswith("text/html"), url
    policy = response["Content-Security-Policy"]
    found = directives(policy)
    assert found["default-src"] == ["'self'"], url
    assert found["object-src"] == ["'none'"], url
    assert found["frame-ancestors"] == ["'none'"], url
    assert found["base-uri"] == ["'self'"] and found["form-action"] == ["'self'"], url
    assert "http:" not in policy and "https:" not in policy and "*" not in policy, url
    nonces = set(NONCE_RE.findall(policy))
    assert len(nonces) <= 1, url
    nonce = nonces.pop() if nonces else None
    if nonce_required:
        assert nonce, f"{url}: no nonce in {policy!r}"
    for name in ("script-src", "style-src"):
        allowed = {"'self'"} | ({f"'nonce-{nonce}'"} if nonce else set())
        assert set(found[name]) <= allowed, f"{url}: {name} {found[name]}"
    html = response.content.decode()
    offending = INLINE_ATTRIBUTE_RE.search(html)
    assert offending is None, f"{url}: inline attribute in {offending.group(0)[:200]!r}"
    for tag, attributes in INLINE_ELEMENT_RE.findall(html):
        is_data = tag == "script" and 'type="application/json"' in attributes
        if "src=" in attributes or is_data:
            continue
        assert nonce and f'nonce="{nonce}"' in attributes, f"{url}: <{tag}{attributes}> no nonce"
    return found


@pytest.fixture
def world(srt, mediator, mailroom):
    level1 = workspace_ticket(contacts=2)
    level2 = workspace_ticket(level=2, contacts=1)
    shown = public_objects(srt=srt, mediator=mediator)
    case, opinion, request, survey = (
        shown["case"],
        shown["opinion"],
        shown["request"],
        shown["survey"],
    )
    item, _created = quarantine_put(
        source="email", reason_code="unparseable", reason="Illisible.", data=b"\x00garbage"
    )
    return {
        "level1": level1,
        "level2": level2,
        "case": case,
        "opinion": opinion,
        "comment_path": reverse(
            "mediation:comment_answer",
            kwargs={"reference": case.reference, "token": comment_request_token(request=request)},
        ),
        "survey_path": reverse(
            "satisfaction:answer", args=[satisfaction.survey_token(survey=survey)]
        ),
        "quarantined": item,
        "pdf_scan": letter_scan(mailroom, "pdf"),
        "png_scan": letter_scan(mailroom, "png"),
    }


def pages(world, personas) -> list[tuple[str | None, str, int]]:
    """(persona, path, expected status) of the main HTML pages."""
    w = world
    opinion = w["opinion"]
    return [
        (None, "/login/", 200),
        (None, "/vous-et-nous/france2/", 200),
        (None, "/mediateur/france2/", 200),
        (None, f"/mediateur/france2/{opinion.pk}-{opinion.slug}/", 200),
        (None, w["comment_path"], 200),
        (None, w["survey_path"], 200),
        (None, "/no-such-page/", 404),
        (None, "/api/docs/", 200),
        ("agent", "/", 200),
        ("agent", "/queue/", 200),
        ("agent", f"/tickets/{w['level1'].pk}/", 200),
        ("agent", "/calls/", 200),
        ("agent", "/viewers/", 200),
        ("agent", f"/viewers/{w['level1'].viewer_id}/", 200),
        ("agent", "/dashboards/", 403),
        ("mailroom", "/mailroom/", 200),
        ("mailroom", "/letters/", 200),
        ("mailroom", f"/mailroom/letters/{w['pdf_scan'].pk}/", 200),
        ("mailroom", f"/mailroom/letters/{w['png_scan'].pk}/", 200),
        ("srt", f"/tickets/{w['level2'].pk}/", 200),
        ("srt", "/templates/", 200),
        ("srt", "/signatures/", 200),
        ("mediator", "/mediation/", 200),
        ("mediator", f"/mediation/cases/{w['case'].pk}/", 200),
        ("mediator", "/mediation/comments/", 200),
        ("manager", "/dashboards/", 200),
        ("manager", "/dashboards/volumes/", 200),
        ("manager", "/dashboards/service/", 200),
        ("manager", "/dashboards/satisfaction/", 200),
        ("manager", "/dashboards/trends/", 200),
        ("manager", "/dashboards/cost/", 200),
        ("manager", "/mediation/overview/", 200),
        ("manager", "/quarantine/", 200),
        ("manager", f"/quarantine/{w['quarantined'].pk}/", 200),
    ]


def test_every_main_page_has_the_strict_policy_with_a_nonce(client, personas, world):
    for persona, path, status in pages(world, personas):
        client.logout()
        if persona:
            client.force_login(personas[persona])
        response = client.get(path)
        assert response.status_code == status, f"{persona} {path}: {response.status_code}"
        check_page(response)


def test_admin_pages_have_the_strict_policy(client, admin_user, agent):
    # Django's admin has no inline script or style of its own to give a nonce to.
    client.force_login(admin_user)
    for path in (
        "/admin/",
        "/admin/accounts/user/",
        f"/admin/accounts/user/{agent.pk}/change/",
        "/admin/replies/responsetemplate/add/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        check_page(response, nonce_required=False)


def test_the_csrf_failure_page_has_the_strict_policy(db):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/login/", {"username": "x"})
    assert response.status_code == 403
    check_page(response)


def test_redoc_alone_may_use_inline_styles_and_a_blob_worker(client):
    response = client.get("/api/redoc/")
    assert response.status_code == 200
    found = directives(response["Content-Security-Policy"])
    assert found["style-src"] == ["'self'", "'unsafe-inline'"]
    assert found["worker-src"] == ["'self'", "blob:"]
    assert found["script-src"][0] == "'self'" and "'unsafe-inline'" not in found["script-src"]
    assert found["img-src"] == ["'self'", "data:"] and found["frame-ancestors"] == ["'none'"]
    assert "fonts.googleapis.com" not in response.content.decode()


def test_the_letter_preview_is_a_locked_down_document_for_its_author_only(client, agent, srt):
    ticket = workspace_ticket(contacts=1)
    client.force_login(agent)
    response = client.post(
        reverse("replies:preview", args=[ticket.pk]),
        {"channel": "letter", "subject": "Votre courrier", "body": "Madame, Monsieur,"},
    )
    assert response.status_code == 200
    frame_url = re.search(r'class="letter-preview"[^>]* src="([^"]+)"', response.content.decode())
    assert frame_url, response.content.decode()
    letter = client.get(frame_url.group(1))
    assert letter.status_code == 200
    assert "Madame, Monsieur," in letter.content.decode()
    found = directives(letter["Content-Security-Policy"])
    assert found["default-src"] == ["'none'"] and "sandbox" in found
    assert found["frame-ancestors"] == ["'self'"] and letter["X-Frame-Options"] == "SAMEORIGIN"
    client.force_login(srt)  # another user does not get it, even by its address
    assert client.get(frame_url.group(1)).status_code == 404


def test_a_letters_scan_may_be_framed_by_the_crm_and_shown_by_chromes_pdf_viewer(client, mailroom):
    scan = letter_scan(mailroom, "pdf")
    client.force_login(mailroom)
    response = client.get(reverse("contacts:mailroom_scan", args=[scan.pk]))
    assert response.status_code == 200 and response["X-Frame-Options"] == "SAMEORIGIN"
    found = directives(response["Content-Security-Policy"])
    assert found["default-src"] == ["'none'"] and found["frame-ancestors"] == ["'self'"]
    assert found["object-src"] == ["'self'"]  # Chrome's PDF viewer is an <embed> of the file


# Templates rendered only into PDF files (WeasyPrint), never served as pages.
PDF_SOURCES = frozenset({"privacy/access_file.html"})


def test_templates_carry_no_inline_script_style_or_handler():
    """Scripts go to static/js, styles to static/css. Emails and the PDF sources (letters, a
    viewer's access file) are not web pages; a viewer's email frame (contacts/contact_html.html)
    has its own policy."""
    root = Path(settings.BASE_DIR) / "templates"
    offending = []
    for path in root.rglob("*.html"):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(("emails/", "letters/")) or relative in PDF_SOURCES:
            continue
        text = path.read_text()
        if INLINE_ATTRIBUTE_RE.search(text):
            offending.append(f"{relative}: inline attribute")
        for tag, attributes in INLINE_ELEMENT_RE.findall(text):
            if "src=" not in attributes and "nonce=" not in attributes:
                offending.append(f"{relative}: <{tag}{attributes}>")
    assert offending == []

"""End to end, in headless Chromium: the mediator's path from an escalated ticket to a
published opinion and the answer to every viewer.

Pages are found by URL, form actions and field names rather than by their (translated) text.
Screenshots land in var/screenshots/ (git-ignored).
"""

import re

import pytest
from django.core import mail

from contacts.models import Channel, Contact, Direction, Status, Topic
from mediation.models import Case, OpinionStatus
from mediation.services import case_open_from_escalation
from tests.browser import SHOTS, login
from tests.factories import TicketFactory, ViewerFactory, brand
from tests.markers import requires_chromium

pytestmark = [
    pytest.mark.e2e,
    requires_chromium,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _login(browser, live_server, username):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="fr-FR")
    page = context.new_page()
    login(page, live_server.url, username)
    return page


def _shot(page, name):
    page.screenshot(path=str(SHOTS / f"mediation-{name}.png"), full_page=True)


def test_mediator_from_escalated_ticket_to_published_opinion(
    browser, live_server, mediator, news_mediator, srt
):
    escalated = TicketFactory(
        level=3,
        topic=Topic.EDITORIAL_PROGRAMMES,
        brand=brand("france2"),
        subject="Scène violente avant 22 h dans la série du mardi",
        status=Status.IN_PROGRESS,
        viewer=ViewerFactory(first_name="Paul", last_name="Quéméneur"),
    )
    also = TicketFactory(
        level=1,
        brand=brand("france2"),
        subject="Série du mardi : scène violente",
        viewer=ViewerFactory(
            first_name="Odette",
            last_name="Kerhervé",
            address_line1="3 rue des Lilas",
            postcode="29000",
            city="Quimper",
            email="odette@example.fr",
        ),
    )
    case = case_open_from_escalation(
        ticket=escalated,
        by=srt,
        reason="Paul Quéméneur trouve la scène choquante à cette heure et fait appel.",
    )

    # The desk shows the new escalation; the mediator opens the case.
    page = _login(browser, live_server, "mediator")
    page.goto(f"{live_server.url}/mediation/")
    _shot(page, "1-desk")
    page.click(f"#h-new ~ ul a[href='/mediation/cases/{case.pk}/']")
    page.wait_for_url(f"**/mediation/cases/{case.pk}/")

    # Gathers the other tickets about the broadcast.
    page.click(f"a[href='/mediation/cases/{case.pk}/tickets/']")
    page.fill("input[name=keywords]", "violente")
    page.fill("input[name=received_from]", "")
    page.fill("input[name=received_to]", "")
    page.click("form.med-search button[type=submit]")
    page.wait_for_selector("button[name=all_matching]")
    _shot(page, "2-gather")
    page.click("button[name=all_matching]")
    page.wait_for_url(f"**/mediation/cases/{case.pk}/**")
    assert set(case.tickets.all()) == {escalated, also}

    # A confidential note and a request for comment to the programme unit.
    page.fill("#notes textarea[name=body]", "Vérifier la signalétique avec l'unité fiction.")
    page.click("#notes button[type=submit]")
    page.wait_for_url("**#notes")
    page.click(f"a[href='/mediation/cases/{case.pk}/requests/new/']")
    page.fill("input[name=department]", "Unité fiction")
    page.fill("input[name=recipient_name]", "Marc Roux")
    page.fill("input[name=recipient_email]", "marc.roux@example.fr")
    page.fill("textarea[name=question]", "Pourquoi cette scène a-t-elle été diffusée avant 22 h ?")
    page.click("form.med-form button[type=submit]")
    page.wait_for_url("**#requests")

    # The producer answers through the link in the email, without an account.
    link = re.search(r"https?://\S+/mediateur/reponse/\S+", mail.outbox[-1].body).group(0)
    path = link.split("/mediateur/", 1)[1]
    outside = browser.new_context(viewport={"width": 1000, "height": 900}).new_page()
    outside.goto(f"{live_server.url}/mediateur/{path}")
    _shot(outside, "3-department-answer")
    outside.fill("textarea[name=answer]", "La signalétique -12 aurait dû être affichée. Erreur.")
    outside.click("form button[type=submit]")
    outside.wait_for_load_state()
    assert outside.goto(f"{live_server.url}/mediateur/{path}").status == 410  # works once

    # Drafts the opinion (prefilled with the answer) and sends it for review.
    page.goto(f"{live_server.url}/mediation/cases/{case.pk}/opinion/")
    assert "-12" in page.input_value("textarea[name=department_answer]")
    assert "Quéméneur" not in page.input_value("textarea[name=question]")
    page.fill("input[name=title]", "Une scène violente diffusée trop tôt")
    page.fill(
        "textarea[name=question]",
        "Des téléspectateurs s'étonnent qu'une scène violente soit diffusée avant 22 h.",
    )
    page.fill(
        "textarea[name=body]",
        "La signalétique était insuffisante. Le médiateur recommande plus de vigilance.",
    )
    _shot(page, "4-opinion-editor")
    page.click("form.med-form button[type=submit]")
    page.wait_for_url("**#opinion")
    page.click(f"form[action='/mediation/cases/{case.pk}/opinion/submit/'] button")
    page.wait_for_url("**#opinion")

    # The other mediator reviews and approves it from their desk.
    reviewer = _login(browser, live_server, "mediator-news")
    reviewer.goto(f"{live_server.url}/mediation/")
    reviewer.click(f"a[href='/mediation/cases/{case.pk}/opinion/review/']")
    reviewer.check("input[name=decision][value=approve]")
    _shot(reviewer, "5-review")
    reviewer.click("form.med-form button[type=submit]")
    reviewer.wait_for_url("**/mediation/")

    # The mediator publishes it and answers every viewer at once.
    page.goto(f"{live_server.url}/mediation/cases/{case.pk}/")
    page.click(f"form[action='/mediation/cases/{case.pk}/opinion/publish/'] button")
    page.wait_for_url("**#opinion")
    _shot(page, "6-case-published")
    page.click(f"a[href='/mediation/cases/{case.pk}/opinion/reply/']")
    page.fill("textarea[name=message]", "Merci de votre message.")
    page.click("form.med-form button.primary")
    page.wait_for_url("**#opinion")
    case.refresh_from_db()
    assert case.opinion.status == OpinionStatus.PUBLISHED
    replies = Contact.objects.filter(direction=Direction.OUTBOUND, ticket__in=[escalated, also])
    assert sorted(replies.values_list("channel", flat=True)) == [Channel.EMAIL, Channel.EMAIL]

    # The public page, with nobody's identity on it.
    public = browser.new_context(viewport={"width": 1000, "height": 900}).new_page()
    public.goto(f"{live_server.url}/mediateur/france2/")
    public.click("article.med-public-item h2 a")
    public.wait_for_load_state()
    _shot(public, "7-public-opinion")
    text = public.content()
    assert "Une scène violente diffusée trop tôt" in text
    assert "La signalétique -12 aurait dû être affichée." in text
    for identity in ["Quéméneur", "Kerhervé", "odette@example.fr"]:
        assert identity not in text
    assert Case.objects.get(pk=case.pk).is_open  # the outcome is the mediator's next step

"""From an escalated ticket to a published opinion and the answer to every viewer, through
the screens a mediator uses."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from contacts.models import Channel, Contact, DeliveryStatus, Direction, Outcome, Status, Topic
from mediation.models import (
    CaseEventKind,
    CaseOutcome,
    CaseStatus,
    CommentRequestStatus,
    OpinionReply,
    OpinionStatus,
)
from mediation.services import (
    case_open_from_escalation,
    comment_request_answer,
    comment_request_send,
    opinion_publish,
    opinion_review,
    opinion_save_draft,
    opinion_submit,
)
from tests.factories import TicketFactory, ViewerFactory, brand

pytestmark = pytest.mark.django_db


@pytest.fixture
def burst(srt, mediator):
    """One escalated ticket, and two more about the same broadcast: one from a viewer with no
    working email (a letter), one already answered elsewhere."""
    france2 = brand("france2")
    first = TicketFactory(
        level=3,
        topic=Topic.EDITORIAL_PROGRAMMES,
        brand=france2,
        subject="Scène violente avant 22 h",
        status=Status.IN_PROGRESS,
        viewer=ViewerFactory(first_name="Paul", last_name="Quéméneur"),
    )
    by_letter_viewer = ViewerFactory(
        first_name="Odette",
        last_name="Kerhervé",
        address_line1="3 rue des Lilas",
        city="Quimper",
        email="odette@example.fr",
    )
    by_letter_viewer.emails.update(is_failing=True)
    second = TicketFactory(
        level=1,
        topic=Topic.EDITORIAL_PROGRAMMES,
        brand=brand("france3-bretagne"),
        subject="Scène violente",
        status=Status.NEW,
        viewer=by_letter_viewer,
    )
    third = TicketFactory(level=1, brand=france2, subject="Scène violente", status=Status.TRIAGED)
    return [first, second, third]


def test_from_escalation_to_published_opinion_and_bulk_answer(
    client, srt, mediator, news_mediator, burst, django_capture_on_commit_callbacks
):
    first, second, third = burst
    case = case_open_from_escalation(
        ticket=first, by=srt, reason="Paul Quéméneur demande l'avis du médiateur."
    )
    assert case.mediator == mediator
    client.force_login(mediator)

    # The mediator gathers the other tickets about the broadcast, from a search.
    response = client.post(
        reverse("mediation:case_tickets", args=[case.pk]),
        {"keywords": "violente", "all_matching": "1"},
    )
    assert response.status_code == 302
    assert case.links.count() == 3

    # Asks the programme unit for comment; the producer answers through the link.
    with django_capture_on_commit_callbacks(execute=True):
        rfc = comment_request_send(
            case=case,
            by=mediator,
            department="Unité fiction",
            recipient_name="Marc Roux",
            recipient_email="marc.roux@example.fr",
            question="Pourquoi cette scène avant 22 h ?",
        )
    comment_request_answer(
        request=rfc, answer="La signalétique aurait dû être -12.", answered_by_name="Marc Roux"
    )
    assert rfc.status == CommentRequestStatus.ANSWERED

    # Drafts the opinion: the form is prefilled with the department's answer and the
    # complaint with the viewer's name removed.
    page = client.get(reverse("mediation:opinion_edit", args=[case.pk]))
    initial = page.context["form"].initial
    assert "Quéméneur" not in initial["question"]
    assert "-12" in initial["department_answer"]
    client.post(
        reverse("mediation:opinion_edit", args=[case.pk]),
        {
            "title": "Une scène violente diffusée trop tôt",
            "question": "Des téléspectateurs s'étonnent d'une scène violente avant 22 h.",
            "department_answer": initial["department_answer"],
            "body": "La signalétique était insuffisante. Le médiateur le regrette.",
        },
    )
    opinion = case.opinion
    assert opinion.status == OpinionStatus.DRAFT
    client.post(reverse("mediation:opinion_submit", args=[case.pk]))
    opinion.refresh_from_db()
    assert opinion.status == OpinionStatus.IN_REVIEW

    # The author cannot approve it; the other mediator does.
    assert (
        client.post(
            reverse("mediation:opinion_review", args=[case.pk]), {"decision": "approve"}
        ).status_code
        == 403
    )
    client.force_login(news_mediator)
    client.post(reverse("mediation:opinion_review", args=[case.pk]), {"decision": "approve"})
    opinion.refresh_from_db()
    assert opinion.status == OpinionStatus.APPROVED
    assert opinion.reviewed_by == news_mediator

    # Published on France 2's public page, and in its feed.
    client.force_login(mediator)
    client.post(reverse("mediation:opinion_publish", args=[case.pk]))
    opinion.refresh_from_db()
    assert opinion.status == OpinionStatus.PUBLISHED
    assert opinion.brand.code == "france2"
    client.logout()
    listing = client.get(reverse("mediation:public_list", args=["france2"]))
    assert "Une scène violente diffusée trop tôt" in listing.content.decode()
    public = client.get(
        reverse("mediation:public_opinion", args=["france2", opinion.pk, opinion.slug])
    ).content.decode()
    assert "La signalétique aurait dû être -12." in public
    for identity in ["Quéméneur", "Kerhervé", "odette@example.fr"]:
        assert identity not in public
    found = client.get(reverse("mediation:public_list", args=["france2"]), {"q": "signaletique"})
    assert "Une scène violente" in found.content.decode()
    assert (
        "Une scène violente"
        not in client.get(
            reverse("mediation:public_list", args=["france2"]), {"q": "football"}
        ).content.decode()
    )
    feed = client.get(reverse("mediation:public_rss", args=["france2"]))
    assert feed.status_code == 200
    assert "Une scène violente diffusée trop tôt" in feed.content.decode()
    assert client.get(reverse("mediation:public_atom", args=["france2"])).status_code == 200

    # Answers every viewer at once: emails where they have a working address, else letters.
    client.force_login(mediator)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("mediation:opinion_reply", args=[case.pk]),
            {"message": "Merci de nous avoir écrit."},
        )
    assert response.status_code == 302
    replies = Contact.objects.filter(direction=Direction.OUTBOUND).order_by("ticket_id")
    assert replies.count() == 3
    by_ticket = {c.ticket_id: c for c in replies}
    assert by_ticket[first.pk].channel == Channel.EMAIL
    assert by_ticket[first.pk].delivery_status == DeliveryStatus.SENT
    assert by_ticket[second.pk].channel == Channel.LETTER
    assert by_ticket[second.pk].delivery_status == DeliveryStatus.TO_PRINT
    assert "Kerhervé" in by_ticket[second.pk].body_text  # the letter is addressed to her
    assert len(mail.outbox) == 2
    sent = {m.to[0]: m for m in mail.outbox}
    to_first = sent[first.viewer.emails.get().email]
    assert first.reference in to_first.subject
    assert to_first.extra_headers["Message-ID"].strip("<>") == by_ticket[first.pk].message_id
    assert "Merci de nous avoir écrit." in to_first.body
    assert re.search(rf"/mediateur/france2/{opinion.pk}-", to_first.body)
    for ticket in burst:
        ticket.refresh_from_db()
        assert ticket.status == Status.RESOLVED
        assert ticket.outcome == Outcome.MEDIATION
    assert case.events.filter(kind=CaseEventKind.REPLIED).exists()

    # Running it again answers nobody twice.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("mediation:opinion_reply", args=[case.pk]), {"message": ""})
    assert Contact.objects.filter(direction=Direction.OUTBOUND).count() == 3
    assert OpinionReply.objects.count() == 3
    assert len(mail.outbox) == 2

    # The case closes only with an outcome.
    client.post(reverse("mediation:case_close", args=[case.pk]), {"outcome": ""})
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    client.post(reverse("mediation:case_close", args=[case.pk]), {"outcome": "partly_upheld"})
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert case.outcome == CaseOutcome.PARTLY_UPHELD


def test_publication_is_refused_while_the_text_names_a_viewer(case, mediator, news_mediator):
    viewer = case.tickets.get().viewer
    opinion = opinion_save_draft(
        case=case,
        by=mediator,
        title="Avis",
        question=f"{viewer.first_name} {viewer.last_name} se plaint d'une scène.",
        department_answer="",
        body="Le médiateur comprend.",
    )
    opinion_submit(opinion=opinion, by=mediator)
    opinion_review(opinion=opinion, by=news_mediator, approve=True)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        opinion_publish(opinion=opinion, by=mediator)
    assert viewer.last_name in str(exc.value)
    opinion.refresh_from_db()
    assert opinion.status == OpinionStatus.APPROVED


def test_a_common_word_that_is_also_a_surname_does_not_block_publication(
    mediator, news_mediator, srt
):
    ticket = TicketFactory(
        level=3, topic=Topic.EDITORIAL_NEWS, viewer=ViewerFactory(last_name="Blanc")
    )
    case = case_open_from_escalation(ticket=ticket, by=srt, reason="")
    opinion = opinion_save_draft(
        case=case,
        by=news_mediator,
        title="Un écran blanc pendant le journal",
        question="Un écran blanc est resté affiché.",
        department_answer="",
        body="Incident technique.",
    )
    opinion_submit(opinion=opinion, by=news_mediator)
    opinion_review(opinion=opinion, by=mediator, approve=True)
    assert opinion_publish(opinion=opinion, by=news_mediator).is_published


def test_editing_an_approved_opinion_needs_a_new_review(case, mediator, news_mediator):
    fields = {"title": "Avis", "question": "Q ?", "department_answer": "", "body": "B."}
    opinion = opinion_save_draft(case=case, by=mediator, **fields)
    opinion_submit(opinion=opinion, by=mediator)
    opinion_review(opinion=opinion, by=news_mediator, approve=True)
    opinion = opinion_save_draft(case=case, by=mediator, **{**fields, "body": "Autre."})
    assert opinion.status == OpinionStatus.DRAFT
    assert opinion.reviewed_by is None

"""The mediation screens: a fixed number of queries whatever the volume, gathering hundreds of
tickets at once, evidence, reassignment, the desk's escalations."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent
from contacts.models import Programme, Topic
from mediation.models import Case, CaseEventKind, CaseTicket, EvidenceKind
from mediation.services import (
    case_attach_tickets,
    comment_request_send,
    confidential_note_add,
    evidence_add,
)
from tests.factories import TicketFactory, brand

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def _fill(case, mediator, n_tickets):
    tickets = [TicketFactory(level=1, brand=brand("france2")) for _ in range(n_tickets)]
    case_attach_tickets(case=case, ticket_ids=[t.pk for t in tickets], by=mediator)
    confidential_note_add(case=case, author=mediator, body="Note")
    evidence_add(case=case, by=mediator, kind=EvidenceKind.LINK, label="Replay", url="https://x.fr")
    comment_request_send(
        case=case,
        by=mediator,
        department="Rédaction",
        recipient_name="A",
        recipient_email="a@example.fr",
        question="?",
    )


def test_case_page_queries_do_not_grow_with_tickets(
    client, case, mediator, django_assert_num_queries, django_capture_on_commit_callbacks
):
    _fill(case, mediator, 3)
    client.force_login(mediator)
    client.get(reverse("mediation:case", args=[case.pk]))  # warm the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        client.get(reverse("mediation:case", args=[case.pk]))
    more = [TicketFactory(level=1, brand=brand("france2")) for _ in range(40)]
    case_attach_tickets(case=case, ticket_ids=[t.pk for t in more], by=mediator)
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(reverse("mediation:case", args=[case.pk]))


def test_desk_queries_do_not_grow_with_cases(client, mediator, srt, django_assert_num_queries):
    from mediation.services import case_open_from_escalation

    client.force_login(mediator)
    client.get(reverse("mediation:desk"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    case_open_from_escalation(ticket=TicketFactory(level=3), by=srt, reason="")
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("mediation:desk"))
    for _ in range(15):
        case_open_from_escalation(ticket=TicketFactory(level=3), by=srt, reason="")
    TicketFactory(level=3, topic=Topic.EDITORIAL_NEWS)  # a level-3 ticket in no case
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(reverse("mediation:desk"))
    assert len(response.context["desk"].open_cases) == 16
    assert len(response.context["desk"].unfiled_tickets) == 1


def test_hundreds_of_tickets_gathered_from_a_search_by_programme_and_air_date(
    client, case, mediator
):
    programme = Programme.objects.filter(brand__code="france2").first()
    aired = datetime(2026, 2, 10, 21, 0, tzinfo=PARIS)
    matching = [
        TicketFactory(level=1, brand=brand("france2"), programme=programme, created_at=aired)
        for _ in range(250)
    ]
    TicketFactory(
        level=1,
        brand=brand("france2"),
        programme=programme,
        created_at=datetime(2026, 1, 5, tzinfo=PARIS),
    )  # before the broadcast
    TicketFactory(level=1, brand=brand("france5"), created_at=aired)  # another programme
    client.force_login(mediator)
    search = {
        "programme": programme.pk,
        "received_from": "2026-02-10",
        "received_to": "2026-02-24",
    }
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("mediation:case_tickets", args=[case.pk]), search)
    assert page.context["total"] == 250
    # The search is counted once (the count of a big search is its slowest query).
    counts = [q for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(")]
    assert len(counts) == 1, counts
    client.post(reverse("mediation:case_tickets", args=[case.pk]), {**search, "all_matching": "1"})
    assert case.links.count() == 251  # the escalated ticket and the 250
    assert set(matching) <= set(case.tickets.all())
    event = case.events.get(kind=CaseEventKind.TICKETS)
    assert event.data == {"count": 250}
    assert AuditEvent.objects.filter(action="mediation.case.attach").count() == 1
    # The case page shows the first 200 and the total.
    response = client.get(reverse("mediation:case", args=[case.pk]))
    assert response.context["ticket_count"] == 251
    assert len(response.context["links"]) == 200


def test_ticked_tickets_are_attached_and_a_ticket_stays_in_one_open_case(
    client, case, mediator, srt
):
    from mediation.services import case_open_from_escalation

    other_case = case_open_from_escalation(
        ticket=TicketFactory(level=3, brand=brand("france2")), by=srt, reason=""
    )
    free = TicketFactory(level=1, brand=brand("france2"))
    taken = other_case.tickets.get()
    client.force_login(mediator)
    client.post(reverse("mediation:case_tickets", args=[case.pk]), {"ticket": [free.pk, taken.pk]})
    assert set(case.tickets.all()) == {case.links.first().ticket, free}
    assert CaseTicket.objects.filter(ticket=taken).count() == 1


def test_evidence_with_a_file_and_a_time_code(client, case, mediator, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(mediator)
    client.post(
        reverse("mediation:evidence_add", args=[case.pk]),
        {"kind": "timecode", "label": "La scène", "timecode": "00:42:10"},
    )
    client.post(
        reverse("mediation:evidence_add", args=[case.pk]),
        {
            "kind": "file",
            "label": "Conducteur",
            "file": SimpleUploadedFile("conducteur.pdf", b"%PDF-1.4", "application/pdf"),
        },
    )
    kinds = sorted(case.evidence.values_list("kind", flat=True))
    assert kinds == ["file", "timecode"]
    page = client.get(reverse("mediation:case", args=[case.pk])).content.decode()
    assert "00:42:10" in page
    document = case.evidence.get(kind="file")
    url = reverse("mediation:evidence_file", args=[case.pk, document.pk])
    assert url in page
    assert b"".join(client.get(url).streaming_content) == b"%PDF-1.4"
    assert AuditEvent.objects.filter(action="mediation.evidence.read").count() == 1


def test_the_case_is_reassigned_to_the_other_mediator(
    client, case, mediator, news_mediator, manager
):
    client.force_login(mediator)
    client.post(reverse("mediation:case_assign", args=[case.pk]), {"mediator": news_mediator.pk})
    case.refresh_from_db()
    assert case.mediator == news_mediator
    assert case.events.filter(kind=CaseEventKind.ASSIGNED).exists()
    # Only to a mediator.
    client.post(reverse("mediation:case_assign", args=[case.pk]), {"mediator": manager.pk})
    case.refresh_from_db()
    assert case.mediator == news_mediator


def test_a_mediator_opens_a_case_for_a_level_3_ticket_from_the_desk(client, mediator):
    ticket = TicketFactory(level=3, topic=Topic.EDITORIAL_PROGRAMMES)
    client.force_login(mediator)
    response = client.post(reverse("mediation:ticket_open_case", args=[ticket.pk]))
    case = Case.objects.get(links__ticket=ticket)
    assert response["Location"] == reverse("mediation:case", args=[case.pk])


def test_a_mediator_opens_a_case_directly(client, mediator, news_mediator):
    client.force_login(mediator)
    response = client.post(
        reverse("mediation:case_new"),
        {
            "title": "Couverture des élections régionales",
            "desk": "news",
            "brand": brand("france3").pk,
            "air_date": "2026-03-15",
            "topic": "editorial_news",
            "summary": "Plusieurs courriers dénoncent un déséquilibre.",
        },
    )
    case = Case.objects.get(title="Couverture des élections régionales")
    assert response.status_code == 302
    assert case.mediator == news_mediator
    assert case.air_date == date(2026, 3, 15)
    assert case.origin == "mediator"


def test_managers_overview_lists_opinions_waiting_for_their_review(client, case, mediator, manager):
    from mediation.services import opinion_save_draft, opinion_submit

    opinion = opinion_save_draft(
        case=case, by=mediator, title="Avis à relire", question="Q", department_answer="", body="B"
    )
    opinion_submit(opinion=opinion, by=mediator)
    client.force_login(manager)
    page = client.get(reverse("mediation:overview"))
    assert page.status_code == 200
    assert "Avis à relire" in page.content.decode()
    client.force_login(mediator)
    assert client.get(reverse("mediation:overview")).status_code == 403


def test_evidence_files_are_served_to_case_readers_only(
    client, case, mediator, personas, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    document = evidence_add(
        case=case,
        by=mediator,
        kind=EvidenceKind.FILE,
        label="Conducteur",
        file=SimpleUploadedFile("conducteur.pdf", b"%PDF-1.4", "application/pdf"),
    )
    url = reverse("mediation:evidence_file", args=[case.pk, document.pk])
    for role in ["agent", "srt", "admin"]:
        client.force_login(personas[role])
        assert client.get(url).status_code == 404, role
    client.force_login(personas["manager"])
    assert client.get(url).status_code == 200


def test_a_regional_station_page_leads_to_its_national_brand(client):
    response = client.get(reverse("mediation:public_list", args=["france3-bretagne"]))
    assert response.status_code == 302
    assert response["Location"] == reverse("mediation:public_list", args=["france3"])


def _reviewers_line(client, case):
    html = client.get(reverse("mediation:opinion_review", args=[case.pk])).content.decode()
    return html.split('id="reviewers">')[1].split("</p>")[0]


def test_the_review_page_says_who_must_review_the_opinion(
    client, case, mediator, news_mediator, manager
):
    from mediation.services import opinion_review, opinion_save_draft, opinion_submit

    opinion = opinion_save_draft(
        case=case, by=mediator, title="Avis à relire", question="Q", department_answer="", body="B"
    )
    opinion_submit(opinion=opinion, by=mediator)
    client.force_login(manager)
    line = _reviewers_line(client, case)
    # The other mediator is named as reviewer; the author only as the one who may not review.
    assert str(news_mediator) in line and str(mediator) in line
    assert line.index(str(news_mediator)) < line.index(str(mediator))
    assert line.count(str(mediator)) == 1
    client.force_login(news_mediator)
    assert str(news_mediator) in _reviewers_line(client, case)
    # Once reviewed, the page says by whom.
    opinion_review(opinion=opinion, by=news_mediator, approve=True)
    client.force_login(manager)
    line = _reviewers_line(client, case)
    assert str(news_mediator) in line and str(mediator) not in line


def test_with_no_other_mediator_the_review_page_names_the_managers(client, case, mediator, manager):
    from mediation.services import opinion_save_draft, opinion_submit

    opinion = opinion_save_draft(
        case=case, by=mediator, title="Avis", question="Q", department_answer="", body="B"
    )
    opinion_submit(opinion=opinion, by=mediator)
    client.force_login(manager)
    line = _reviewers_line(client, case)
    assert line.count(str(mediator)) == 1  # as the author who may not review
    assert "manager" in line or "responsable" in line

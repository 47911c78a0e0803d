"""Requests for comment: a one-time signed link, for its case only, that expires; the answer
filed in the case; a reminder before the deadline; late requests on the desk."""

import re
from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from contacts.models import Topic
from mediation.models import CaseEventKind, CommentRequest, CommentRequestStatus
from mediation.services import (
    LinkExpired,
    LinkInvalid,
    LinkUsed,
    case_open_from_escalation,
    comment_request_cancel,
    comment_request_for_link,
    comment_request_send,
    comment_request_token,
)
from mediation.tasks import remind_comment_requests
from tests.factories import TicketFactory, brand

pytestmark = pytest.mark.django_db


def _send(case, mediator, django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return comment_request_send(
            case=case,
            by=mediator,
            department=kwargs.pop("department", "Direction de l'information"),
            recipient_name="Claire Dubois",
            recipient_email="claire.dubois@example.fr",
            question="Pourquoi ces images ont-elles été diffusées sans avertissement ?",
            **kwargs,
        )


def _link_path(message) -> str:
    return re.search(r"https?://[^/\s]+(/mediateur/reponse/\S+)", message.body).group(1)


def test_the_department_gets_an_email_with_its_link(
    case, mediator, django_capture_on_commit_callbacks
):
    rfc = _send(case, mediator, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["claire.dubois@example.fr"]
    assert case.reference in message.subject
    assert _link_path(message) == reverse(
        "mediation:comment_answer",
        kwargs={"reference": case.reference, "token": comment_request_token(request=rfc)},
    )


def test_the_link_works_once_and_the_answer_is_filed_in_the_case(
    client, case, mediator, django_capture_on_commit_callbacks
):
    rfc = _send(case, mediator, django_capture_on_commit_callbacks)
    path = _link_path(mail.outbox[0])
    page = client.get(path)
    assert page.status_code == 200
    assert "sans avertissement" in page.content.decode()
    response = client.post(
        path, {"answered_by_name": "Claire Dubois, rédactrice en chef", "answer": "Une erreur."}
    )
    assert response.status_code == 200
    rfc.refresh_from_db()
    assert rfc.status == CommentRequestStatus.ANSWERED
    assert rfc.answer == "Une erreur."
    assert case.events.filter(kind=CaseEventKind.RFC_ANSWERED).exists()
    # Second use: refused, and nothing changes.
    assert client.get(path).status_code == 410
    again = client.post(path, {"answered_by_name": "Quelqu'un", "answer": "Autre chose."})
    assert again.status_code == 410
    rfc.refresh_from_db()
    assert rfc.answer == "Une erreur."


def test_the_link_works_for_its_case_only(
    client, case, mediator, srt, django_capture_on_commit_callbacks
):
    rfc = _send(case, mediator, django_capture_on_commit_callbacks)
    other = case_open_from_escalation(
        ticket=TicketFactory(level=3, topic=Topic.EDITORIAL_NEWS, brand=brand("france3")),
        by=srt,
        reason="",
    )
    token = comment_request_token(request=rfc)
    with pytest.raises(LinkInvalid):
        comment_request_for_link(reference=other.reference, token=token)
    url = reverse("mediation:comment_answer", kwargs={"reference": other.reference, "token": token})
    assert client.get(url).status_code == 404
    assert client.post(url, {"answered_by_name": "X", "answer": "Y"}).status_code == 404
    rfc.refresh_from_db()
    assert rfc.status == CommentRequestStatus.SENT


def test_a_forged_or_tampered_link_is_refused(case, mediator, django_capture_on_commit_callbacks):
    rfc = _send(case, mediator, django_capture_on_commit_callbacks)
    token = comment_request_token(request=rfc)
    for bad in [token[:-2] + "xx", "nonsense", token.replace(":", "", 1)]:
        with pytest.raises(LinkInvalid):
            comment_request_for_link(reference=case.reference, token=bad)


def test_the_link_expires(client, case, mediator, django_capture_on_commit_callbacks):
    rfc = _send(case, mediator, django_capture_on_commit_callbacks)
    path = _link_path(mail.outbox[0])
    with time_machine.travel(rfc.expires_at + timedelta(seconds=1)):
        with pytest.raises(LinkExpired):
            comment_request_for_link(
                reference=case.reference, token=comment_request_token(request=rfc)
            )
        assert client.get(path).status_code == 410
        assert client.post(path, {"answered_by_name": "X", "answer": "Y"}).status_code == 410
    rfc.refresh_from_db()
    assert rfc.status == CommentRequestStatus.SENT


def test_a_cancelled_request_link_stops_working(case, mediator, django_capture_on_commit_callbacks):
    rfc = _send(case, mediator, django_capture_on_commit_callbacks)
    comment_request_cancel(request=rfc, by=mediator)
    with pytest.raises(LinkInvalid):
        comment_request_for_link(reference=case.reference, token=comment_request_token(request=rfc))


def test_used_link_raises_link_used(case, mediator, django_capture_on_commit_callbacks):
    from mediation.services import comment_request_answer

    rfc = _send(case, mediator, django_capture_on_commit_callbacks)
    comment_request_answer(request=rfc, answer="Oui.", answered_by_name="C. D.")
    with pytest.raises(LinkUsed):
        comment_request_for_link(reference=case.reference, token=comment_request_token(request=rfc))
    with pytest.raises(LinkUsed):
        comment_request_answer(request=rfc, answer="Encore.", answered_by_name="C. D.")


@time_machine.travel("2026-03-02 09:00 +0100", tick=False)
def test_one_reminder_two_working_days_before_the_deadline(
    case, mediator, django_capture_on_commit_callbacks
):
    rfc = _send(case, mediator, django_capture_on_commit_callbacks, due_on=date(2026, 3, 6))
    first_link = _link_path(mail.outbox[0])
    mail.outbox.clear()
    # Monday: the deadline (Friday) is more than two working days away.
    assert remind_comment_requests() == 0
    with time_machine.travel("2026-03-04 08:30 +0100", tick=False):  # Wednesday
        with django_capture_on_commit_callbacks(execute=True):
            assert remind_comment_requests() == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert remind_comment_requests() == 0  # never twice
    assert len(mail.outbox) == 1
    assert _link_path(mail.outbox[0]) == first_link  # the same link, still valid
    rfc.refresh_from_db()
    assert rfc.reminder_sent_at is not None
    assert case.events.filter(kind=CaseEventKind.RFC_REMINDED).count() == 1


def test_late_requests_are_flagged_on_the_desk(
    client, case, mediator, django_capture_on_commit_callbacks
):
    rfc = _send(case, mediator, django_capture_on_commit_callbacks, department="Unité fiction")
    CommentRequest.objects.filter(pk=rfc.pk).update(due_on=timezone.localdate() - timedelta(days=1))
    client.force_login(mediator)
    response = client.get(reverse("mediation:desk"))
    assert response.context["desk"].late_requests == 1
    assert "med-late-row" in response.content.decode()
    assert "Unité fiction" in response.content.decode()

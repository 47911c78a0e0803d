"""Viewers' comments on a published opinion: email check, pre-moderation, rate limit."""

import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from mediation.models import CommentStatus, Opinion, OpinionComment, OpinionStatus
from mediation.services.opinions import COMMENTS_PER_IP_PER_HOUR

pytestmark = pytest.mark.django_db


@pytest.fixture
def opinion(case, mediator):
    return Opinion.objects.create(
        case=case,
        title="Une scène violente diffusée trop tôt",
        slug="une-scene-violente",
        question="Q",
        body="B",
        author=mediator,
        status=OpinionStatus.PUBLISHED,
        published_at=timezone.now(),
        brand=case.brand,
    )


def _url(opinion):
    return reverse("mediation:public_opinion", args=["france2", opinion.pk, opinion.slug])


def _post(client, opinion, capture, body="Je partage cet avis.", ip="203.0.113.7"):
    with capture(execute=True):
        return client.post(
            _url(opinion),
            {"author_name": "Jean", "email": "jean@example.fr", "body": body},
            REMOTE_ADDR=ip,
        )


def _confirm_path(message) -> str:
    return re.search(r"https?://[^/\s]+(/mediateur/commentaire/confirmer/\S+)", message.body).group(
        1
    )


def test_a_comment_appears_only_after_email_check_and_approval(
    client, opinion, mediator, django_capture_on_commit_callbacks
):
    response = _post(client, opinion, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    comment = OpinionComment.objects.get()
    assert comment.status == CommentStatus.UNCONFIRMED
    assert mail.outbox[0].to == ["jean@example.fr"]

    # Unconfirmed comments are not in the moderation queue.
    client.force_login(mediator)
    assert client.get(reverse("mediation:comments")).context["comments"] == []
    client.logout()

    path = _confirm_path(mail.outbox[0])
    assert client.get(path).status_code == 200
    comment.refresh_from_db()
    assert comment.status == CommentStatus.PENDING
    assert client.get(path).status_code == 404  # the link works once
    assert "Je partage cet avis." not in client.get(_url(opinion)).content.decode()

    client.force_login(mediator)
    assert client.get(reverse("mediation:comments")).context["comments"] == [comment]
    client.post(reverse("mediation:comment_moderate", args=[comment.pk]), {"decision": "approve"})
    client.logout()
    comment.refresh_from_db()
    assert comment.status == CommentStatus.APPROVED
    assert comment.moderated_by == mediator
    assert "Je partage cet avis." in client.get(_url(opinion)).content.decode()


def test_rejection_needs_a_reason_and_keeps_the_comment_off_the_page(
    client, opinion, mediator, django_capture_on_commit_callbacks
):
    _post(client, opinion, django_capture_on_commit_callbacks, body="Propos injurieux.")
    client.get(_confirm_path(mail.outbox[0]))
    comment = OpinionComment.objects.get()
    client.force_login(mediator)
    url = reverse("mediation:comment_moderate", args=[comment.pk])
    client.post(url, {"decision": "reject", "reason": ""})
    comment.refresh_from_db()
    assert comment.status == CommentStatus.PENDING
    client.post(url, {"decision": "reject", "reason": "Propos injurieux"})
    comment.refresh_from_db()
    assert comment.status == CommentStatus.REJECTED
    assert comment.rejection_reason == "Propos injurieux"
    client.logout()
    assert "Propos injurieux." not in client.get(_url(opinion)).content.decode()


def test_only_mediators_moderate(client, opinion, personas, django_capture_on_commit_callbacks):
    _post(client, opinion, django_capture_on_commit_callbacks)
    client.get(_confirm_path(mail.outbox[0]))
    comment = OpinionComment.objects.get()
    for role in ["agent", "srt", "manager", "admin"]:
        client.force_login(personas[role])
        response = client.post(
            reverse("mediation:comment_moderate", args=[comment.pk]), {"decision": "approve"}
        )
        assert response.status_code == 403, role
    comment.refresh_from_db()
    assert comment.status == CommentStatus.PENDING


def test_comments_are_rate_limited_per_address(client, opinion, django_capture_on_commit_callbacks):
    for _ in range(COMMENTS_PER_IP_PER_HOUR):
        assert _post(client, opinion, django_capture_on_commit_callbacks).status_code == 200
    assert _post(client, opinion, django_capture_on_commit_callbacks).status_code == 429
    assert OpinionComment.objects.count() == COMMENTS_PER_IP_PER_HOUR
    # Another address is not affected.
    assert (
        _post(client, opinion, django_capture_on_commit_callbacks, ip="198.51.100.2").status_code
        == 200
    )


def test_the_confirmation_link_expires(client, opinion, django_capture_on_commit_callbacks):
    _post(client, opinion, django_capture_on_commit_callbacks)
    path = _confirm_path(mail.outbox[0])
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=49)):
        assert client.get(path).status_code == 404
    assert OpinionComment.objects.get().status == CommentStatus.UNCONFIRMED


def test_robots_filling_the_hidden_field_leave_nothing(client, opinion):
    response = client.post(
        _url(opinion),
        {"author_name": "Bot", "email": "bot@example.com", "body": "Spam", "website": "x"},
    )
    assert response.status_code == 200
    assert OpinionComment.objects.count() == 0


def test_no_comments_on_an_unpublished_opinion(client, opinion):
    Opinion.objects.filter(pk=opinion.pk).update(status=OpinionStatus.APPROVED)
    response = client.post(
        _url(opinion), {"author_name": "Jean", "email": "jean@example.fr", "body": "Hm"}
    )
    assert response.status_code == 404

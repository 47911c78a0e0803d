"""The satisfaction survey: one question after resolution, answered once.

A viewer who consented to surveys and has a working email address gets a link signed by the
server (its email goes through the outbox): no login, no guessable number. The answer is
recorded by a conditional update on "not answered yet", so a second answer (a double click, a
forwarded mail) is refused. On the phone, the agent may record the score the viewer gave.
"""

from __future__ import annotations

from email.utils import formataddr

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import permissions
from accounts.models import User
from contacts.models import ConsentKind, Outcome, Ticket, ViewerConsent, ViewerEmail

from .models import Survey

TOKEN_SALT = "satisfaction.survey"
# A link older than this is refused: the answer should reflect a recent exchange.
TOKEN_MAX_AGE = 60 * 24 * 3600
# Outcomes after which asking "how satisfied are you with our answer?" makes no sense.
NO_SURVEY_OUTCOMES = frozenset(
    {Outcome.DUPLICATE, Outcome.NO_RESPONSE_NEEDED, Outcome.NOTED, Outcome.MEDIATION}
)


class SurveyError(ValueError):
    """A survey answer that cannot be taken (message for the viewer or the agent)."""


class AlreadyAnswered(SurveyError):
    def __init__(self) -> None:
        super().__init__(_("This survey has already been answered. Thank you!"))


def survey_token(*, survey: Survey) -> str:
    return signing.dumps({"s": survey.pk}, salt=TOKEN_SALT, compress=True)


def survey_url(*, survey: Survey) -> str:
    return settings.SITE_URL + reverse("satisfaction:answer", args=[survey_token(survey=survey)])


def survey_from_token(*, token: str) -> Survey:
    """The survey a link names; SurveyError when the link is forged, damaged or too old."""
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        raise SurveyError(_("This survey link has expired.")) from None
    except signing.BadSignature:
        raise SurveyError(_("This survey link is not valid.")) from None
    survey = Survey.objects.select_related("ticket__brand").filter(pk=data.get("s")).first()
    if survey is None:
        raise SurveyError(_("This survey link is not valid."))
    return survey


def survey_consented(*, viewer_id: int | None) -> bool:
    """Did the viewer consent to be surveyed? Only an explicit "yes" counts (the web form's
    box "J'accepte de recevoir une enquête de satisfaction", or one recorded by staff), and
    the latest statement is the one in force: a withdrawal wins over an older yes."""
    if viewer_id is None:
        return False
    latest = (
        ViewerConsent.objects.filter(viewer_id=viewer_id, kind=ConsentKind.SURVEY)
        .order_by("-recorded_at", "-id")
        .values_list("granted", flat=True)
        .first()
    )
    return latest is True


def survey_email_for(*, ticket: Ticket) -> str:
    """The address a survey goes to: the viewer's primary working email; '' if none, or if
    the viewer did not consent to surveys."""
    if not survey_consented(viewer_id=ticket.viewer_id):
        return ""
    return (
        ViewerEmail.objects.filter(viewer_id=ticket.viewer_id, is_failing=False)
        .order_by("-is_primary", "id")
        .values_list("email", flat=True)
        .first()
        or ""
    )


def _snapshot(ticket: Ticket, channel: str) -> dict:
    return {
        "channel": channel,
        "team_id": ticket.team_id,
        "level": ticket.level,
        "topic": ticket.topic,
        "ticket_channel": ticket.channel,
    }


def survey_send_for(*, ticket: Ticket) -> Survey | None:
    """After resolution: create the ticket's survey and write its email to the outbox (sent
    after commit; the ticket page shows the email's state, never "sent" before the mail
    server took it).

    None when the viewer did not consent to surveys or has no working email, the outcome
    calls for none, or the ticket already has a survey (one per ticket: asking twice is
    refused by the one-to-one constraint, so calling this twice sends one email).
    """
    if ticket.outcome in NO_SURVEY_OUTCOMES:
        return None
    if Survey.objects.filter(ticket=ticket).exists():
        return None
    to = survey_email_for(ticket=ticket)
    if not to:
        return None
    try:
        with transaction.atomic():
            survey = Survey.objects.create(ticket=ticket, **_snapshot(ticket, Survey.Channel.EMAIL))
            survey_email_enqueue(survey=survey, to=to)
    except IntegrityError:
        return None
    return survey


def survey_email_enqueue(*, survey: Survey, to: str) -> None:
    """The survey's email (its signed link) as a message of the outbox."""
    from outbox.models import MessageKind
    from outbox.services import message_enqueue
    from privacy.services.consent import unsubscribe_headers, unsubscribe_url
    from replies.services import brand_sender

    ticket = survey.ticket
    name, address = brand_sender(ticket)
    context = {
        "survey": survey,
        "ticket": ticket,
        "brand": ticket.brand,
        "url": survey_url(survey=survey),
        "unsubscribe_url": unsubscribe_url(viewer=ticket.viewer, purpose="survey"),
    }
    with translation.override("fr"):
        text = render_to_string("emails/survey.txt", context)
        html = render_to_string("emails/survey.html", context)
    message_enqueue(
        kind=MessageKind.SURVEY,
        to=to,
        subject=f"[{ticket.reference}] Votre avis sur notre réponse",
        body_text=text,
        body_html=html,
        from_email=formataddr((name, address)),
        headers={
            "Auto-Submitted": "auto-generated",
            "X-FRT-Ticket": ticket.reference,
            # RFC 2369 / RFC 8058: the mail client's one-click "unsubscribe" withdraws the
            # viewer's consent to surveys, without login.
            **unsubscribe_headers(viewer=ticket.viewer, purpose="survey"),
        },
        ticket=ticket,
        cause=survey,
    )


def survey_answer(*, survey: Survey, score: int, comment: str = "") -> Survey:
    """Record the viewer's answer, once. Raises AlreadyAnswered, SurveyError (bad score)."""
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise SurveyError(_("Choose a score from 1 to 5."))
    now = timezone.now()
    updated = Survey.objects.filter(pk=survey.pk, answered_at__isnull=True).update(
        score=score, comment=(comment or "").strip()[:4000], answered_at=now
    )
    if not updated:
        raise AlreadyAnswered
    survey.refresh_from_db()
    return survey


def survey_record_phone(*, ticket: Ticket, by: User, score: int, comment: str = "") -> Survey:
    """Record the score the viewer gave on the phone when the agent asked. An emailed survey
    not answered yet takes this answer (the viewer is not asked twice)."""
    permissions.require(by, "work", ticket)
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise SurveyError(_("Choose a score from 1 to 5."))
    with transaction.atomic():
        survey, _created = Survey.objects.get_or_create(
            ticket=ticket, defaults=_snapshot(ticket, Survey.Channel.PHONE)
        )
        if survey.answered_at is not None:
            raise AlreadyAnswered
        Survey.objects.filter(pk=survey.pk).update(channel=Survey.Channel.PHONE)
        return survey_answer(survey=survey, score=score, comment=comment)

"""Celery tasks of the satisfaction survey (the `send_*` ones go to the `mail` queue)."""

from __future__ import annotations

import smtplib
from email.utils import formataddr

from celery import shared_task
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .models import Survey


@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=6,
)
def send_survey(survey_id: int) -> None:
    """Email the survey link. Skipped once answered; a redelivered task sends the same link,
    which still answers once."""
    from replies.services import brand_sender

    from .services import survey_email_for, survey_url

    survey = (
        Survey.objects.select_related("ticket__brand__parent", "ticket__viewer")
        .filter(pk=survey_id)
        .first()
    )
    if survey is None or survey.answered_at is not None:
        return
    ticket = survey.ticket
    to = survey_email_for(ticket=ticket)
    if not to:
        return
    name, address = brand_sender(ticket)
    context = {
        "survey": survey,
        "ticket": ticket,
        "brand": ticket.brand,
        "url": survey_url(survey=survey),
    }
    with translation.override("fr"):
        text = render_to_string("emails/survey.txt", context)
        html = render_to_string("emails/survey.html", context)
    message = EmailMultiAlternatives(
        subject=f"[{ticket.reference}] Votre avis sur notre réponse",
        body=text,
        from_email=formataddr((name, address)),
        to=[to],
        headers={"Auto-Submitted": "auto-generated", "X-FRT-Ticket": ticket.reference},
    )
    message.attach_alternative(html, "text/html")
    message.send()
    Survey.objects.filter(pk=survey_id).update(sent_at=timezone.now())

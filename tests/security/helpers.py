"""Objects the CSP tests share."""

from __future__ import annotations

import hashlib
import io

from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from contacts.channels.letter import pages_to_pdf
from contacts.models import LetterBatch, LetterScan, Outcome, Topic
from mediation.models import Opinion, OpinionStatus
from mediation.services import case_open_from_escalation, comment_request_send
from satisfaction import services as satisfaction
from tests.factories import TicketFactory, brand
from tests.workspace.helpers import consent, workspace_ticket


def letter_scan(user, kind: str) -> LetterScan:
    """A scanned letter ready to register, as a one-page PDF or a PNG."""
    image = Image.new("L", (170, 220), 255)
    if kind == "pdf":
        data = pages_to_pdf([image])
    else:
        out = io.BytesIO()
        image.save(out, format="PNG")
        data = out.getvalue()
    batch = LetterBatch.objects.create(uploaded_by=user, brand=brand("france2"))
    scan = LetterScan(
        batch=batch,
        original_filename=f"lettre.{kind}",
        content_type="application/pdf" if kind == "pdf" else "image/png",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        state=LetterScan.State.READY,
    )
    scan.file.save(f"lettre.{kind}", ContentFile(data), save=True)
    return scan


def public_objects(*, srt, mediator) -> dict:
    """What the public pages show: a published opinion of a case opened from an escalated
    ticket, a department's request for comment (its signed answer page), and a survey sent
    for a resolved ticket (its signed page)."""
    escalated = TicketFactory(
        level=3, topic=Topic.EDITORIAL_PROGRAMMES, brand=brand("france2"), subject="Scène"
    )
    case = case_open_from_escalation(ticket=escalated, by=srt, reason="Avis demandé.")
    opinion = Opinion.objects.create(
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
    request = comment_request_send(
        case=case,
        by=mediator,
        department="Direction de l'information",
        recipient_name="Claire Dubois",
        recipient_email="claire.dubois@example.fr",
        question="Pourquoi ces images ?",
    )
    resolved = workspace_ticket(contacts=1)
    consent(resolved.viewer)
    resolved.status = "resolved"
    resolved.outcome = Outcome.ANSWERED
    resolved.save()
    survey = satisfaction.survey_send_for(ticket=resolved)
    return {"case": case, "opinion": opinion, "request": request, "survey": survey}

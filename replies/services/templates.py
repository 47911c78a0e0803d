"""Response templates: finding them for a ticket, filling their variables, saving versions.

Templates are written by managers and SRT staff, so they are never run through the Django
template engine (which would hand them tags, filters and attributes): `{{ name }}` variables
are replaced by plain text from a fixed list, and anything else is left as typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from accounts import permissions
from accounts.models import User
from contacts.models import Brand, Civility, Ticket
from contacts.services.viewers import fold

from ..models import ReplyChannel, ResponseTemplate, ResponseTemplateVersion, Signature

VARIABLE_RE = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")

# The variables a template may use, with what they become (shown on the templates page).
VARIABLES: dict[str, str] = {
    "salutation": _("Opening line: “Madame,”, “Monsieur,” or “Madame, Monsieur,”"),
    "civility": _("“Madame”, “Monsieur” or “Madame, Monsieur” (for the closing formula)"),
    "first_name": _("Viewer's first name"),
    "last_name": _("Viewer's last name"),
    "viewer_name": _("Viewer's civility and full name"),
    "reference": _("Ticket reference (FTV-…)"),
    "ticket_subject": _("Subject of the ticket"),
    "programme": _("Programme named on the ticket (or “nos programmes”)"),
    "brand": _("Brand of the ticket (France 2, France 3 Bretagne…)"),
    "signature": _("The agent's signature for this brand"),
    "agent_name": _("The agent's name"),
    "today": _("Today's date, written out"),
}

_CIVILITY_WORD = {Civility.MR: "Monsieur", Civility.MRS: "Madame"}


class TemplateError(ValueError):
    """A template that cannot be saved (message for the user)."""


@dataclass(frozen=True)
class FilledText:
    subject: str
    body: str
    unknown: tuple[str, ...]  # variables the template names but nobody knows


# --- signatures --------------------------------------------------------------------------------


def signature_for(*, user: User, brand: Brand | None) -> str:
    """How `user` signs for `brand`: their signature for the brand (or its national brand),
    else their general signature, else their name and the brand's viewer relations service."""
    if brand is not None:
        ids = [brand.pk] + ([brand.parent_id] if brand.parent_id else [])
        rows = {s.brand_id: s.text for s in Signature.objects.filter(user=user, brand_id__in=ids)}
        for brand_id in ids:
            if rows.get(brand_id, "").strip():
                return rows[brand_id].strip()
    if (user.signature or "").strip():
        return user.signature.strip()
    name = user.get_full_name() or user.username
    service = "Le service des relations avec les téléspectateurs"
    return f"{name}\n{service}\n{brand.national.name}" if brand else f"{name}\n{service}"


def signature_set(*, user: User, brand: Brand, text: str) -> None:
    """Store (or clear, with empty text) the user's signature for one brand."""
    text = (text or "").strip()
    if not text:
        Signature.objects.filter(user=user, brand=brand).delete()
        return
    Signature.objects.update_or_create(user=user, brand=brand, defaults={"text": text})


# --- variables ---------------------------------------------------------------------------------


def template_context(*, ticket: Ticket, by: User) -> dict[str, str]:
    """The values of the variables for this ticket and agent (the reply is in French)."""
    viewer = ticket.viewer
    civility = _CIVILITY_WORD.get(viewer.civility, "") if viewer else ""
    brand = ticket.brand
    with translation.override("fr"):
        today = date_format(timezone.localdate(), "j F Y")
    return {
        "salutation": f"{civility or 'Madame, Monsieur'},",
        "civility": civility or "Madame, Monsieur",
        "first_name": viewer.first_name if viewer else "",
        "last_name": viewer.last_name if viewer else "",
        "viewer_name": " ".join(
            p for p in (civility, viewer.first_name, viewer.last_name) if p
        ).strip()
        if viewer
        else "",
        "reference": ticket.reference,
        "ticket_subject": ticket.subject,
        "programme": ticket.programme.name if ticket.programme_id else "nos programmes",
        "brand": brand.name if brand else "France Télévisions",
        "signature": signature_for(user=by, brand=brand),
        "agent_name": by.get_full_name() or by.username,
        "today": today,
    }


def template_fill(text: str, context: dict[str, str]) -> tuple[str, list[str]]:
    """Replace `{{ name }}` by its value; unknown names stay as typed and are listed."""
    unknown: list[str] = []

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name in context:
            return context[name]
        unknown.append(name)
        return match.group(0)

    return VARIABLE_RE.sub(replace, text or ""), unknown


def template_render(*, template: ResponseTemplate, ticket: Ticket, by: User) -> FilledText:
    """The template's subject and text filled in for this ticket, ready to edit."""
    context = template_context(ticket=ticket, by=by)
    subject, unknown_s = template_fill(template.subject, context)
    body, unknown_b = template_fill(template.body, context)
    return FilledText(subject, body, tuple(dict.fromkeys(unknown_s + unknown_b)))


# --- finding templates -------------------------------------------------------------------------


def _for_ticket_q(*, ticket: Ticket, channel: str) -> Q:
    brand_ids = []
    if ticket.brand_id:
        brand_ids = [ticket.brand_id] + ([ticket.brand.parent_id] if ticket.brand.parent_id else [])
    q = Q(is_active=True) & (Q(brand__isnull=True) | Q(brand_id__in=brand_ids))
    if channel:
        q &= Q(channel="") | Q(channel=channel)
    return q


def templates_for_ticket(
    *, ticket: Ticket, channel: str = "", query: str = "", limit: int = 12
) -> QuerySet[ResponseTemplate]:
    """Templates usable on this ticket (its brand or every brand, this channel or any),
    those of the ticket's topic first, then general ones; filtered by the words of `query`
    (accent-insensitive, on title, topic and text). One query."""
    qs = ResponseTemplate.objects.filter(_for_ticket_q(ticket=ticket, channel=channel))
    words = fold(query).split()
    for word in words[:6]:
        qs = qs.filter(search_text__contains=word)
    if not words:
        qs = qs.filter(Q(topic="") | Q(topic=ticket.topic))
    whens = [When(topic=ticket.topic, then=Value(0))] if ticket.topic else []
    rank = Case(
        *whens, When(topic="", then=Value(1)), default=Value(2), output_field=IntegerField()
    )
    return qs.annotate(rank=rank).order_by("rank", "title")[:limit]


def template_get_for_ticket(*, pk: int, ticket: Ticket) -> ResponseTemplate | None:
    return ResponseTemplate.objects.filter(_for_ticket_q(ticket=ticket, channel=""), pk=pk).first()


# --- saving ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateData:
    title: str
    body: str
    subject: str = ""
    topic: str = ""
    brand: Brand | None = None
    channel: str = ""
    is_active: bool = True


def _search_text(data: TemplateData) -> str:
    return fold(" ".join([data.title, data.topic, data.subject, data.body]))


@transaction.atomic
def template_save(
    *, by: User, data: TemplateData, template: ResponseTemplate | None = None
) -> ResponseTemplate:
    """Create a template, or save a new version of it (the old one stays in its history).

    Requires `manage_templates` (managers, SRT). Saving unchanged text makes no version.
    """
    permissions.require(by, "manage_templates")
    if not data.title.strip() or not data.body.strip():
        raise TemplateError(_("A template needs a title and a text."))
    if data.channel and data.channel not in ReplyChannel.values:
        raise TemplateError(_("Unknown channel."))
    fields = {
        "title": data.title.strip(),
        "topic": data.topic,
        "brand": data.brand,
        "channel": data.channel,
        "subject": data.subject.strip(),
        "body": data.body.strip(),
        "is_active": data.is_active,
    }
    if template is None:
        template = ResponseTemplate(version=1)
    else:
        template = ResponseTemplate.objects.select_for_update().get(pk=template.pk)
        before = {k: getattr(template, k) for k in fields if k != "brand"}
        unchanged = template.brand_id == (data.brand.pk if data.brand else None) and all(
            before[k] == v for k, v in fields.items() if k != "brand"
        )
        if unchanged:
            return template
        template.version += 1
    for key, value in fields.items():
        setattr(template, key, value)
    template.search_text = _search_text(data)
    template.updated_at = timezone.now()
    template.updated_by = by
    template.save()
    ResponseTemplateVersion.objects.create(
        template=template,
        version=template.version,
        saved_by=by,
        saved_at=template.updated_at,
        **fields,
    )
    return template

"""Replies to viewers: response templates (réponses types) and their versions, agents'
signatures per brand, and the mailroom's daily print batches of reply letters.

The replies themselves are outbound `contacts.Contact` rows (one write path:
`replies.services.reply_send`); this app keeps what is needed to write and deliver them.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import Topic


class ReplyChannel(models.TextChoices):
    """The channels a written reply goes out by (a phone answer is logged as a call)."""

    EMAIL = "email", _("Email")
    LETTER = "letter", _("Letter")


class ResponseTemplate(models.Model):
    """A response template: text with variables, for a topic, a brand and a channel (each
    blank meaning "any"). Every change is a new version, kept in `ResponseTemplateVersion`;
    replies remember the version they were written from."""

    title = models.CharField(_("title"), max_length=200)
    topic = models.CharField(_("topic"), max_length=32, choices=Topic.choices, blank=True)
    brand = models.ForeignKey(
        "contacts.Brand",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("brand"),
        help_text=_("Empty: every brand. A national brand covers its regional stations."),
    )
    channel = models.CharField(_("channel"), max_length=8, choices=ReplyChannel.choices, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("text"))
    is_active = models.BooleanField(_("in use"), default=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    # Folded title, topic and text: the reply box searches it (small table, LIKE is enough).
    search_text = models.TextField(editable=False, blank=True, default="")
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = _("response template")
        verbose_name_plural = _("response templates")
        ordering = ["title"]
        indexes = [
            # The reply box's suggestions: active templates of a topic.
            models.Index(fields=["is_active", "topic"], name="template_active_topic_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def excerpt(self) -> str:
        """The text without its variables and opening line, for the reply box's list."""
        lines = [line for line in self.body.splitlines() if line.strip()]
        if lines and lines[0].strip().startswith("{{"):
            lines = lines[1:]
        text = " ".join(lines)
        text = re.sub(r"\{\{\s*[a-z_]+\s*\}\}", "…", text)
        return " ".join(text.split())


class ResponseTemplateVersion(models.Model):
    """A template as it was at one version: what a reply said can be traced years later."""

    template = models.ForeignKey(
        ResponseTemplate, on_delete=models.CASCADE, related_name="versions"
    )
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    topic = models.CharField(max_length=32, blank=True)
    brand = models.ForeignKey(
        "contacts.Brand", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(max_length=8, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    is_active = models.BooleanField(default=True)
    saved_at = models.DateTimeField(default=timezone.now)
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("template version")
        verbose_name_plural = _("template versions")
        ordering = ["template", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["template", "version"], name="template_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class Signature(models.Model):
    """How a member of staff signs replies for one brand (the `{{ signature }}` variable).

    Without one, the user's general signature is used, then a default built from their name
    and the brand."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reply_signatures"
    )
    brand = models.ForeignKey("contacts.Brand", on_delete=models.CASCADE, related_name="+")
    text = models.TextField(_("signature"))

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        constraints = [
            models.UniqueConstraint(fields=["user", "brand"], name="signature_user_brand_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.brand}"


class PrintBatch(models.Model):
    """One print run of the mailroom: a PDF of every letter waiting, plus its list.

    Letters go `to_print` → `printed` (when the batch is made) → `posted` (when the mailroom
    says the envelopes left)."""

    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    pdf = models.FileField(_("letters (PDF)"), upload_to="letters/batches/%Y/%m/", blank=True)
    letter_count = models.PositiveIntegerField(_("letters"), default=0)
    page_count = models.PositiveIntegerField(_("pages"), default=0)
    posted_at = models.DateTimeField(_("posted"), null=True, blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    contacts = models.ManyToManyField(
        "contacts.Contact", related_name="print_batches", verbose_name=_("letters")
    )

    class Meta:
        verbose_name = _("print batch")
        verbose_name_plural = _("print batches")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} ({self.letter_count})"

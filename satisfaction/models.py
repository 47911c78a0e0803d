"""Satisfaction: one survey per resolved ticket, answered once through a signed link."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Survey(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", _("Email link")
        PHONE = "phone", _("Asked on the phone")

    ticket = models.OneToOneField(
        "contacts.Ticket", on_delete=models.CASCADE, related_name="survey"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    # What the ticket was when the survey was sent: the dashboards group by them even after
    # the ticket is re-routed or merged.
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL)
    level = models.PositiveSmallIntegerField()
    topic = models.CharField(max_length=32, blank=True)
    ticket_channel = models.CharField(max_length=8)
    sent_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(
        _("score"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__gte=1, score__lte=5),
                name="survey_score_range",
            ),
        ]
        indexes = [
            # Satisfaction dashboards by period.
            models.Index(fields=["sent_at"], name="survey_sent_idx"),
            models.Index(fields=["answered_at"], name="survey_answered_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.score}"

"""Triage policy as data, the statistical classifier's stored models, and SLA policies.

The rules themselves are plain JSON in the format of ``routing.rules`` (``rule_to_dict``): the
database stores what managers edit, ``routing.services.policies`` turns a version into a
compiled ``rules.Policy``. A version is edited while it is a draft, dry-run against recent
tickets, then published; a published (live) or retired version never changes, so a stored
decision can always be explained from the version it names.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Level
from contacts.models import Channel


class PolicyVersion(models.Model):
    """One version of the triage policy: its defaults, word lists, sender lists and rules."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        LIVE = "live", _("Live")
        RETIRED = "retired", _("Retired")

    version = models.CharField(
        _("version"),
        max_length=32,
        unique=True,
        help_text=_("A label such as 2026.2; stored on every ticket this version triages."),
    )
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.DRAFT)
    based_on = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("based on"),
    )
    note = models.TextField(_("what changes"), blank=True)
    # ``rules.Defaults``, lexicons {name: [terms]} and sender lists, as rules.py reads them.
    defaults = models.JSONField(_("defaults"), default=dict, blank=True)
    lexicons = models.JSONField(_("word lists"), default=dict, blank=True)
    sender_lists = models.JSONField(_("sender lists"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dry_run_at = models.DateTimeField(_("last dry run"), null=True, blank=True)
    dry_run_summary = models.JSONField(_("dry-run summary"), default=dict, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("triage policy version")
        verbose_name_plural = _("triage policy versions")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One live version at a time: the triage task reads "the" live policy.
            models.UniqueConstraint(
                fields=["state"], condition=Q(state="live"), name="policy_one_live"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version} ({self.get_state_display()})"

    @property
    def is_editable(self) -> bool:
        return self.state == self.State.DRAFT


class PolicyRule(models.Model):
    """One rule of a version; ``conditions`` and ``actions`` in ``routing.rules``' dict form."""

    version = models.ForeignKey(PolicyVersion, on_delete=models.CASCADE, related_name="rules")
    code = models.SlugField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    order = models.IntegerField(_("order"), default=100)
    enabled = models.BooleanField(_("enabled"), default=True)
    stop = models.BooleanField(
        _("decisive"), default=False, help_text=_("When it matches, later rules of its kind stop.")
    )
    weight = models.FloatField(_("weight"), default=1.0)
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    actions = models.JSONField(_("actions"), default=dict, blank=True)

    class Meta:
        verbose_name = _("triage rule")
        verbose_name_plural = _("triage rules")
        ordering = ["version", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="policy_rule_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    def as_rule_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "order": self.order,
            "enabled": self.enabled,
            "stop": self.stop,
            "weight": self.weight,
            "conditions": self.conditions or {},
            "actions": self.actions or {},
        }


class TriageClassifier(models.Model):
    """A trained statistical classifier (pickled by ``routing.classifier``) and its metrics.

    Only bytes produced by ``manage.py train_classifier`` are stored here; they are loaded by
    pickle, so nothing else may write this table (it has no admin form for the bytes).
    """

    created_at = models.DateTimeField(_("trained"), default=timezone.now)
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(_("trained on"), max_length=200)
    examples = models.PositiveIntegerField(_("examples"))
    metrics = models.JSONField(_("cross-validated metrics"), default=dict)
    model = models.BinaryField(_("model"))
    is_active = models.BooleanField(_("in use"), default=False)

    class Meta:
        verbose_name = _("triage classifier")
        verbose_name_plural = _("triage classifiers")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="classifier_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} · {self.created_at:%Y-%m-%d %H:%M}"


class SlaUnit(models.TextChoices):
    WORKING_DAYS = "working_days", _("working days")
    WORKING_HOURS = "working_hours", _("working hours")
    CALENDAR_DAYS = "calendar_days", _("calendar days")
    CALENDAR_MONTHS = "calendar_months", _("calendar months")


class SlaPolicy(models.Model):
    """Targets for the first answer and the resolution, per level and channel (DESIGN.md).

    The most specific active policy wins: a GDPR request over the level's policy, an exact
    channel over "any channel", an exact level over "any level".
    """

    class Kind(models.TextChoices):
        STANDARD = "standard", _("Standard")
        GDPR = "gdpr", _("GDPR request (legal deadline)")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.STANDARD)
    level = models.PositiveSmallIntegerField(
        _("level"), choices=Level.choices, null=True, blank=True, help_text=_("Empty: any level.")
    )
    channel = models.CharField(
        _("channel"),
        max_length=8,
        choices=Channel.choices,
        blank=True,
        help_text=_("Empty: any channel."),
    )
    first_response_amount = models.PositiveIntegerField(_("first answer within"))
    first_response_unit = models.CharField(
        _("unit"), max_length=16, choices=SlaUnit.choices, default=SlaUnit.WORKING_DAYS
    )
    resolution_amount = models.PositiveIntegerField(_("resolution within"))
    resolution_unit = models.CharField(
        _("unit"), max_length=16, choices=SlaUnit.choices, default=SlaUnit.WORKING_DAYS
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["kind", "level", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "level", "channel"],
                condition=Q(level__isnull=False),
                name="sla_policy_unique",
            ),
            models.UniqueConstraint(
                fields=["kind", "channel"],
                condition=Q(level__isnull=True),
                name="sla_policy_any_level_unique",
            ),
        ]

    def __str__(self) -> str:
        level = self.get_level_display() if self.level else _("any level")
        channel = self.get_channel_display() if self.channel else _("any channel")
        return f"{self.get_kind_display()} · {level} · {channel}"

    @property
    def specificity(self) -> int:
        return (2 if self.level else 0) + (1 if self.channel else 0)

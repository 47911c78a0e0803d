"""Rollup tables behind the managers' dashboards, and the call-centre cost model's rates.

The dashboards never scan the ticket table per page view: they read these tables, which
`reporting.services.rollups` keeps current (a Celery beat task recomputes only the days touched
since its watermark; `manage.py rebuild_rollups` recomputes everything). Rows are derived data:
a day's rows are deleted and inserted again whenever that day is recomputed, so nothing else
writes them.

Every ticket figure is counted on the day the ticket was *created* (its cohort, Europe/Paris
date): the 1,000 tickets of 3 March stay the 1,000 tickets of 3 March, and their escalations,
resolutions and SLA outcomes are updated in place as they happen. Surveys count on the day
they were sent, calls and contacts on the half-hour they rang or arrived.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Waits (seconds) for which the call rollup counts "answered within": the service level's
# threshold on the cost page is one of them (80 % within 20 s by default).
WAIT_THRESHOLDS = (10, 20, 30, 60, 120)

# Upper bounds (seconds) of the duration histogram's buckets; the last bucket is open-ended.
# Percentiles (median, 90th) are read from these counts, interpolated inside a bucket.
MINUTE, HOUR, DAY = 60, 3600, 86400
DURATION_EDGES = (
    15 * MINUTE,
    HOUR,
    2 * HOUR,
    4 * HOUR,
    8 * HOUR,
    12 * HOUR,
    DAY,
    DAY * 3 // 2,
    2 * DAY,
    3 * DAY,
    4 * DAY,
    5 * DAY,
    7 * DAY,
    10 * DAY,
    14 * DAY,
    20 * DAY,
    28 * DAY,
    35 * DAY,
    50 * DAY,
    75 * DAY,
    120 * DAY,
)


class Measure(models.TextChoices):
    FIRST_RESPONSE = "fr", _("First answer")
    RESOLUTION = "res", _("Resolution")


class _Dims(models.Model):
    """The dimensions every ticket rollup shares: the filters of the dashboards."""

    day = models.DateField()
    # The day's week (its Monday) and month (its 1st), stored so that grouping by week or
    # month reads a column instead of computing a date per row.
    week = models.DateField()
    month = models.DateField()
    brand = models.ForeignKey(
        "contacts.Brand", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(max_length=8)
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        abstract = True


class TicketDaily(_Dims):
    """Tickets created per day × brand × channel × team × current level, with their outcomes."""

    level = models.PositiveSmallIntegerField()
    created = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    escalated = models.PositiveIntegerField(default=0)
    sent_back = models.PositiveIntegerField(default=0)
    rerouted = models.PositiveIntegerField(default=0)
    # Resolved at the first contact: never escalated, a single inbound contact.
    fcr = models.PositiveIntegerField(default=0)
    # SLA: "due" counts tickets whose outcome is known (answered, or deadline passed).
    fr_due = models.PositiveIntegerField(default=0)
    fr_met = models.PositiveIntegerField(default=0)
    res_due = models.PositiveIntegerField(default=0)
    res_met = models.PositiveIntegerField(default=0)
    # Sums for the mean times (seconds) and how many tickets they cover.
    fr_seconds = models.BigIntegerField(default=0)
    fr_count = models.PositiveIntegerField(default=0)
    res_seconds = models.BigIntegerField(default=0)
    res_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("daily tickets rollup")
        indexes = [models.Index(fields=["day"], name="rep_ticket_day_idx")]

    def __str__(self) -> str:
        return f"{self._meta.model_name} {self.day}"


class TopicDaily(_Dims):
    """Tickets created per day × brand × channel × team × level × topic."""

    level = models.PositiveSmallIntegerField()
    topic = models.CharField(max_length=32, blank=True)
    created = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("daily topics rollup")
        indexes = [models.Index(fields=["day"], name="rep_topic_day_idx")]

    def __str__(self) -> str:
        return f"{self._meta.model_name} {self.day}"


class ProgrammeDaily(_Dims):
    """Tickets created per day × brand × channel × team × programme (none: no programme)."""

    programme = models.ForeignKey(
        "contacts.Programme", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("daily programmes rollup")
        indexes = [models.Index(fields=["day"], name="rep_programme_day_idx")]

    def __str__(self) -> str:
        return f"{self._meta.model_name} {self.day}"


class RuleDaily(_Dims):
    """Triage decisions per rule, and how many of them staff overrode (re-routed)."""

    rule = models.CharField(max_length=64)
    decided = models.PositiveIntegerField(default=0)
    overridden = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("daily triage rules rollup")
        indexes = [models.Index(fields=["day"], name="rep_rule_day_idx")]

    def __str__(self) -> str:
        return f"{self._meta.model_name} {self.day}"


class DurationDaily(_Dims):
    """Histogram of the time to first answer and to resolution (bucket: DURATION_EDGES)."""

    level = models.PositiveSmallIntegerField()
    measure = models.CharField(max_length=3, choices=Measure.choices)
    bucket = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("daily durations rollup")
        indexes = [models.Index(fields=["day", "measure"], name="rep_duration_day_idx")]

    def __str__(self) -> str:
        return f"{self._meta.model_name} {self.day}"


class SurveyDaily(_Dims):
    """Satisfaction surveys sent per day (channel: the ticket's) and their answers by score."""

    level = models.PositiveSmallIntegerField()
    topic = models.CharField(max_length=32, blank=True)
    sent = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)
    commented = models.PositiveIntegerField(default=0)
    score_1 = models.PositiveIntegerField(default=0)
    score_2 = models.PositiveIntegerField(default=0)
    score_3 = models.PositiveIntegerField(default=0)
    score_4 = models.PositiveIntegerField(default=0)
    score_5 = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("daily satisfaction rollup")
        indexes = [models.Index(fields=["day"], name="rep_survey_day_idx")]

    def __str__(self) -> str:
        return f"{self._meta.model_name} {self.day}"


class CallHalfHour(models.Model):
    """Phone calls per local half-hour (0 = 00:00–00:30 … 47) and brand, from CallRecord."""

    day = models.DateField()
    half_hour = models.PositiveSmallIntegerField()
    brand = models.ForeignKey(
        "contacts.Brand", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    offered = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)
    abandoned = models.PositiveIntegerField(default=0)
    wait_seconds = models.BigIntegerField(default=0)  # summed over answered calls
    handled = models.PositiveIntegerField(default=0)  # answered calls with a handling time
    handle_seconds = models.BigIntegerField(default=0)
    within_10 = models.PositiveIntegerField(default=0)
    within_20 = models.PositiveIntegerField(default=0)
    within_30 = models.PositiveIntegerField(default=0)
    within_60 = models.PositiveIntegerField(default=0)
    within_120 = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("half-hourly calls rollup")
        indexes = [models.Index(fields=["day"], name="rep_call_day_idx")]

    def __str__(self) -> str:
        return f"{self._meta.model_name} {self.day}"


class ContactHalfHour(models.Model):
    """Inbound contacts per local half-hour, channel and the ticket's current level."""

    day = models.DateField()
    half_hour = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=8)
    level = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("half-hourly contacts rollup")
        indexes = [models.Index(fields=["day"], name="rep_contact_day_idx")]

    def __str__(self) -> str:
        return f"{self._meta.model_name} {self.day}"


class RollupState(models.Model):
    """Where the incremental refresh stands. One row; its lock serialises refreshes."""

    name = models.CharField(max_length=32, primary_key=True)
    # Start of the last successful run: the next run looks at what changed since then.
    watermark = models.DateTimeField(null=True, blank=True)
    # Rows inserted late with an old date (a letter registered days after it came) are found
    # by id: per table, the highest id seen at the start of the last two runs. A run reads ids
    # above the older mark, so a row whose id was taken before a run but committed after it
    # is still read by the next one.
    id_marks = models.JSONField(default=dict)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_run_ms = models.PositiveIntegerField(default=0)
    last_run_days = models.PositiveIntegerField(default=0)
    rebuilt_at = models.DateTimeField(null=True, blank=True)
    # The nightly reconciliation's own watermark (it scans Ticket.updated_at, see services).
    reconciled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("rollup state")

    def __str__(self) -> str:
        return f"{self.name} @ {self.watermark}"


class CostRate(models.Model):
    """The call centre's prices and the staffing assumptions, valid from a date on.

    A new version is added rather than an old one edited, so past months stay costed at the
    rates of their time.
    """

    valid_from = models.DateField(_("valid from"), unique=True)
    hourly_rate = models.DecimalField(
        _("hourly rate per agent (€)"), max_digits=8, decimal_places=2, default=Decimal("32.00")
    )
    price_per_call = models.DecimalField(
        _("price per call handled (€)"), max_digits=7, decimal_places=2, default=Decimal("4.20")
    )
    price_per_written = models.DecimalField(
        _("price per written contact handled (€)"),
        max_digits=7,
        decimal_places=2,
        default=Decimal("5.50"),
    )
    service_level = models.DecimalField(
        _("service level target"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.800"),
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("0.999"))],
    )
    answer_within_seconds = models.PositiveSmallIntegerField(
        _("answered within (s)"), choices=[(t, f"{t} s") for t in WAIT_THRESHOLDS], default=20
    )
    shrinkage = models.DecimalField(
        _("shrinkage"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.300"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("0.8"))],
        help_text=_("Share of paid time not spent on calls (breaks, training, absence)."),
    )
    max_occupancy = models.DecimalField(
        _("maximum occupancy"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.850"),
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("1"))],
    )
    written_handling_seconds = models.PositiveIntegerField(
        _("handling time of a written contact (s)"), default=420
    )
    min_agents = models.PositiveSmallIntegerField(
        _("minimum agents while calls come in"), default=1
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("call-centre rates")
        verbose_name_plural = _("call-centre rates")
        ordering = ["-valid_from"]

    def __str__(self) -> str:
        return f"{self.valid_from:%Y-%m-%d}: {self.hourly_rate} €/h, {self.price_per_call} €/call"

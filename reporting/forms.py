"""Forms of the reporting pages: they validate input; the services write."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import WAIT_THRESHOLDS, CostRate


class CostRateForm(forms.ModelForm):
    class Meta:
        model = CostRate
        fields = [
            "valid_from",
            "hourly_rate",
            "price_per_call",
            "price_per_written",
            "service_level",
            "answer_within_seconds",
            "shrinkage",
            "max_occupancy",
            "written_handling_seconds",
            "min_agents",
            "note",
        ]
        widgets = {"valid_from": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["valid_from"].initial = timezone.localdate()

    def validate_unique(self):
        # A version for the same day is a correction: the service replaces it.
        pass


class WhatIfForm(forms.Form):
    """Values tried on the cost page without saving them (query string)."""

    hourly_rate = forms.DecimalField(
        label=_("Hourly rate (€)"),
        min_value=Decimal("0"),
        max_value=Decimal("1000"),
        required=False,
        decimal_places=2,
    )
    price_per_call = forms.DecimalField(
        label=_("Price per call (€)"),
        min_value=Decimal("0"),
        max_value=Decimal("1000"),
        required=False,
        decimal_places=2,
    )
    price_per_written = forms.DecimalField(
        label=_("Price per written contact (€)"),
        min_value=Decimal("0"),
        max_value=Decimal("1000"),
        required=False,
        decimal_places=2,
    )
    service_level = forms.DecimalField(
        label=_("Service level target"),
        min_value=Decimal("0.5"),
        max_value=Decimal("0.99"),
        required=False,
        decimal_places=3,
    )
    answer_within_seconds = forms.TypedChoiceField(
        label=_("Answered within (s)"),
        choices=[("", "—")] + [(t, t) for t in WAIT_THRESHOLDS],
        coerce=int,
        required=False,
        empty_value=None,
    )
    shrinkage = forms.DecimalField(
        label=_("Shrinkage"),
        min_value=Decimal("0"),
        max_value=Decimal("0.8"),
        required=False,
        decimal_places=3,
    )
    max_occupancy = forms.DecimalField(
        label=_("Maximum occupancy"),
        min_value=Decimal("0.5"),
        max_value=Decimal("1"),
        required=False,
        decimal_places=3,
    )

    def overrides(self) -> dict:
        if not self.is_valid():
            return {}
        out = {}
        for name, value in self.cleaned_data.items():
            if value is None or value == "":
                continue
            out[name] = int(value) if name == "answer_within_seconds" else float(value)
        return out

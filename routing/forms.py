"""Forms of the routing pages: the queue's GET filters and the ticket actions' POSTs.

They validate input only; the work is done by `routing.services` and `routing.selectors`.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Level, Team
from contacts.models import Channel, Priority, SlaState, Topic

from .selectors import QUEUE_STATUSES, SORTS

ANY = [("", _("Any"))]


class QueueFilterForm(forms.Form):
    team = forms.CharField(required=False, label=_("Queue"))
    status = forms.ChoiceField(
        required=False,
        label=_("Status"),
        choices=ANY + [(s.value, s.label) for s in QUEUE_STATUSES],
    )
    brand = forms.IntegerField(required=False, label=_("Brand"), min_value=1)
    programme = forms.IntegerField(required=False, label=_("Programme"), min_value=1)
    topic = forms.ChoiceField(required=False, label=_("Topic"), choices=ANY + Topic.choices)
    priority = forms.ChoiceField(
        required=False, label=_("Priority"), choices=ANY + Priority.choices
    )
    sla_state = forms.ChoiceField(required=False, label=_("SLA"), choices=ANY + SlaState.choices)
    channel = forms.ChoiceField(required=False, label=_("Channel"), choices=ANY + Channel.choices)
    assignee = forms.ChoiceField(
        required=False,
        label=_("Assignee"),
        choices=ANY + [("me", _("Me")), ("none", _("Unassigned")), ("other", _("Someone else"))],
    )
    sort = forms.ChoiceField(
        required=False,
        label=_("Sort by"),
        choices=[
            ("due", _("Due date")),
            ("oldest", _("Oldest first")),
            ("newest", _("Newest first")),
        ],
    )

    def filters(self) -> dict:
        """The cleaned filters for `queue_list` (empty when the form is invalid)."""
        if not self.is_valid():
            return {}
        data = {k: v for k, v in self.cleaned_data.items() if k != "team"}
        if data.get("sort") not in SORTS:
            data["sort"] = "due"
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class RerouteForm(ReasonForm):
    level = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        label=_("Level"),
        choices=[("", _("Unchanged"))] + Level.choices,
    )
    team = forms.ModelChoiceField(
        required=False,
        label=_("Team"),
        queryset=Team.objects.filter(is_active=True),
        empty_label=_("Default team of the level"),
    )
    topic = forms.ChoiceField(
        required=False, label=_("Topic"), choices=[("", _("Unchanged"))] + Topic.choices
    )

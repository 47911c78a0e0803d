from django import forms
from django.utils.translation import gettext_lazy as _

from .models import HoldKind


class ExtendForm(forms.Form):
    months = forms.TypedChoiceField(
        label=_("Extend by"),
        coerce=int,
        choices=[(1, _("one month")), (2, _("two months"))],
    )
    reason = forms.CharField(label=_("Reason told to the viewer"), max_length=500)


class CloseForm(forms.Form):
    outcome = forms.CharField(label=_("What was done"), max_length=2000)


class HoldForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=HoldKind.choices)
    reason = forms.CharField(label=_("Reason"), max_length=300)


class RetentionRuleForm(forms.Form):
    days = forms.IntegerField(
        label=_("Kept (days)"),
        required=False,
        min_value=1,
        help_text=_("Empty: kept for ever."),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)

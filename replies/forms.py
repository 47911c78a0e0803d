"""Forms of the replies pages: validation only (`replies.services` does the work)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from contacts.models import Brand, Topic

from .models import ReplyChannel


class ReplyForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    channel = forms.ChoiceField(label=_("Send by"), choices=ReplyChannel.choices)
    template = forms.IntegerField(required=False, widget=forms.HiddenInput)
    subject = forms.CharField(label=_("Subject"), max_length=280, required=False)
    body = forms.CharField(label=_("Reply"), widget=forms.Textarea, max_length=50000)
    then = forms.ChoiceField(
        label=_("Then"),
        required=False,
        choices=[
            ("", _("Leave the ticket open")),
            ("waiting_viewer", _("Wait for the viewer's answer")),
            ("resolve", _("Resolve (answered)")),
        ],
    )


class PreviewForm(forms.Form):
    channel = forms.ChoiceField(choices=ReplyChannel.choices)
    subject = forms.CharField(max_length=280, required=False)
    body = forms.CharField(required=False, max_length=50000)


class TemplateForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    topic = forms.ChoiceField(
        label=_("Topic"), choices=[("", _("Any topic"))] + Topic.choices, required=False
    )
    brand = forms.ModelChoiceField(
        label=_("Brand"),
        queryset=Brand.objects.filter(is_active=True).order_by("order", "name"),
        required=False,
        empty_label=_("Every brand"),
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[("", _("Email and letter"))] + ReplyChannel.choices,
        required=False,
    )
    subject = forms.CharField(label=_("Subject"), max_length=300, required=False)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 14}))
    is_active = forms.BooleanField(label=_("In use"), required=False, initial=True)


class SignatureForm(forms.Form):
    brand = forms.ModelChoiceField(label=_("Brand"), queryset=Brand.objects.none())
    text = forms.CharField(
        label=_("Signature"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )

    def __init__(self, *args, brands, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = brands

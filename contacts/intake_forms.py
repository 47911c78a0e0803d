"""Forms of the staff intake screens (call log, mailroom, quarantine): validation only; the
services decide. The public web form lives in contacts.channels.webform."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts import permissions

from .models import Brand, Civility, Programme, Topic
from .services.calls import CallOutcome
from .services.viewers import normalise_phone


def brands_for(user) -> forms.models.QuerySet:
    scope = permissions.brand_scope(user)
    qs = Brand.objects.filter(is_active=True).order_by("order", "name")
    return qs if scope is None else qs.filter(pk__in=sorted(scope))


class _Identity(forms.Form):
    civility = forms.ChoiceField(label=_("Civility"), choices=Civility.choices, required=False)
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=16, required=False)

    def clean_phone(self):
        value = self.cleaned_data["phone"].strip()
        if value and not normalise_phone(value):
            raise forms.ValidationError(_("Not a valid phone number."))
        return value


class CallLogForm(_Identity):
    viewer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    call = forms.CharField(required=False, widget=forms.HiddenInput)
    brand = forms.ModelChoiceField(label=_("Brand"), queryset=Brand.objects.none())
    ticket = forms.IntegerField(required=False, widget=forms.HiddenInput)
    reason = forms.ChoiceField(label=_("Reason for the call"), choices=Topic.choices)
    programme = forms.ModelChoiceField(
        label=_("Programme"), queryset=Programme.objects.none(), required=False
    )
    notes = forms.CharField(
        label=_("Notes"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000, required=False
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[
            (CallOutcome.RESOLVED, _("Answered on the spot (resolved at first contact)")),
            (CallOutcome.TRIAGE, _("Handed to triage (needs follow-up)")),
        ],
        widget=forms.RadioSelect,
        initial=CallOutcome.RESOLVED,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        brands = brands_for(user)
        self.fields["brand"].queryset = brands
        self.fields["programme"].queryset = (
            Programme.objects.filter(brand__in=brands, is_active=True)
            .select_related("brand")
            .order_by("brand__order", "name")
        )
        self.fields["programme"].label_from_instance = lambda p: f"{p.name} ({p.brand.name})"

    def clean(self):
        data = super().clean()
        if not data.get("viewer") and not (
            data.get("last_name") or data.get("phone") or data.get("email")
        ):
            raise forms.ValidationError(
                _("Choose a viewer, or give at least a last name, a phone or an email.")
            )
        if data.get("outcome") == CallOutcome.TRIAGE and not (data.get("notes") or "").strip():
            self.add_error("notes", _("Say what the viewer asked: the next person needs it."))
        return data


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget",
            MultipleFileInput(
                attrs={
                    "accept": ".pdf,.jpg,.jpeg,.png,.tif,.tiff,application/pdf,"
                    "image/jpeg,image/png,image/tiff"
                }
            ),
        )
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)]


class ScanUploadForm(forms.Form):
    files = MultipleFileField(label=_("Scans (PDF, JPEG, PNG, TIFF)"))
    brand = forms.ModelChoiceField(
        label=_("Brand"),
        queryset=Brand.objects.none(),
        required=False,
        empty_label=_("— to be decided —"),
    )
    mode = forms.ChoiceField(
        label=_("These files are"),
        choices=[
            ("one", _("one letter (all files are its pages)")),
            ("batch", _("a batch: several letters to split")),
        ],
        widget=forms.RadioSelect,
        initial="one",
    )
    split = forms.CharField(
        label=_("How to split the batch"),
        required=False,
        max_length=200,
        help_text=_(
            "Empty: each file is a letter. A number N: a letter every N pages. "
            "Or page ranges such as 1-2, 3, 4-6."
        ),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = brands_for(user)


class LetterRegisterForm(_Identity):
    address_line1 = forms.CharField(label=_("Address"), max_length=200, required=False)
    address_line2 = forms.CharField(label=_("Address (continued)"), max_length=200, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    viewer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    brand = forms.ModelChoiceField(label=_("Brand"), queryset=Brand.objects.none())
    programme = forms.ModelChoiceField(
        label=_("Programme"), queryset=Programme.objects.none(), required=False
    )
    subject = forms.CharField(label=_("Subject"), max_length=300)
    body = forms.CharField(
        label=_("Text of the letter"), widget=forms.Textarea(attrs={"rows": 12}), required=False
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        brands = brands_for(user)
        self.fields["brand"].queryset = brands
        self.fields["programme"].queryset = (
            Programme.objects.filter(brand__in=brands, is_active=True)
            .select_related("brand")
            .order_by("brand__order", "name")
        )
        self.fields["programme"].label_from_instance = lambda p: f"{p.name} ({p.brand.name})"

    def clean(self):
        data = super().clean()
        if not data.get("viewer") and not data.get("last_name"):
            self.add_error("last_name", _("Give the sender's last name, or choose a viewer."))
        return data

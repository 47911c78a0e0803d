"""The public web form "Vous et Nous": its fields and their validation (no decisions here).

Messages are written in English and translated to French through the catalogue
(locale/fr_parts/intake.json); the page is served in French.
"""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import Brand, ConsentKind, Programme
from ..services.viewers import normalise_phone

# The honeypot: a field people never see (hidden by CSS, out of the tab order); robots fill
# every field they find.
HONEYPOT_FIELD = "website"

REQUEST_TYPES = [
    ("question", _("A question")),
    ("complaint", _("A complaint")),
    ("suggestion", _("A suggestion")),
    ("praise", _("Thanks or praise")),
    ("technical", _("A reception or technical problem")),
    ("personal_data", _("My personal data (access, erasure…)")),
    ("other", _("Something else")),
]

CONSENT_FIELDS = {
    "consent_newsletter": ConsentKind.NEWSLETTER,
    "consent_marketing": ConsentKind.MARKETING,
    "consent_survey": ConsentKind.SURVEY,
}

_POSTCODE_RE = re.compile(r"^(?:\d{5}|\d{4}|[A-Z0-9][A-Z0-9 -]{2,9})$", re.IGNORECASE)


class WebForm(forms.Form):
    request_type = forms.ChoiceField(
        label=_("Your request is"),
        choices=[("", _("— choose —")), *REQUEST_TYPES],
        error_messages={"required": _("Tell us what your request is about.")},
    )
    programme = forms.ModelChoiceField(
        label=_("Programme concerned"),
        queryset=Programme.objects.none(),
        required=False,
        empty_label=_("— none in particular —"),
    )
    message = forms.CharField(
        label=_("Your message"),
        widget=forms.Textarea(attrs={"rows": 8}),
        min_length=10,
        max_length=5000,
        error_messages={
            "required": _("Write your message."),
            "min_length": _("Your message is too short (%(limit_value)d characters at least)."),
            "max_length": _("Your message is too long (%(limit_value)d characters at most)."),
        },
    )
    civility = forms.ChoiceField(
        label=_("Civility"),
        choices=[("", _("— not given —")), ("Mme", _("Mrs")), ("M.", _("Mr"))],
        required=False,
    )
    first_name = forms.CharField(
        label=_("First name"),
        max_length=100,
        error_messages={"required": _("Give your first name.")},
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=100,
        error_messages={"required": _("Give your last name.")},
    )
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        error_messages={
            "required": _("Give your email address: our answer will be sent there."),
            "invalid": _("This email address is not valid (example: nom@exemple.fr)."),
        },
    )
    phone = forms.CharField(label=_("Phone (optional)"), max_length=32, required=False)
    postcode = forms.CharField(label=_("Postcode (optional)"), max_length=10, required=False)
    consent_newsletter = forms.BooleanField(
        label=_("I would like to receive the newsletter."), required=False
    )
    consent_marketing = forms.BooleanField(
        label=_("I would like to be invited to events (shows, sport, film shoots)."),
        required=False,
    )
    consent_survey = forms.BooleanField(
        label=_("I agree to be asked about my satisfaction with the answer."), required=False
    )
    website = forms.CharField(required=False, label=_("Leave this field empty"))

    def __init__(self, *args, brand: Brand, **kwargs):
        super().__init__(*args, **kwargs)
        brand_ids = [brand.pk] + ([brand.parent_id] if brand.parent_id else [])
        self.fields["programme"].queryset = Programme.objects.filter(
            brand_id__in=brand_ids, is_active=True
        ).order_by("name")
        self.fields["programme"].error_messages["invalid_choice"] = _(
            "Choose a programme from the list."
        )

    def clean_phone(self):
        value = self.cleaned_data["phone"].strip()
        if value and not normalise_phone(value):
            raise forms.ValidationError(
                _("This phone number is not valid (example: 06 12 34 56 78).")
            )
        return value

    def clean_postcode(self):
        value = self.cleaned_data["postcode"].strip()
        if value and not _POSTCODE_RE.match(value):
            raise forms.ValidationError(_("This postcode is not valid (example: 75015)."))
        return value

    @property
    def is_robot(self) -> bool:
        return bool(self.data.get(HONEYPOT_FIELD, "").strip())

    def consents(self) -> list[tuple[str, bool]]:
        """Consents ticked on the form; an unticked box withdraws nothing given elsewhere."""
        return [(kind, True) for name, kind in CONSENT_FIELDS.items() if self.cleaned_data[name]]

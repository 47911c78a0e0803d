"""Forms of the staff workspace (ticket page, viewer pages): validation only; the services in
`contacts.services` and `replies.services` do the work."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import STATUS_TRANSITIONS, Civility, ConsentKind, Outcome, SenderKind, Status


class _Versioned(forms.Form):
    # The ticket's version when the page was rendered: a post against an older one is refused.
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class NoteForm(_Versioned):
    body = forms.CharField(
        label=_("Internal note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10000,
        help_text=_("Never shown to the viewer."),
    )


def status_choices(status: str) -> list[tuple[str, str]]:
    """Where the ticket may go from `status`, resolving and closing aside (their own forms)."""
    allowed = STATUS_TRANSITIONS.get(status, frozenset())
    return [
        (s.value, s.label)
        for s in Status
        if s in allowed and s not in (Status.RESOLVED, Status.CLOSED, Status.NEW)
    ]


class StatusForm(_Versioned):
    to = forms.ChoiceField(label=_("New status"), choices=[])
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=2000)

    def __init__(self, *args, status: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].choices = status_choices(status)


class ResolveForm(_Versioned):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[(o.value, o.label) for o in Outcome if o != Outcome.MEDIATION],
        initial=Outcome.ANSWERED,
    )
    reason = forms.CharField(label=_("Comment (optional)"), required=False, max_length=2000)


class MergeTicketForm(_Versioned):
    target = forms.CharField(
        label=_("Merge into ticket"),
        max_length=20,
        help_text=_("Reference of the ticket that stays (FTV-2026-000123)."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=2000)


class PhoneScoreForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("Score given on the phone"),
        coerce=int,
        choices=[(n, str(n)) for n in range(1, 6)],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(label=_("Comment"), required=False, max_length=4000)


class ViewerForm(forms.Form):
    civility = forms.ChoiceField(label=_("Civility"), choices=Civility.choices, required=False)
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    organisation = forms.CharField(label=_("Organisation"), max_length=200, required=False)
    sender_kind = forms.ChoiceField(label=_("Kind of sender"), choices=SenderKind.choices)
    address_line1 = forms.CharField(label=_("Address"), max_length=200, required=False)
    address_line2 = forms.CharField(label=_("Address (continued)"), max_length=200, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=16, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    country = forms.CharField(label=_("Country (ISO code)"), max_length=2, initial="FR")
    emails = forms.CharField(
        label=_("Email addresses"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line; the first is the primary address."),
    )
    phones = forms.CharField(
        label=_("Phone numbers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line; the first is the primary number."),
    )

    def clean_emails(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["emails"].splitlines()]
        validator = forms.EmailField()
        return [validator.clean(line) for line in lines if line]

    def clean_phones(self) -> list[str]:
        from .services.viewers import normalise_phone

        lines = [line.strip() for line in self.cleaned_data["phones"].splitlines() if line.strip()]
        for line in lines:
            if not normalise_phone(line):
                raise forms.ValidationError(
                    _("Not a valid phone number: %(number)s") % {"number": line}
                )
        return lines


class ConsentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Consent"), choices=ConsentKind.choices)
    granted = forms.TypedChoiceField(
        label=_("Statement"),
        coerce=lambda v: v == "1",
        choices=[("1", _("Granted")), ("0", _("Withdrawn"))],
    )
    source = forms.CharField(
        label=_("Source"),
        max_length=100,
        help_text=_("Where the viewer said so: phone call, letter of 12/03, email…"),
    )


class ViewerMergeForm(forms.Form):
    other = forms.IntegerField(label=_("Viewer number to merge into this one"), min_value=1)

"""Input forms of the mediation screens: validation of what is typed, nothing more (the
services hold the rules)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from contacts.models import Brand, Programme, Topic

from .models import CaseOutcome, Desk, EvidenceKind

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_TOPICS = [("", "—"), *Topic.choices]


class CaseForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=300)
    desk = forms.ChoiceField(label=_("Desk"), choices=Desk.choices)
    brand = forms.ModelChoiceField(
        label=_("Brand"), queryset=Brand.objects.filter(is_active=True), required=False
    )
    programme = forms.ModelChoiceField(
        label=_("Programme"),
        queryset=Programme.objects.select_related("brand").order_by("name"),
        required=False,
    )
    air_date = forms.DateField(label=_("Air date"), required=False, widget=_DATE)
    topic = forms.ChoiceField(label=_("Topic"), choices=_TOPICS, required=False)
    summary = forms.CharField(
        label=_("Summary of the complaint"),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
    )


class CaseEditForm(CaseForm):
    desk = None
    due_on = forms.DateField(label=_("Deadline"), widget=_DATE)


class AssignForm(forms.Form):
    mediator = forms.ModelChoiceField(
        label=_("Mediator in charge"),
        queryset=User.objects.filter(role=Role.MEDIATOR, is_active=True),
    )


class CloseForm(forms.Form):
    # The empty first choice: a case is never closed by a default nobody chose.
    outcome = forms.ChoiceField(label=_("Outcome"), choices=CaseOutcome.choices)


class ReopenForm(forms.Form):
    reason = forms.CharField(label=_("Why reopen the case?"), max_length=500)


class TicketSearchForm(forms.Form):
    programme = forms.ModelChoiceField(
        label=_("Programme"),
        queryset=Programme.objects.select_related("brand").order_by("name"),
        required=False,
    )
    brand = forms.ModelChoiceField(
        label=_("Brand"), queryset=Brand.objects.filter(is_active=True), required=False
    )
    received_from = forms.DateField(label=_("Received from"), required=False, widget=_DATE)
    received_to = forms.DateField(label=_("to"), required=False, widget=_DATE)
    keywords = forms.CharField(label=_("Keywords"), required=False, max_length=200)


class EvidenceForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=EvidenceKind.choices)
    label = forms.CharField(label=_("Description"), max_length=300)
    timecode = forms.RegexField(
        label=_("Time code"),
        regex=r"^\d{1,2}:\d{2}(:\d{2})?$",
        required=False,
        help_text=_("hh:mm:ss in the broadcast"),
    )
    url = forms.URLField(label=_("Link"), required=False, max_length=1000, assume_scheme="https")
    file = forms.FileField(label=_("File"), required=False)


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Confidential note"), widget=forms.Textarea(attrs={"rows": 4}))


class CommentRequestForm(forms.Form):
    department = forms.CharField(label=_("Department"), max_length=200)
    recipient_name = forms.CharField(label=_("Recipient's name"), max_length=200)
    recipient_email = forms.EmailField(label=_("Recipient's email"))
    question = forms.CharField(label=_("Question"), widget=forms.Textarea(attrs={"rows": 8}))
    due_on = forms.DateField(label=_("Answer expected by"), widget=_DATE)


class OpinionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=300)
    question = forms.CharField(
        label=_("The viewers' question (no names, no addresses)"),
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    department_answer = forms.CharField(
        label=_("The department's answer"),
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
    )
    body = forms.CharField(
        label=_("The mediator's opinion"), widget=forms.Textarea(attrs={"rows": 12})
    )


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("approve", _("Approve")), ("return", _("Return for changes"))],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )


class ReplyForm(forms.Form):
    message = forms.CharField(
        label=_("Message to the viewers (before the link to the opinion)"),
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
    )


class ModerateForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


# --- public forms ------------------------------------------------------------------------------


class PublicCommentForm(forms.Form):
    author_name = forms.CharField(label=_("Your name (published)"), max_length=100)
    email = forms.EmailField(label=_("Your email (not published; we send you a confirmation link)"))
    body = forms.CharField(
        label=_("Your comment"), max_length=4000, widget=forms.Textarea(attrs={"rows": 6})
    )
    # A field people do not see: robots fill it in.
    website = forms.CharField(required=False, widget=forms.HiddenInput)


class DepartmentAnswerForm(forms.Form):
    answered_by_name = forms.CharField(label=_("Your name and position"), max_length=200)
    answer = forms.CharField(label=_("Your comment"), widget=forms.Textarea(attrs={"rows": 14}))

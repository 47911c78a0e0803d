"""Configuration of triage and SLAs in the back office, for managers.

Triage policy versions: a draft's rules are edited inline (conditions and actions as JSON in
``routing.rules``' format, checked on save with the rule engine's own messages), dry-run on the
last 1,000 tickets, then published. Live and retired versions are read-only: "copy as a new
draft" starts the next change. Rights come from ``accounts.permissions`` (manage_rules,
manage_sla) through PolicyModelAdmin.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.services import audit_record
from frt_crm.admin import PolicyModelAdmin

from . import rules, services
from .models import PolicyRule, PolicyVersion, SlaPolicy, TriageClassifier


def _check(data: dict) -> str | None:
    """The rule engine's complaint about a policy dict, or None when it compiles."""
    try:
        services.policy_compile(data)
    except services.PolicyError as exc:
        return str(exc)
    return None


class PolicyVersionForm(forms.ModelForm):
    class Meta:
        model = PolicyVersion
        fields = ["version", "note", "defaults", "lexicons", "sender_lists"]

    def clean(self):
        cleaned = super().clean()
        label = cleaned.get("version") or "draft"
        checks = [
            ("defaults", {"defaults": cleaned.get("defaults") or {}}),
            ("lexicons", {"lexicons": cleaned.get("lexicons") or {}}),
            (
                "sender_lists",
                {
                    "lexicons": cleaned.get("lexicons") or {},
                    "sender_lists": cleaned.get("sender_lists") or [],
                },
            ),
        ]
        for field, part in checks:
            if field in self.errors:
                continue
            if field == "lexicons" and not isinstance(part["lexicons"], dict):
                self.add_error(field, _("Word lists must be a JSON object {name: [terms]}."))
                continue
            if field == "sender_lists" and not isinstance(part["sender_lists"], list):
                self.add_error(field, _("Sender lists must be a JSON list of objects."))
                continue
            problem = _check({"version": label, "rules": [], **part})
            if problem:
                self.add_error(field, problem)
        return cleaned


class PolicyRuleForm(forms.ModelForm):
    class Meta:
        model = PolicyRule
        fields = ["order", "code", "name", "enabled", "stop", "weight", "conditions", "actions"]
        widgets = {
            "conditions": forms.Textarea(attrs={"rows": 4, "cols": 70}),
            "actions": forms.Textarea(attrs={"rows": 2, "cols": 50}),
        }

    def __init__(self, *args, parent: PolicyVersion | None = None, **kwargs):
        # The version as edited on the same page (its word lists may have just changed).
        self.parent = parent
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if self.errors or not cleaned.get("code"):
            return cleaned
        data = {
            "code": cleaned["code"],
            "name": cleaned.get("name") or "",
            "order": cleaned.get("order") if cleaned.get("order") is not None else 100,
            "enabled": cleaned.get("enabled", True),
            "stop": cleaned.get("stop", False),
            "weight": cleaned.get("weight") if cleaned.get("weight") is not None else 1.0,
            "conditions": cleaned.get("conditions") or {},
            "actions": cleaned.get("actions") or {},
        }
        for field in ("conditions", "actions"):
            if not isinstance(data[field], dict):
                self.add_error(field, _("Expected a JSON object."))
                return cleaned
        try:
            rules.rule_from_dict(data)
        except ValueError as exc:
            message = str(exc)
            field = (
                "conditions"
                if "conditions" in message
                else ("actions" if "actions" in message else None)
            )
            self.add_error(field, message)
            return cleaned
        # Terms are compiled against this version's word lists (unknown @list, bad prefix…)
        # and its sender lists: a rule may name them ("expediteur-institutionnel" does).
        lexicons = (self.parent.lexicons if self.parent is not None else None) or {}
        sender_lists = (self.parent.sender_lists if self.parent is not None else None) or []
        if not isinstance(sender_lists, list) or _check(
            {"version": "check", "lexicons": lexicons, "sender_lists": sender_lists}
        ):
            sender_lists = []  # the version's own field says what is wrong with them
        problem = _check(
            {
                "version": "check",
                "lexicons": lexicons,
                "sender_lists": sender_lists,
                "rules": [data],
            }
        )
        if problem:
            self.add_error("conditions", problem)
        return cleaned


class PolicyRuleFormSet(forms.BaseInlineFormSet):
    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "parent": self.instance}

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        rows = []
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            c = form.cleaned_data
            rows.append(
                {
                    "code": c["code"],
                    "name": c["name"],
                    "order": c.get("order", 100),
                    "enabled": c.get("enabled", True),
                    "stop": c.get("stop", False),
                    "weight": c.get("weight", 1.0),
                    "conditions": c.get("conditions") or {},
                    "actions": c.get("actions") or {},
                }
            )
        version = self.instance
        problem = _check(
            {
                "version": version.version or "draft",
                "defaults": version.defaults or {},
                "lexicons": version.lexicons or {},
                "sender_lists": version.sender_lists or [],
                "rules": rows,
            }
        )
        if problem:
            raise ValidationError(problem)


class PolicyRuleInline(admin.StackedInline):
    model = PolicyRule
    form = PolicyRuleForm
    formset = PolicyRuleFormSet
    extra = 0
    ordering = ["order", "code"]
    fields = [("order", "code", "name"), ("enabled", "stop", "weight"), "conditions", "actions"]

    def _editable(self, request, obj) -> bool:
        from accounts import permissions

        return permissions.can(request.user, "manage_rules") and (obj is None or obj.is_editable)

    def has_view_permission(self, request, obj=None):
        from accounts import permissions

        return permissions.can(request.user, "manage_rules")

    def has_add_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(request, obj)


@admin.register(PolicyVersion)
class PolicyVersionAdmin(PolicyModelAdmin):
    policy_action = "manage_rules"
    form = PolicyVersionForm
    inlines = [PolicyRuleInline]
    list_display = ["version", "state", "rule_count", "created_at", "dry_run_at", "published_at"]
    list_filter = ["state"]
    readonly_fields = [
        "state",
        "based_on",
        "created_at",
        "created_by",
        "dry_run_link",
        "dry_run_at",
        "dry_run_summary",
        "published_at",
        "published_by",
    ]
    fieldsets = [
        (None, {"fields": ["version", "state", "note", "dry_run_link"]}),
        (
            _("Defaults, word lists, sender lists (JSON)"),
            {
                "fields": ["defaults", "lexicons", "sender_lists"],
                "classes": ["collapse"],
            },
        ),
        (
            _("History"),
            {
                "fields": [
                    "based_on",
                    "created_at",
                    "created_by",
                    "dry_run_at",
                    "dry_run_summary",
                    "published_at",
                    "published_by",
                ],
            },
        ),
    ]
    actions = ["copy_as_draft"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(rules_count=Count("rules"))

    @admin.display(description=_("rules"), ordering="rules_count")
    def rule_count(self, obj: PolicyVersion) -> int:
        return obj.rules_count

    @admin.display(description=_("dry run"))
    def dry_run_link(self, obj: PolicyVersion) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("admin:routing_policyversion_dry_run", args=[obj.pk])
        text = _("Dry run on the last 1,000 tickets") if obj.is_editable else _("Compare")
        return format_html('<a class="button" href="{}">{}</a>', url, text)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.is_editable)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.is_editable)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            obj.state = PolicyVersion.State.DRAFT
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Any edit of a draft invalidates its last dry run (publication needs a fresh one).
        services.policy_version_mark_edited(version=form.instance)
        audit_record(
            actor=request.user,
            action="triage_policy.edit",
            obj=form.instance,
            data={"changed": form.changed_data},
            request=request,
        )

    @admin.action(description=_("Copy as a new draft"))
    def copy_as_draft(self, request, queryset):
        for source in queryset:
            label = f"{source.version}-{timezone.localtime():%Y%m%d%H%M%S}"[:32]
            draft = services.policy_version_copy(source=source, version=label, by=request.user)
            messages.success(
                request,
                _("Draft %(version)s created: edit its rules, dry-run it, then publish it.")
                % {"version": draft.version},
            )

    def get_urls(self):
        own = [
            path(
                "<int:pk>/dry-run/",
                self.admin_site.admin_view(self.dry_run_view),
                name="routing_policyversion_dry_run",
            ),
            path(
                "<int:pk>/publish/",
                self.admin_site.admin_view(require_POST(self.publish_view)),
                name="routing_policyversion_publish",
            ),
        ]
        return own + super().get_urls()

    def dry_run_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self._allowed(request):
            raise PermissionDenied
        version = get_object_or_404(PolicyVersion, pk=pk)
        result = None
        error = None
        if request.method == "POST":
            try:
                result = services.policy_dry_run(version=version, by=request.user)
            except services.PolicyError as exc:
                error = str(exc)
            version.refresh_from_db()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Dry run of version %(v)s") % {"v": version.version},
            "version": version,
            "result": result,
            "changed_rows": [r for r in result.rows if r.changed] if result else [],
            "error": error,
            "can_publish": version.is_editable and version.dry_run_at is not None,
        }
        return TemplateResponse(request, "routing/admin/dry_run.html", context)

    def publish_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self._allowed(request):
            raise PermissionDenied
        version = get_object_or_404(PolicyVersion, pk=pk)
        try:
            services.policy_version_publish(version=version, by=request.user)
        except services.PolicyError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(
                reverse("admin:routing_policyversion_dry_run", args=[version.pk])
            )
        messages.success(request, _("Version %(v)s is now live.") % {"v": version.version})
        return HttpResponseRedirect(reverse("admin:routing_policyversion_changelist"))


@admin.register(TriageClassifier)
class TriageClassifierAdmin(PolicyModelAdmin):
    """Trained by `manage.py train_classifier`; here managers only choose which one is used."""

    policy_action = "manage_rules"
    read_only = True
    list_display = ["created_at", "source", "examples", "accuracy", "is_active"]
    fields = ["created_at", "trained_by", "source", "examples", "metrics", "is_active"]
    readonly_fields = fields
    actions = ["use_classifier", "stop_classifier"]

    @admin.display(description=_("cross-validated accuracy (level / topic)"))
    def accuracy(self, obj: TriageClassifier) -> str:
        m = obj.metrics or {}
        level, topic = m.get("level_accuracy"), m.get("topic_accuracy")
        if level is None or topic is None:
            return "—"
        return f"{level:.0%} / {topic:.0%}"

    @admin.action(description=_("Use this classifier for triage"))
    def use_classifier(self, request, queryset):
        if queryset.count() != 1:
            messages.error(request, _("Choose exactly one classifier."))
            return
        services.classifier_activate(classifier=queryset.get(), by=request.user)
        messages.success(request, _("The classifier is in use."))

    @admin.action(description=_("Stop using the classifier (rules only)"))
    def stop_classifier(self, request, queryset):
        services.classifier_activate(classifier=None, by=request.user)
        messages.success(request, _("Triage now uses the rules only."))


@admin.register(SlaPolicy)
class SlaPolicyAdmin(PolicyModelAdmin):
    policy_action = "manage_sla"
    list_display = [
        "kind",
        "level",
        "channel",
        "first_response_amount",
        "first_response_unit",
        "resolution_amount",
        "resolution_unit",
        "is_active",
    ]
    list_filter = ["kind", "level", "is_active"]

"""The managers' dashboards, the cost model, the tickets behind a figure, and the exports.

Each view: one permission check at the top (accounts.permissions), a selector for the data,
a service for the writes. Agents, the mailroom, SRT and mediators get 403 everywhere here.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts import permissions
from contacts.models import Channel

from . import selectors
from .filters import GRAINS, PERIODS, Filters
from .forms import CostRateForm, WhatIfForm
from .models import RollupState
from .selectors.volumes import DIMENSIONS
from .services.exports import FORMATS, table_export
from .services.rates import cost_rate_create

TABS = (
    ("overview", "reporting:dashboard", "view_dashboards"),
    ("volumes", "reporting:volumes", "view_dashboards"),
    ("service", "reporting:service", "view_dashboards"),
    ("satisfaction", "reporting:satisfaction", "view_dashboards"),
    ("trends", "reporting:trends", "view_dashboards"),
    ("cost", "reporting:cost", "view_cost"),
)


def _tab_labels() -> dict[str, str]:
    return {
        "overview": _("Overview"),
        "volumes": _("Volumes"),
        "service": _("Service levels"),
        "satisfaction": _("Satisfaction"),
        "trends": _("Trends"),
        "cost": _("Cost model"),
    }


def _scope(request: HttpRequest, *, default_grain: str = "week") -> selectors.Scope:
    filters = Filters.from_query(request.GET, default_grain=default_grain)
    return selectors.Scope.build(user=request.user, filters=filters)


def _context(request: HttpRequest, scope: selectors.Scope, page, *, tab: str) -> dict:
    labels = _tab_labels()
    brands = [b for b in scope.brands.values() if b.parent_id is None]
    visible = scope.visible_brands
    if visible is not None:
        brands = [b for b in brands if b.pk in visible]
    state = RollupState.objects.filter(name="main").only("last_run_at").first()
    return {
        "page": page,
        "tab": tab,
        "tabs": [
            {"slug": slug, "url_name": url_name, "label": labels[slug]}
            for slug, url_name, action in TABS
            if permissions.can(request.user, action)
        ],
        "filters": scope.filters,
        "query": scope.filters.query(),
        "brands": sorted(brands, key=lambda b: (b.order, b.name)),
        "teams": sorted(scope.teams.values(), key=lambda t: (t.level, t.name)),
        "channels": Channel.choices,
        "periods": [(k, k) for k in PERIODS],
        "grains": GRAINS,
        "can_export": permissions.can(request.user, "export"),
        "refreshed_at": state.last_run_at if state else None,
    }


def _page_view(request: HttpRequest, name: str, *, tab: str, **kwargs) -> HttpResponse:
    permissions.require(request.user, "view_dashboards")
    scope = _scope(request)
    page = selectors.PAGES[name](scope=scope, **kwargs)
    context = _context(request, scope, page, tab=tab)
    context.update(kwargs)
    return render(request, "reporting/page.html", context)


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return _page_view(request, "overview", tab="overview")


@login_required
@require_GET
def volumes(request: HttpRequest) -> HttpResponse:
    dimension = request.GET.get("dimension") or "channel"
    if dimension not in DIMENSIONS:
        dimension = "channel"
    permissions.require(request.user, "view_dashboards")
    scope = _scope(request)
    page = selectors.volumes_page(scope=scope, dimension=dimension)
    context = _context(request, scope, page, tab="volumes")
    context["dimension"] = dimension
    context["dimensions"] = [
        ("channel", _("Channel")),
        ("brand", _("Brand")),
        ("programme", _("Programme")),
        ("topic", _("Topic")),
        ("level", _("Level")),
    ]
    return render(request, "reporting/page.html", context)


@login_required
@require_GET
def service(request: HttpRequest) -> HttpResponse:
    return _page_view(request, "service", tab="service")


@login_required
@require_GET
def satisfaction(request: HttpRequest) -> HttpResponse:
    return _page_view(request, "satisfaction", tab="satisfaction")


@login_required
@require_GET
def trends(request: HttpRequest) -> HttpResponse:
    return _page_view(request, "trends", tab="trends")


@login_required
@require_http_methods(["GET", "POST"])
def cost(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "view_cost")
    form = CostRateForm(request.POST or None)
    if request.method == "POST":
        permissions.require(request.user, "manage_reference_data")
        if form.is_valid():
            cost_rate_create(**form.cleaned_data, by=request.user)
            messages.success(request, _("Rates saved."))
            return redirect(f"{request.path}?{request.GET.urlencode()}")
    what_if = WhatIfForm(request.GET or None)
    scope = _scope(request)
    page = selectors.cost_page(scope=scope, overrides=what_if.overrides())
    context = _context(request, scope, page, tab="cost")
    context.update(
        rate_form=form,
        what_if=what_if,
        can_edit_rates=permissions.can(request.user, "manage_reference_data"),
    )
    return render(request, "reporting/page.html", context)


@login_required
@require_GET
def tickets(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "view_dashboards")
    scope = _scope(request)
    result = selectors.dashboard_tickets(
        scope=scope, params=request.GET, cursor=request.GET.get("after", "")
    )
    params = request.GET.copy()
    params.pop("after", None)
    context = _context(request, scope, None, tab="")
    context.update(result=result, base_query=params.urlencode())
    brand_names = {b.pk: b.name for b in scope.brands.values()}
    context["brand_names"] = brand_names
    return render(request, "reporting/tickets.html", context)


@login_required
@require_GET
def export(request: HttpRequest, page: str, table: str, fmt: str) -> HttpResponse:
    permissions.require(request.user, "view_dashboards")
    permissions.require(request.user, "export")
    if page not in selectors.PAGES or fmt not in FORMATS:
        raise Http404
    if page == "cost":
        permissions.require(request.user, "view_cost")
    scope = _scope(request)
    kwargs = {}
    if page == "volumes":
        dimension = request.GET.get("dimension") or "channel"
        kwargs["dimension"] = dimension if dimension in DIMENSIONS else "channel"
    if page == "cost":
        kwargs["overrides"] = WhatIfForm(request.GET or None).overrides()
    built = selectors.PAGES[page](scope=scope, **kwargs)
    found = built.table(table)
    if found is None:
        raise Http404
    file = table_export(
        table=found, fmt=fmt, page=page, filters=scope.filters, user=request.user, request=request
    )
    response = HttpResponse(file.content, content_type=file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    return response

"""Pages of the routing app: a team's queue, "take next", and the ticket actions that move a
ticket between levels and teams (POST endpoints the ticket page links its forms to).

One role check at the top of each view; reads through selectors, writes through services.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from accounts.models import Role
from contacts.selectors import ticket_get_for_user
from contacts.services import StaleTicket

from . import selectors, services
from .forms import QueueFilterForm, ReasonForm, RerouteForm

PAGE_SIZE = 50
ALL_QUEUES = "all"


def ticket_path(ticket_id: int) -> str:
    """The ticket page (built by the workspace): linked by path, not by url name."""
    return f"/tickets/{ticket_id}/"


def queue_columns(*, user, team) -> list[str]:
    """The queue's columns for this user: level-1 agents see what their scripts need; staff of
    levels 2 and 3 and managers also see the programme, and the level and team when looking
    at several queues at once."""
    role = permissions.role_of(user)
    columns = ["reference", "subject", "viewer", "channel", "brand", "topic", "priority", "sla"]
    if role != Role.AGENT:
        columns.insert(5, "programme")
    if team is None:
        columns += ["level", "team"]
    return [*columns, "age", "due", "assignee"]


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "view_queue")
    teams = selectors.team_queues_for(request.user)
    form = QueueFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else {}
    wanted = request.GET.get("team", "")
    by_code = {t.code: t for t in teams}
    if wanted == ALL_QUEUES:
        team = None
    elif wanted in by_code:
        team = by_code[wanted]
    elif permissions.can(request.user, "view_dashboards") or not teams:
        team = None  # managers start from every queue of their scope
    else:
        team = teams[0]
    page = selectors.queue_list(
        user=request.user,
        team=team,
        filters=filters,
        after=request.GET.get("after") or None,
        limit=PAGE_SIZE,
    )
    next_url = None
    if page.next_cursor:
        params = request.GET.copy()
        params["after"] = page.next_cursor
        if team is not None:
            params["team"] = team.code
        next_url = f"{request.path}?{params.urlencode()}"
    first_url = None
    if request.GET.get("after"):
        params = request.GET.copy()
        params.pop("after", None)
        first_url = f"{request.path}?{params.urlencode()}"
    return render(
        request,
        "routing/queue.html",
        {
            "form": form,
            "filters": filters,
            "teams": teams,
            "team": team,
            "team_code": team.code if team else ALL_QUEUES,
            "page": page,
            "columns": queue_columns(user=request.user, team=team),
            "next_url": next_url,
            "first_url": first_url,
            # "Take next" serves the queues of the teams the user belongs to.
            "can_take_next": any(t.is_member for t in teams),
        },
    )


@login_required
@require_POST
def take_next(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "view_queue")
    ticket = services.ticket_take_next(user=request.user)
    if ticket is None:
        messages.info(request, _("No ticket is waiting in your queues."))
        return redirect("routing:queue")
    messages.success(request, _("Ticket %(ref)s is yours.") % {"ref": ticket.reference})
    return HttpResponseRedirect(ticket_path(ticket.pk))


def _back(request: HttpRequest, ticket_id: int) -> HttpResponseRedirect:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(ticket_path(ticket_id))


def _move(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    ticket = ticket_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, action, ticket)
    form_class = RerouteForm if action == "reroute" else ReasonForm
    form = form_class(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _back(request, ticket.pk)
    data = form.cleaned_data
    try:
        if action == "escalate":
            moved = services.ticket_escalate(
                ticket=ticket,
                by=request.user,
                reason=data["reason"],
                expected_version=data.get("version"),
            )
            done = _("Ticket %(ref)s escalated to level %(level)s.")
        elif action == "send_back":
            moved = services.ticket_send_back(
                ticket=ticket,
                by=request.user,
                reason=data["reason"],
                expected_version=data.get("version"),
            )
            done = _("Ticket %(ref)s sent back to level %(level)s.")
        else:
            moved = services.ticket_reroute(
                ticket=ticket,
                by=request.user,
                reason=data["reason"],
                level=data.get("level"),
                team=data.get("team"),
                topic=data.get("topic") or None,
                expected_version=data.get("version"),
            )
            done = _("Ticket %(ref)s re-routed (level %(level)s).")
    except (services.RoutingError, StaleTicket) as exc:
        messages.error(request, str(exc))
        return _back(request, ticket.pk)
    messages.success(request, done % {"ref": moved.reference, "level": moved.level})
    if not permissions.can(request.user, "view", moved):
        # Escalated out of the user's sight (an agent's ticket now at level 2): back to work.
        return redirect("routing:queue")
    return _back(request, moved.pk)


@login_required
@require_POST
def escalate(request: HttpRequest, pk: int) -> HttpResponse:
    return _move(request, pk, "escalate")


@login_required
@require_POST
def send_back(request: HttpRequest, pk: int) -> HttpResponse:
    return _move(request, pk, "send_back")


@login_required
@require_POST
def reroute(request: HttpRequest, pk: int) -> HttpResponse:
    return _move(request, pk, "reroute")

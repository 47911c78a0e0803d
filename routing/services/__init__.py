"""The write path of the routing app. Modules: `policies` (stored triage policy, dry run,
publication, classifier), `facts` (what the triage knows about a ticket), `triage` (applying a
decision once; the stalled-ticket sweep), `workflow` (escalate, send back, re-route, take
next). SLA clocks live in `routing.sla`."""

from .facts import facts_for_tickets, subject_key
from .policies import (
    DryRunResult,
    PolicyError,
    classifier_activate,
    classifier_store,
    decide_live,
    live_classifier,
    live_policy,
    policy_compile,
    policy_dry_run,
    policy_version_as_dict,
    policy_version_compile,
    policy_version_copy,
    policy_version_load,
    policy_version_mark_edited,
    policy_version_publish,
    reset_caches,
)
from .triage import team_by_code, ticket_triage, triage_sweep_stalled
from .workflow import (
    ReasonRequired,
    RoutingError,
    team_for_level,
    ticket_escalate,
    ticket_reroute,
    ticket_send_back,
    ticket_take_next,
)

__all__ = [
    "DryRunResult",
    "PolicyError",
    "ReasonRequired",
    "RoutingError",
    "classifier_activate",
    "classifier_store",
    "decide_live",
    "facts_for_tickets",
    "live_classifier",
    "live_policy",
    "policy_compile",
    "policy_dry_run",
    "policy_version_as_dict",
    "policy_version_compile",
    "policy_version_copy",
    "policy_version_load",
    "policy_version_mark_edited",
    "policy_version_publish",
    "reset_caches",
    "subject_key",
    "team_by_code",
    "team_for_level",
    "ticket_escalate",
    "ticket_reroute",
    "ticket_send_back",
    "ticket_take_next",
    "ticket_triage",
    "triage_sweep_stalled",
]

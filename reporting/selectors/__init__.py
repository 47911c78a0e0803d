"""Reads of the dashboards: one builder per page, each returning a `reporting.tables.Page`.

They read the rollup tables (never a scan of the ticket table), except the live backlog (the
open tickets, on their partial index) and the bounded lists (breaches, comments, tickets).
"""

from .calls import cost_page
from .common import Scope
from .overview import overview_page, trends_page
from .satisfaction import satisfaction_page
from .service import service_page
from .tickets import dashboard_tickets
from .volumes import volumes_page

PAGES = {
    "overview": overview_page,
    "volumes": volumes_page,
    "service": service_page,
    "satisfaction": satisfaction_page,
    "trends": trends_page,
    "cost": cost_page,
}

__all__ = [
    "PAGES",
    "Scope",
    "cost_page",
    "dashboard_tickets",
    "overview_page",
    "satisfaction_page",
    "service_page",
    "trends_page",
    "volumes_page",
]

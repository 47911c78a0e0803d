"""The write path of the contacts app: every change of a ticket, contact or viewer goes
through a function of this package. Modules: `tickets` (open, status, assignment, notes,
references), `viewers` (create, normalisation); the intake and replies add theirs."""

from .tickets import (
    REFERENCE_PREFIX,
    InvalidTransition,
    StaleTicket,
    enqueue_triage,
    format_reference,
    note_add,
    ticket_assign,
    ticket_change_status,
    ticket_open,
    ticket_reference_block,
    ticket_reference_next,
)
from .viewers import (
    ViewerDetails,
    fold,
    normalise_email,
    normalise_phone,
    viewer_create,
    viewer_refresh_search_text,
    viewer_search_text,
)

__all__ = [
    "REFERENCE_PREFIX",
    "InvalidTransition",
    "StaleTicket",
    "ViewerDetails",
    "enqueue_triage",
    "fold",
    "format_reference",
    "normalise_email",
    "normalise_phone",
    "note_add",
    "ticket_assign",
    "ticket_change_status",
    "ticket_open",
    "ticket_reference_block",
    "ticket_reference_next",
    "viewer_create",
    "viewer_refresh_search_text",
    "viewer_search_text",
]

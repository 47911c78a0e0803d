"""The permission policy as a matrix: each role × each kind of object × read/write."""

import pytest

from accounts import permissions
from contacts.models import InternalNote
from tests.factories import TicketFactory, ViewerFactory, brand

pytestmark = pytest.mark.django_db

ROLES = ["agent", "outsider", "mailroom", "srt", "srt3", "mediator", "manager", "admin"]

# (level, brand) → roles that may read / work the ticket.
TICKET_MATRIX = {
    (1, "france2"): (
        {"agent", "srt", "mediator", "manager", "admin"},
        {"agent", "srt", "manager", "admin"},
    ),
    (2, "france2"): (
        {"srt", "mediator", "manager", "admin"},
        {"srt", "manager", "admin"},
    ),
    # A level-3 ticket nobody of the SRT escalated: the mediators' (tests/security).
    (3, "france2"): (
        {"mediator", "manager", "admin"},
        {"mediator", "manager", "admin"},
    ),
    (1, "france3-bretagne"): (
        {"agent", "srt3", "mediator", "manager", "admin"},
        {"agent", "srt3", "manager", "admin"},
    ),
    (2, "france5"): (
        {"mediator", "manager", "admin"},
        {"manager", "admin"},
    ),
    (1, "france5"): (
        {"outsider", "mediator", "manager", "admin"},
        {"outsider", "manager", "admin"},
    ),
}


@pytest.mark.parametrize(("level", "brand_code"), list(TICKET_MATRIX))
def test_ticket_read_and_work_follow_level_and_brand_scope(personas, level, brand_code):
    ticket = TicketFactory(level=level, brand=brand(brand_code))
    readers, workers = TICKET_MATRIX[(level, brand_code)]
    for role in ROLES:
        user = personas[role]
        assert permissions.can(user, "view", ticket) is (role in readers), (role, "view")
        assert permissions.can(user, "work", ticket) is (role in workers), (role, "work")


def test_external_agent_is_refused_a_level_2_ticket_and_another_brands_ticket(personas):
    agent = personas["agent"]
    assert not permissions.can(agent, "view", TicketFactory(level=2, brand=brand("france2")))
    assert not permissions.can(agent, "view", TicketFactory(level=1, brand=brand("france5")))


def test_ticket_without_brand_is_visible_at_the_users_levels(personas):
    ticket = TicketFactory(level=1, brand=None)
    assert permissions.can(personas["agent"], "view", ticket)
    assert permissions.can(personas["outsider"], "view", ticket)
    assert not permissions.can(personas["mailroom"], "view", ticket)


@pytest.mark.parametrize(
    ("note_level", "readers"),
    [
        (1, {"agent", "srt", "mediator", "manager", "admin"}),
        (2, {"srt", "mediator", "manager", "admin"}),
        (3, {"mediator", "manager", "admin"}),
    ],
)
def test_internal_notes_by_level(personas, note_level, readers):
    ticket = TicketFactory(level=1, brand=brand("france2"))
    note = InternalNote.objects.create(
        ticket=ticket, author=personas["srt"], level=note_level, body="Vu avec la rédaction."
    )
    for role in ROLES:
        assert permissions.can(personas[role], "view", note) is (role in readers), role


def test_level_2_notes_are_hidden_from_agents_even_after_the_ticket_goes_back(personas):
    ticket = TicketFactory(level=1, brand=brand("france2"))
    InternalNote.objects.create(ticket=ticket, author=personas["srt"], level=2, body="Interne")
    from contacts.selectors import ticket_notes_for_user

    assert list(ticket_notes_for_user(user=personas["agent"], ticket=ticket)) == []
    assert len(ticket_notes_for_user(user=personas["srt"], ticket=ticket)) == 1


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        ("view", {"agent", "outsider", "mailroom", "srt", "srt3", "mediator", "manager", "admin"}),
        ("change", {"agent", "outsider", "mailroom", "srt", "srt3", "manager", "admin"}),
        ("merge", {"srt", "srt3", "manager", "admin"}),
    ],
)
def test_viewer_card(personas, action, allowed):
    viewer = ViewerFactory()
    for role in ROLES:
        assert permissions.can(personas[role], action, viewer) is (role in allowed), role


class _Fake:
    """Stands for the mediation models, which arrive with the mediation app."""

    brand_id = None

    def __init__(self, label):
        self._meta = type("Meta", (), {"label_lower": label})()


@pytest.mark.parametrize(
    ("label", "action", "allowed"),
    [
        ("mediation.case", "view", {"mediator", "manager"}),
        ("mediation.case", "change", {"mediator"}),
        ("mediation.confidentialnote", "view", {"mediator"}),
        ("mediation.confidentialnote", "add", {"mediator"}),
    ],
)
def test_mediation_files_and_confidential_notes(personas, label, action, allowed):
    for role in ROLES:
        assert permissions.can(personas[role], action, _Fake(label)) is (role in allowed), role


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        ("view_dashboards", {"manager", "admin"}),
        ("export", {"manager", "admin"}),
        ("view_cost", {"manager", "admin"}),
        ("manage_rules", {"manager", "admin"}),
        ("manage_templates", {"srt", "srt3", "manager", "admin"}),
        ("register_letters", {"mailroom", "srt", "srt3", "manager", "admin"}),
        ("print_letters", {"mailroom", "manager", "admin"}),
        ("view_audit", {"manager", "admin"}),
        ("view_quarantine", {"manager", "admin"}),
        ("log_call", {"agent", "outsider", "srt", "srt3", "manager", "admin"}),
        ("mediation_desk", {"mediator"}),
        ("mediation_overview", {"manager"}),
        ("mediation_figures", {"mediator", "manager"}),
    ],
)
def test_global_actions(personas, action, allowed):
    for role in ROLES:
        assert permissions.can(personas[role], action) is (role in allowed), role


def test_inactive_and_anonymous_users_may_do_nothing(personas):
    from django.contrib.auth.models import AnonymousUser

    ticket = TicketFactory(level=1, brand=brand("france2"))
    agent = personas["agent"]
    agent.is_active = False
    assert not permissions.can(agent, "view", ticket)
    assert not permissions.can(AnonymousUser(), "view", ticket)
    assert not permissions.can(AnonymousUser(), "view_queue")


def test_escalation_and_send_back_rights(personas):
    level1 = TicketFactory(level=1, brand=brand("france2"))
    level2 = TicketFactory(level=2, brand=brand("france2"))
    assert permissions.can(personas["agent"], "escalate", level1)
    assert not permissions.can(personas["agent"], "send_back", level1)
    assert permissions.can(personas["srt"], "escalate", level2)
    assert permissions.can(personas["srt"], "send_back", level2)
    assert not permissions.can(personas["agent"], "escalate", level2)

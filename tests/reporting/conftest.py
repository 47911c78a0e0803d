"""A small, fully known data set for the dashboards' figures, and helpers.

Time is frozen at Monday 16 March 2026, 12:00 in Paris (CET, before the switch to summer
time); the period under test is 2–15 March 2026. Every figure the tests expect is worked out
by hand from the rows below, in the test that checks it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import Role, Team
from contacts.models import (
    CallRecord,
    Channel,
    Contact,
    Direction,
    Status,
    TicketEvent,
    TicketEventKind,
)
from satisfaction.models import Survey
from tests.factories import TicketFactory, UserFactory, brand

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 16, 12, 0, tzinfo=PARIS)
PERIOD = {"from": "2026-03-02", "to": "2026-03-15"}
DAY = 86400


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def _english():
    # Tests read labels in English whatever the compiled catalogue holds.
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _ticket(code: str, **kw):
    team = kw.pop("team", None)
    brand_code = kw.pop("brand_code", "france2")
    contacts = kw.pop("inbound", 1)
    ticket = TicketFactory(
        reference=f"FTV-2026-{code}",
        brand=brand(brand_code),
        team=Team.objects.get(code=team) if team else None,
        **kw,
    )
    for i in range(contacts):
        Contact.objects.create(
            ticket=ticket,
            viewer=ticket.viewer,
            channel=ticket.channel,
            direction=Direction.INBOUND,
            occurred_at=ticket.created_at + timedelta(hours=i * 5),
            subject=ticket.subject,
            body_text="Bonjour",
        )
    return ticket


def _event(ticket, kind: str, when: datetime, **data):
    return TicketEvent.objects.create(ticket=ticket, kind=kind, at=when, data=data)


@pytest.fixture
def known(db, frozen):
    """Nine tickets in the period (T1–T8, T10), one before it (T9), five surveys, four calls.

    | ticket | channel | brand     | level | first answer due / done | resolution due / done |
    | T1     | email   | france2   | 1     | 04 10:00 / 03 10:00     | 09 / 05 10:00         |
    | T2     | email   | france2   | 1     | 04 11:00 / 05 11:00 late| 09 / 10 11:00 late    |
    | T3     | phone   | france3   | 1     | — / (resolved 09:10)    | — / 03 09:10          |
    | T4     | web     | france2   | 2 esc | 06 14:00 / 05 14:00     | 24 / open             |
    | T5     | letter  | france5   | 1     | 12 09:00 / none: late   | 19 / open             |
    | T6     | email   | f3 Bretagne | 3 esc | 16 10:00 / 10 10:00   | 20 Apr / open         |
    | T7     | phone   | france2   | 1 esc+back | — / (res 12 16:00) | — / 12 16:00          |
    | T8     | email   | france2   | 1     | 14 08:00 / 13 08:00     | 19 / 13 08:00         |
    | T10    | email   | france2   | 2     | 16 10:00 / none: late   | 1 Apr / open          |

    Every first answer was given at the ticket's current level (T4 and T6 were answered after
    their escalation): `level_first_responded_at` equals `first_responded_at` throughout.
    """
    t = {}
    t[1] = _ticket(
        "000001",
        channel=Channel.EMAIL,
        level=1,
        team="n1-call-centre",
        status=Status.CLOSED,
        topic="programme_info",
        created_at=at(2, 10),
        first_response_due_at=at(4, 10),
        first_responded_at=at(3, 10),
        level_first_responded_at=at(3, 10),
        resolution_due_at=at(9, 10),
        resolved_at=at(5, 10),
    )
    t[2] = _ticket(
        "000002",
        channel=Channel.EMAIL,
        level=1,
        team="n1-call-centre",
        status=Status.RESOLVED,
        topic="programme_info",
        created_at=at(2, 11),
        first_response_due_at=at(4, 11),
        first_responded_at=at(5, 11),
        level_first_responded_at=at(5, 11),
        resolution_due_at=at(9, 11),
        resolved_at=at(10, 11),
        inbound=2,
    )
    t[3] = _ticket(
        "000003",
        channel=Channel.PHONE,
        level=1,
        team="n1-call-centre",
        brand_code="france3",
        status=Status.RESOLVED,
        topic="reception_technical",
        created_at=at(3, 9),
        resolved_at=at(3, 9, 10),
    )
    t[4] = _ticket(
        "000004",
        channel=Channel.WEB,
        level=2,
        team="srt-france2",
        status=Status.IN_PROGRESS,
        topic="accessibility",
        created_at=at(4, 14),
        first_response_due_at=at(6, 14),
        first_responded_at=at(5, 14),
        level_first_responded_at=at(5, 14),
        resolution_due_at=at(24, 14),
    )
    t[5] = _ticket(
        "000005",
        channel=Channel.LETTER,
        level=1,
        team="n1-call-centre",
        brand_code="france5",
        status=Status.TRIAGED,
        topic="licence_fee",
        created_at=at(5, 9),
        first_response_due_at=at(12, 9),
        resolution_due_at=at(19, 9),
    )
    t[6] = _ticket(
        "000006",
        channel=Channel.EMAIL,
        level=3,
        team="mediator-programmes",
        brand_code="france3-bretagne",
        status=Status.IN_PROGRESS,
        topic="editorial_programmes",
        created_at=at(9, 10),
        first_response_due_at=at(16, 10),
        first_responded_at=at(10, 10),
        level_first_responded_at=at(10, 10),
        resolution_due_at=at(20, 10, month=4),
    )
    t[7] = _ticket(
        "000007",
        channel=Channel.PHONE,
        level=1,
        team="n1-call-centre",
        status=Status.RESOLVED,
        topic="replay_streaming",
        created_at=at(10, 16),
        resolved_at=at(12, 16),
    )
    t[8] = _ticket(
        "000008",
        channel=Channel.EMAIL,
        level=1,
        team="n1-call-centre",
        status=Status.RESOLVED,
        topic="praise",
        created_at=at(12, 8),
        first_response_due_at=at(14, 8),
        first_responded_at=at(13, 8),
        level_first_responded_at=at(13, 8),
        resolution_due_at=at(19, 8),
        resolved_at=at(13, 8),
    )
    t[9] = _ticket(
        "000009",
        channel=Channel.EMAIL,
        level=1,
        team="n1-call-centre",
        status=Status.CLOSED,
        topic="praise",
        created_at=at(1, 10),
        resolved_at=at(1, 12),
    )
    t[10] = _ticket(
        "000010",
        channel=Channel.EMAIL,
        level=2,
        team="srt-france2",
        status=Status.TRIAGED,
        topic="sport",
        created_at=at(14, 10),
        first_response_due_at=at(16, 10),
        resolution_due_at=at(1, 10, month=4),
    )
    _event(t[4], TicketEventKind.ESCALATED, at(4, 16))
    _event(t[6], TicketEventKind.ESCALATED, at(9, 15))
    _event(t[7], TicketEventKind.ESCALATED, at(10, 17))
    _event(t[7], TicketEventKind.SENT_BACK, at(11, 9))
    surveys = [
        (t[1], at(6, 9), at(6, 12), 5, ""),
        (t[2], at(11, 9), at(11, 20), 2, "Réponse toute faite."),
        (t[3], at(4, 9), at(4, 10), 4, ""),
        (t[8], at(13, 9), None, None, ""),
        (t[7], at(13, 9), at(13, 9, 30), 3, "Moyen."),
    ]
    for ticket, sent, answered, score, comment in surveys:
        Survey.objects.create(
            ticket=ticket,
            team=ticket.team,
            level=ticket.level,
            topic=ticket.topic,
            ticket_channel=ticket.channel,
            sent_at=sent,
            answered_at=answered,
            score=score,
            comment=comment,
        )
    # Four calls between 09:00 and 09:30 on 3 March: waits 5, 15 and 25 s, one abandoned after
    # 40 s; handling 300, 600 and 900 s.
    for i, (wait, handle, abandoned) in enumerate(
        [(5, 300, False), (15, 600, False), (25, 900, False), (40, None, True)]
    ):
        rang = at(3, 9, 5 * i)
        CallRecord.objects.create(
            call_id=f"test-{i}",
            brand=brand("france2"),
            rang_at=rang,
            answered_at=None if abandoned else rang + timedelta(seconds=wait),
            wait_seconds=wait,
            handling_seconds=handle,
            abandoned=abandoned,
        )
    return t


@pytest.fixture
def rolled(known):
    from reporting.services.rollups import rollup_rebuild

    rollup_rebuild()
    return known


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    client.cookies["django_language"] = "en"  # the pages are French first
    return client


@pytest.fixture
def limited_manager(db):
    """A manager of France 5 only."""
    return UserFactory(username="manager5", role=Role.MANAGER, brands=["france5"])


def follow_every_count(client, user, period: dict) -> int:
    """Follow the link of every count in the pages' tables and tiles (as `user`, logged in on
    `client`, over `period`): the list behind a count holds that many tickets. One page of the
    list must hold them all. Returns how many figures were checked."""
    from reporting.filters import Filters
    from reporting.selectors import PAGES as BUILDERS
    from reporting.selectors import Scope

    checked = 0
    for name, builder in BUILDERS.items():
        scope = Scope.build(user=user, filters=Filters.from_query(period))
        page = builder(scope=scope)
        figures = [(t.label, t.value, t.href) for t in page.tiles if isinstance(t.value, int)]
        for table in page.tables:
            for row in [*table.rows, *([table.footer] if table.footer else [])]:
                for column, cell in zip(table.columns, row, strict=True):
                    if column.kind == "int" and cell.href and isinstance(cell.value, int):
                        figures.append((f"{table.slug}/{column.key}", cell.value, cell.href))
        for label, value, href in figures:
            if not href:
                continue
            response = client.get(href)
            assert response.status_code == 200, href
            listed = len(response.context["result"].tickets)
            assert listed == value, f"{name} {label}: figure {value}, list {listed} ({href})"
            checked += 1
    return checked

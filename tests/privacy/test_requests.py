"""GDPR requests' deadlines: one calendar month, extendable by two with a reason."""

from datetime import date

import pytest

from privacy.services.requests import (
    RequestError,
    add_months,
    privacy_request_extend,
    privacy_request_open,
)
from tests.factories import TicketFactory, ViewerFactory


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 3, 15), 1, date(2026, 4, 15)),
        (date(2026, 12, 10), 2, date(2027, 2, 10)),
    ],
)
def test_a_calendar_month_later(day, months, expected):
    assert add_months(day, months) == expected


@pytest.mark.django_db
def test_the_deadline_is_extended_by_two_months_at_most_with_a_reason(manager):
    viewer = ViewerFactory()
    TicketFactory(viewer=viewer)
    obj = privacy_request_open(
        kind="access", viewer=viewer, by=manager, received_on=date(2026, 3, 15)
    )
    assert obj.due_on == date(2026, 4, 15)
    with pytest.raises(RequestError):
        privacy_request_extend(privacy_request=obj, by=manager, months=1, reason="")
    privacy_request_extend(privacy_request=obj, by=manager, months=1, reason="Dossier volumineux")
    assert obj.deadline == date(2026, 5, 15)
    privacy_request_extend(privacy_request=obj, by=manager, months=1, reason="Encore")
    assert obj.deadline == date(2026, 6, 15)
    with pytest.raises(RequestError):
        privacy_request_extend(privacy_request=obj, by=manager, months=1, reason="Trop")

"""Pages, permissions (managers and administrators only; agents never see cost or exports),
query counts, the tickets behind every figure, exports and the rates form."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import AuditEvent
from reporting.models import CostRate

from .conftest import PERIOD, follow_every_count

pytestmark = pytest.mark.django_db

PAGES = ["dashboard", "volumes", "service", "satisfaction", "trends", "cost", "tickets"]
QUERY = urlencode(PERIOD)


def url(name: str, **kw) -> str:
    return f"{reverse(f'reporting:{name}', kwargs=kw or None)}?{QUERY}"


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("persona", ["agent", "outsider", "mailroom", "srt", "mediator"])
def test_staff_other_than_managers_are_refused(client, personas, persona, name):
    client.force_login(personas[persona])
    assert client.get(url(name)).status_code == 403


@pytest.mark.parametrize("persona", ["agent", "srt", "mediator", "mailroom"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_are_refused_to_non_managers(client, personas, persona, fmt, rolled):
    client.force_login(personas[persona])
    for page, table in [("volumes", "volumes"), ("cost", "monthly_cost")]:
        response = client.get(url("export", page=page, table=table, fmt=fmt))
        assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="reporting.export").exists()


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(url("dashboard"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.parametrize("name", PAGES)
def test_managers_and_admins_see_every_page(client, manager, admin_user, rolled, name):
    for user in (manager, admin_user):
        client.force_login(user)
        response = client.get(url(name))
        assert response.status_code == 200
        assert b"<svg" in response.content or name in {"tickets", "trends"}


def test_agents_do_not_get_the_dashboards_link(client, agent):
    client.force_login(agent)
    assert reverse("reporting:dashboard").encode() not in client.get("/").content


# Queries per page: session, user, brands, teams, rollup state, then the page's own reads
# (each one aggregate over a rollup table, or one bounded list). None grows with the data.
QUERY_BUDGET = {
    "dashboard": 10,
    "volumes": 8,
    "service": 10,
    "satisfaction": 8,
    "trends": 7,
    "cost": 8,
    "tickets": 6,
}
# A manager's session carries a second factor: django-otp reads its device once per request.
SECOND_FACTOR_QUERIES = 1


@pytest.mark.parametrize("name", sorted(QUERY_BUDGET))
def test_query_count_per_page(manager_client, rolled, name, django_assert_num_queries):
    with django_assert_num_queries(QUERY_BUDGET[name] + SECOND_FACTOR_QUERIES):
        assert manager_client.get(url(name)).status_code == 200


def test_every_count_links_to_exactly_its_tickets(manager_client, rolled, manager):
    """Follow each figure's link from the pages' tables and tiles: the list behind a count
    holds that many tickets (one page of the list is enough on this data set)."""
    assert follow_every_count(manager_client, manager, PERIOD) > 100


def test_ticket_list_is_scoped_and_paginated(client, rolled, limited_manager, manager):
    client.force_login(limited_manager)
    response = client.get(url("tickets"))
    assert [t.reference for t in response.context["result"].tickets] == ["FTV-2026-000005"]
    client.force_login(manager)
    from reporting.selectors import tickets as ticket_selectors

    ticket_selectors.PAGE_SIZE, size = 4, ticket_selectors.PAGE_SIZE
    try:
        first = client.get(url("tickets")).context["result"]
        assert len(first.tickets) == 4 and first.next_cursor
        second = client.get(f"{url('tickets')}&after={first.next_cursor}").context["result"]
        refs = [t.reference for t in first.tickets + second.tickets]
        assert len(set(refs)) == 8
        assert refs == sorted(refs, reverse=True)  # newest first, no overlap
    finally:
        ticket_selectors.PAGE_SIZE = size


def test_csv_export_content_and_audit(manager_client, rolled, manager):
    response = manager_client.get(url("export", page="volumes", table="by_dimension", fmt="csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Channel", "Tickets", "Share (%)"]
    assert rows[1:] == [
        ["Email", "5", "55.56"],
        ["Phone", "2", "22.22"],
        ["Letter", "1", "11.11"],
        ["Web form", "1", "11.11"],
    ]
    event = AuditEvent.objects.get(action="reporting.export")
    assert event.actor == manager
    assert event.object_id == "volumes:by_dimension"
    assert event.data["format"] == "csv" and event.data["rows"] == 4


def test_xlsx_export_content(manager_client, rolled):
    response = manager_client.get(url("export", page="service", table="sla", fmt="xlsx"))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    sheet = book["sla"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["Level", "Channel", "Tickets", "First answers due"]
    last = [c.value for c in sheet[sheet.max_row]]
    # The total row: 9 tickets, 7 first answers due, 4/7 on time, 3 resolutions due, 2/3.
    assert last[0] == "Total"
    assert last[2:5] == [9, 7, pytest.approx(4 / 7)]
    assert last[6:8] == [3, pytest.approx(2 / 3)]
    assert sheet.cell(row=sheet.max_row, column=5).number_format == "0.0%"
    assert book["filters"]["B3"].value == "2026-03-02"


def test_cost_page_and_its_exports(manager_client, rolled):
    response = manager_client.get(url("cost"))
    page = response.context["page"]
    assert page.table("staffing").rows
    # 3 calls answered between 09:00 and 09:30 on 3 March: 3 / 14 a day over the period.
    contacts = page.table("contacts_half_hour")
    nine = next(r for r in contacts.rows if r[0].value == "09:00–09:30")
    assert nine[1].value == pytest.approx(3 / 14)
    for table in ("monthly_cost", "sensitivity_break_even", "staffing", "waits"):
        for fmt in ("csv", "xlsx"):
            assert (
                manager_client.get(url("export", page="cost", table=table, fmt=fmt)).status_code
                == 200
            )
    assert (
        manager_client.get(url("export", page="cost", table="nope", fmt="csv")).status_code == 404
    )


def test_what_if_values_change_the_cost(manager_client, rolled):
    base = manager_client.get(url("cost")).context["page"].extra["summary"]
    dearer = manager_client.get(f"{url('cost')}&hourly_rate=64").context["page"]
    assert dearer.extra["simulated"]
    assert dearer.extra["summary"].hourly_cost == pytest.approx(base.hourly_cost * 2)


def test_rates_are_entered_with_history_and_audited(manager_client, rolled, manager, client, agent):
    data = {
        "valid_from": "2026-03-01",
        "hourly_rate": "30.00",
        "price_per_call": "3.90",
        "price_per_written": "5.00",
        "service_level": "0.800",
        "answer_within_seconds": "20",
        "shrinkage": "0.300",
        "max_occupancy": "0.850",
        "written_handling_seconds": "400",
        "min_agents": "1",
        "note": "Marché 2026",
    }
    response = manager_client.post(reverse("reporting:cost"), data)
    assert response.status_code == 302
    manager_client.post(
        reverse("reporting:cost"), {**data, "valid_from": "2026-04-01", "hourly_rate": "31.00"}
    )
    assert list(CostRate.objects.values_list("hourly_rate", flat=True)) == [31, 30]
    # The period ends on 15 March: the rates of 1 March apply.
    page = manager_client.get(url("cost")).context["page"]
    assert page.extra["rates"].hourly_rate == 30.0
    assert AuditEvent.objects.filter(action="reporting.rates_created").count() == 2
    client.force_login(agent)
    assert client.post(reverse("reporting:cost"), data).status_code == 403

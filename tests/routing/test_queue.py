"""Teams' queues: scope, filters, keyset pages, counts per filter value, and the page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Priority, SlaState, Status
from routing.selectors import queue_list, team_queues_for
from routing.services import ticket_escalate, ticket_send_back
from tests.factories import TicketFactory, UserFactory, brand
from tests.routing.helpers import join, queued_ticket, team

pytestmark = pytest.mark.django_db


def _due(hours):
    return timezone.now() + timedelta(hours=hours)


@pytest.fixture
def n1(agent):
    join(agent, "n1-call-centre")
    return team("n1-call-centre")


def test_a_queue_holds_the_teams_open_tickets_in_the_users_scope_by_due_date(agent, n1):
    b = queued_ticket("n1-call-centre", resolution_due_at=_due(10))
    a = queued_ticket("n1-call-centre", resolution_due_at=_due(2))
    no_due = queued_ticket("n1-call-centre", resolution_due_at=None)
    queued_ticket("n1-call-centre", status=Status.RESOLVED, resolution_due_at=_due(1))
    queued_ticket("n1-call-centre", brand=brand("france5"), resolution_due_at=_due(1))
    queued_ticket("srt-france2", resolution_due_at=_due(1))
    page = queue_list(user=agent, team=n1, filters={})
    assert [t.pk for t in page.tickets] == [a.pk, b.pk, no_due.pk]
    assert page.total == 3
    assert page.next_cursor is None


def test_keyset_pages_cover_every_ticket_once(agent, n1):
    same_due = _due(3)
    tickets = [queued_ticket("n1-call-centre", resolution_due_at=same_due) for _ in range(3)]
    tickets += [queued_ticket("n1-call-centre", resolution_due_at=_due(i)) for i in (1, 5, 7)]
    tickets += [queued_ticket("n1-call-centre", resolution_due_at=None) for _ in range(2)]
    for sort in ("due", "oldest", "newest"):
        seen, after = [], None
        for _ in range(10):
            page = queue_list(user=agent, team=n1, filters={"sort": sort}, after=after, limit=3)
            seen += [t.pk for t in page.tickets]
            after = page.next_cursor
            if after is None:
                break
        assert sorted(seen) == sorted(t.pk for t in tickets), sort
        assert len(seen) == len(set(seen)), sort


def test_a_tampered_cursor_starts_from_the_top(agent, n1):
    queued_ticket("n1-call-centre")
    assert len(queue_list(user=agent, team=n1, after="not-a-cursor").tickets) == 1


def test_filters_and_counts_per_value(agent, n1):
    queued_ticket("n1-call-centre", channel="email", priority=Priority.HIGH)
    queued_ticket("n1-call-centre", channel="email", sla_state=SlaState.AT_RISK)
    queued_ticket(
        "n1-call-centre",
        channel="letter",
        topic="praise",
        assignee=agent,
        status=Status.IN_PROGRESS,
    )
    queued_ticket("n1-call-centre", channel="phone", brand=brand("france3-bretagne"))

    page = queue_list(user=agent, team=n1, filters={"channel": "email"})
    assert page.total == 2
    assert {t.channel for t in page.tickets} == {"email"}
    counts = {name: {f.value: f.count for f in values} for name, values in page.facets.items()}
    # The channel's own counts ignore the channel filter: they say what choosing gives.
    assert counts["channel"] == {"email": 2, "letter": 1, "phone": 1}
    assert counts["priority"] == {"high": 1, "normal": 1}
    assert counts["sla_state"] == {"at_risk": 1, "ok": 1}
    assert [f.value for f in page.facets["channel"] if f.selected] == ["email"]

    mine = queue_list(user=agent, team=n1, filters={"assignee": "me"})
    assert mine.total == 1 and mine.tickets[0].topic == "praise"
    regional = queue_list(user=agent, team=n1, filters={"brand": brand("france3-bretagne").pk})
    assert regional.total == 1
    brand_counts = {f.value: f.count for f in regional.facets["brand"]}
    assert brand_counts == {brand("france2").pk: 3, brand("france3-bretagne").pk: 1}


def test_programme_filter_and_counts(srt):
    join(srt, "srt-france2")
    programme = brand("france2").programmes.first()
    queued_ticket("srt-france2", programme=programme)
    queued_ticket("srt-france2", programme=None)
    page = queue_list(user=srt, team=team("srt-france2"), filters={"programme": programme.pk})
    assert page.total == 1
    assert [(p.value, p.count) for p in page.programmes] == [(programme.pk, 1)]


def test_queues_of_a_user(agent, manager):
    join(agent, "n1-call-centre")
    assert [t.code for t in team_queues_for(agent)] == ["n1-call-centre"]
    assert len(team_queues_for(manager)) >= 6
    mailroom = UserFactory(username="mr", role="mailroom")
    assert team_queues_for(mailroom) == []


# --- the page ----------------------------------------------------------------------------------


def test_the_queue_page_lists_tickets_with_filters_and_links(client, agent, n1):
    ticket = queued_ticket(
        "n1-call-centre", subject="Rediffusion du documentaire", sla_state=SlaState.BREACHED
    )
    client.force_login(agent)
    response = client.get(reverse("routing:queue"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/tickets/{ticket.pk}/"' in html
    assert "Rediffusion du documentaire" in html
    assert 'class="badge sla-breached"' in html
    assert 'for="f-channel"' in html and 'id="f-channel"' in html
    assert 'action="/queue/take-next/"' in html
    assert response.context["columns"][:3] == ["reference", "subject", "viewer"]
    assert "programme" not in response.context["columns"]  # agents: level-1 columns


def test_the_queue_page_shows_more_columns_to_managers(client, manager):
    queued_ticket("srt-france2")
    client.force_login(manager)
    response = client.get(reverse("routing:queue"))
    assert response.status_code == 200
    assert {"programme", "level", "team"} <= set(response.context["columns"])
    assert not response.context["can_take_next"]


def test_the_next_page_link_keeps_the_filters(client, agent, n1):
    for i in range(51):
        queued_ticket("n1-call-centre", resolution_due_at=_due(i), channel="email")
    client.force_login(agent)
    response = client.get(reverse("routing:queue"), {"channel": "email"})
    next_url = response.context["next_url"]
    assert "channel=email" in next_url and "after=" in next_url
    second = client.get(next_url)
    assert len(second.context["page"].tickets) == 1


def test_the_queue_page_costs_a_fixed_number_of_queries(
    client, agent, n1, django_assert_num_queries
):
    for i in range(30):
        queued_ticket(
            "n1-call-centre", resolution_due_at=_due(i), assignee=agent if i % 3 else None
        )
    client.force_login(agent)
    # session, user, teams, brand scope (2), counts, programmes, page.
    with django_assert_num_queries(8):
        response = client.get(reverse("routing:queue"), {"status": "triaged"})
    assert response.status_code == 200


def test_the_mailroom_has_no_queue(client, mailroom):
    client.force_login(mailroom)
    assert client.get(reverse("routing:queue")).status_code == 403


def test_bad_filter_values_are_ignored(client, agent, n1):
    TicketFactory(team=n1)
    client.force_login(agent)
    response = client.get(reverse("routing:queue"), {"priority": "bogus", "brand": "x"})
    assert response.status_code == 200


def test_each_filters_counts_apply_the_other_filters(agent, n1):
    queued_ticket("n1-call-centre", channel="email", priority=Priority.HIGH)
    queued_ticket("n1-call-centre", channel="email", priority=Priority.NORMAL)
    queued_ticket("n1-call-centre", channel="letter", priority=Priority.HIGH)
    queued_ticket("n1-call-centre", channel="letter", priority=Priority.NORMAL)
    queued_ticket("n1-call-centre", channel="phone", priority=Priority.NORMAL)
    page = queue_list(user=agent, team=n1, filters={"channel": "email", "priority": "high"})
    counts = {name: {f.value: f.count for f in values} for name, values in page.facets.items()}
    assert page.total == 1
    assert counts["channel"] == {"email": 1, "letter": 1}  # among high-priority tickets
    assert counts["priority"] == {"high": 1, "normal": 1}  # among email tickets
    assert counts["status"] == {"triaged": 1}  # both filters apply


def test_a_ticket_sent_for_review_by_the_second_opinion_says_so_in_the_queue(client, srt):
    join(srt, "srt-france2")
    flagged = queued_ticket("srt-france2", subject="Le débat d'hier", tags=["second-avis"])
    plain = queued_ticket("srt-france2", subject="Sous-titres absents", tags=["relance"])
    client.force_login(srt)
    html = client.get(reverse("routing:queue")).content.decode()
    row = html[html.index(f'href="/tickets/{flagged.pk}/"') :]
    assert "À relire : médiation probable" in row[: row.index("</tr>")]
    row = html[html.index(f'href="/tickets/{plain.pk}/"') :]
    assert "À relire" not in row[: row.index("</tr>")]


def test_tickets_escalated_or_sent_back_to_the_queue_carry_a_badge_with_the_reason(
    client, agent, srt, mediator, django_assert_num_queries
):
    join(srt, "srt-france2")
    srt2 = team("srt-france2")
    escalated = queued_ticket("n1-call-centre", resolution_due_at=_due(1))
    ticket_escalate(ticket=escalated, by=agent, reason="Le rédacteur en chef doit répondre")
    back = queued_ticket("n1-call-centre", resolution_due_at=_due(2))
    back = ticket_escalate(ticket=back, by=agent, reason="x")
    back = ticket_escalate(ticket=back, by=srt, reason="Plainte de déontologie")
    ticket_send_back(ticket=back, by=mediator, reason="Pas un cas de médiation")
    plain = queued_ticket("srt-france2", resolution_due_at=_due(3))
    page = queue_list(user=srt, team=srt2)
    marks = {t.pk: (t.arrival_kind, t.arrival_reason) for t in page.tickets}
    assert marks == {
        escalated.pk: ("escalated", "Le rédacteur en chef doit répondre"),
        back.pk: ("sent_back", "Pas un cas de médiation"),
        plain.pk: (None, ""),
    }
    client.force_login(srt)
    client.get(reverse("routing:queue"), {"team": "srt-france2"})  # warm the session
    # The marks come with the page: the same count as the pinned page above.
    with django_assert_num_queries(8):
        html = client.get(reverse("routing:queue"), {"team": "srt-france2"}).content.decode()
    assert html.count('class="badge moved escalated"') == 1
    assert html.count('class="badge moved sent-back"') == 1
    assert "Le rédacteur en chef doit répondre" in html
    # The reason is read out with the badge (visually hidden text), and hovered (title).
    hidden = html.split('class="badge moved sent-back"')[1].split("</span></span>")[0]
    assert '<span class="visually-hidden"> — ' in hidden
    assert hidden.endswith("Pas un cas de médiation")
    assert 'title="' in hidden and "Pas un cas de médiation" in hidden.split('title="')[1]


def test_a_ticket_triaged_straight_to_level_2_carries_no_badge(srt):
    join(srt, "srt-france2")
    queued_ticket("srt-france2")
    (ticket,) = queue_list(user=srt, team=team("srt-france2")).tickets
    assert ticket.arrival_kind is None

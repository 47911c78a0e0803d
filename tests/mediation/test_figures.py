"""The yearly figures on a known data set, computed by hand below."""

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import translation

from contacts.models import Programme
from mediation.models import Case, CaseStatus, CaseTicket, Opinion, OpinionStatus
from mediation.selectors import yearly_figures
from tests.factories import TicketFactory, brand

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def _at(*args):
    return datetime(*args, tzinfo=PARIS)


@pytest.fixture
def data_set(mediator):
    news = Programme.objects.create(
        brand=brand("france2"), name="Le Journal test", slug="journal-test", genre="news"
    )
    fiction = Programme.objects.create(
        brand=brand("france3"), name="La Série test", slug="serie-test", genre="fiction"
    )
    rows = [
        # ref, opened, brand, programme, topic, desk, outcome, tickets, opinion published
        (
            "C1",
            _at(2025, 1, 6, 9),
            "france2",
            news,
            "editorial_news",
            "news",
            "upheld",
            3,
            _at(2025, 1, 16, 9),
        ),
        (
            "C2",
            _at(2025, 3, 3, 9),
            "france3-bretagne",
            fiction,
            "editorial_programmes",
            "programmes",
            "not_upheld",
            1,
            _at(2025, 3, 23, 9),
        ),
        (
            "C3",
            _at(2025, 6, 2, 9),
            "france3",
            None,
            "editorial_programmes",
            "programmes",
            "outside_remit",
            1,
            None,
        ),
        (
            "C4",
            _at(2025, 11, 20, 9),
            "france2",
            news,
            "editorial_news",
            "news",
            "",
            2,
            _at(2026, 1, 5, 9),
        ),
        (
            "C5",
            _at(2024, 12, 20, 9),
            "france5",
            None,
            "editorial_programmes",
            "programmes",
            "upheld",
            1,
            _at(2025, 1, 10, 9),
        ),
        # The last minutes of 2025 in Paris count in 2025; the first of 2026 do not, although
        # both are 2025 in UTC.
        (
            "C6",
            _at(2025, 12, 31, 23, 30),
            "france5",
            fiction,
            "editorial_programmes",
            "programmes",
            "",
            0,
            None,
        ),
        ("C7", _at(2026, 1, 1, 0, 30), "france2", news, "editorial_news", "news", "", 1, None),
    ]
    for ref, opened, brand_code, programme, topic, desk, outcome, tickets, published in rows:
        case = Case.objects.create(
            reference=ref,
            title=ref,
            desk=desk,
            brand=brand(brand_code),
            programme=programme,
            topic=topic,
            origin="escalation",
            opened_at=opened,
            due_on=date(2026, 12, 31),
            status=CaseStatus.CLOSED if outcome else CaseStatus.OPEN,
            outcome=outcome,
            mediator=mediator,
        )
        for _ in range(tickets):
            CaseTicket.objects.create(case=case, ticket=TicketFactory(level=3))
        if published:
            Opinion.objects.create(
                case=case,
                title=ref,
                question="Q",
                body="B",
                author=mediator,
                status=OpinionStatus.PUBLISHED,
                published_at=published,
                brand=case.brand.national,
            )


EXPECTED_2025 = [
    ("total", "cases_opened", 5),  # C1, C2, C3, C4, C6
    ("total", "tickets_in_cases", 7),  # 3 + 1 + 1 + 2 + 0
    ("total", "opinions_published", 3),  # C5 (January 2025), C1, C2; C4's is 2026
    ("total", "median_days_to_opinion", 20.0),  # median of 21 (C5), 10 (C1), 20 (C2)
    ("brand", "France 2", 2),  # C1, C4
    ("brand", "France 3", 2),  # C2 (a France 3 station), C3
    ("brand", "France 5", 1),  # C6
    ("programme", "La Série test", 2),  # C2, C6
    ("programme", "Le Journal test", 2),  # C1, C4
    ("programme", "", 1),  # C3
    ("topic", "Editorial — programmes", 3),
    ("topic", "Editorial — news", 2),
    ("desk", "Programmes", 3),
    ("desk", "News", 2),
    ("outcome", "Open", 2),  # C4, C6
    ("outcome", "Not upheld", 1),
    ("outcome", "Outside remit", 1),
    ("outcome", "Upheld", 1),
]


def _sorted(rows):
    return sorted(rows, key=lambda r: (r[0], str(r[1])))


def test_yearly_figures_on_a_known_data_set(data_set):
    assert brand("france3").name == "France 3"
    with translation.override("en"):
        rows = yearly_figures(year=2025).rows()
    assert _sorted(rows) == _sorted(EXPECTED_2025)


def test_a_year_without_cases(data_set):
    figures = yearly_figures(year=2023)
    assert figures.cases_opened == 0
    assert figures.median_days_to_opinion is None


def test_figures_page_and_csv_export(client, data_set, mediator, manager, agent):
    client.force_login(agent)
    assert client.get(reverse("mediation:figures")).status_code == 403
    assert client.get(reverse("mediation:figures_csv"), {"year": 2025}).status_code == 403
    client.force_login(manager)
    assert client.get(reverse("mediation:figures"), {"year": 2025}).status_code == 200
    client.force_login(mediator)
    page = client.get(reverse("mediation:figures"), {"year": 2025})
    assert page.context["figures"].cases_opened == 5
    with translation.override("en"):
        response = client.get(
            reverse("mediation:figures_csv"), {"year": 2025}, HTTP_ACCEPT_LANGUAGE="en"
        )
    assert response["Content-Type"].startswith("text/csv")
    reader = csv.reader(io.StringIO(response.content.decode("utf-8-sig")))
    header, *rows = list(reader)
    assert header == ["year", "section", "key", "value"]
    assert ["2025", "total", "cases_opened", "5"] in rows
    assert ["2025", "total", "median_days_to_opinion", "20.0"] in rows
    assert len(rows) == len(EXPECTED_2025)

"""The permission matrix of mediation: who reads case files and notes, who reads the audit
log, what the public sees. What a user must not see is a 404, not a 403."""

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from mediation.models import ConfidentialNote, Opinion, OpinionStatus
from mediation.services import confidential_note_add

pytestmark = pytest.mark.django_db

ROLES = ["agent", "outsider", "mailroom", "srt", "srt3", "mediator", "manager", "admin"]
SECRET = "La rédaction reconnaît une erreur en privé."


@pytest.fixture
def noted_case(case, mediator):
    confidential_note_add(case=case, author=mediator, body=SECRET)
    return case


def _get(client, user, url):
    client.force_login(user)
    return client.get(url)


def test_case_page_is_for_mediators_and_managers_only(client, personas, noted_case, mediator):
    personas = {**personas, "mediator": mediator}
    url = reverse("mediation:case", args=[noted_case.pk])
    expected = {"mediator": 200, "manager": 200}
    for role in ROLES:
        response = _get(client, personas[role], url)
        assert response.status_code == expected.get(role, 404), role


def test_only_mediators_read_confidential_notes(client, personas, noted_case, mediator):
    personas = {**personas, "mediator": mediator}
    url = reverse("mediation:case", args=[noted_case.pk])
    assert SECRET in _get(client, mediator, url).content.decode()
    manager_page = _get(client, personas["manager"], url).content.decode()
    assert SECRET not in manager_page
    # Nobody but a mediator even gets the note form: agents, SRT, managers, administrators.
    for role in ["agent", "srt", "manager", "admin"]:
        client.force_login(personas[role])
        response = client.post(reverse("mediation:note_add", args=[noted_case.pk]), {"body": "x"})
        assert response.status_code == 404, role
    assert ConfidentialNote.objects.count() == 1


def test_every_read_of_a_case_and_its_notes_is_audited(client, noted_case, mediator, manager):
    url = reverse("mediation:case", args=[noted_case.pk])
    _get(client, mediator, url)
    _get(client, manager, url)
    reads = AuditEvent.objects.filter(object_type="mediation.case", object_id=str(noted_case.pk))
    assert set(
        reads.filter(action="mediation.case.read").values_list("actor__username", flat=True)
    ) == {
        "mediator",
        "manager",
    }
    note_reads = reads.filter(action="mediation.notes.read")
    assert list(note_reads.values_list("actor__username", flat=True)) == ["mediator"]
    assert note_reads.get().data["notes"] == list(noted_case.notes.values_list("pk", flat=True))


def test_managers_read_the_audit_log_mediators_and_agents_do_not(
    client, personas, noted_case, mediator
):
    _get(client, mediator, reverse("mediation:case", args=[noted_case.pk]))
    url = reverse("mediation:audit") + f"?case={noted_case.pk}"
    page = _get(client, personas["manager"], url)
    assert page.status_code == 200
    assert "mediation.notes.read" in page.content.decode()
    assert "Marchand" in page.content.decode()  # who read the notes
    for role in ["agent", "srt", "mailroom"]:
        assert _get(client, personas[role], url).status_code == 403, role
    assert _get(client, mediator, url).status_code == 403


def test_desk_is_the_mediators(client, personas, mediator):
    personas = {**personas, "mediator": mediator}
    for role in ROLES:
        expected = 200 if role == "mediator" else 403
        assert _get(client, personas[role], reverse("mediation:desk")).status_code == expected


def test_managers_may_read_but_not_change_a_case(client, manager, case):
    client.force_login(manager)
    response = client.post(reverse("mediation:case_close", args=[case.pk]), {"outcome": "upheld"})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.is_open


def test_staff_pages_send_anonymous_users_to_the_login(client, case):
    for url in [reverse("mediation:desk"), reverse("mediation:case", args=[case.pk])]:
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("login") in response["Location"]


def test_anonymous_users_see_only_published_opinions(client, case, mediator):
    draft = Opinion.objects.create(
        case=case, title="Brouillon secret", question="Q", body="B", author=mediator
    )
    assert client.get(reverse("mediation:public_list", args=["france2"])).status_code == 200
    assert (
        "Brouillon secret"
        not in client.get(reverse("mediation:public_list", args=["france2"])).content.decode()
    )
    url = reverse("mediation:public_opinion", args=["france2", draft.pk, "x"])
    assert client.get(url).status_code == 404
    Opinion.objects.filter(pk=draft.pk).update(status=OpinionStatus.APPROVED, brand=case.brand)
    assert client.get(url).status_code == 404
    Opinion.objects.filter(pk=draft.pk).update(status=OpinionStatus.PUBLISHED, slug="x")
    assert client.get(url).status_code == 200
    # Published on France 2's page, not on France 5's.
    assert (
        client.get(reverse("mediation:public_opinion", args=["france5", draft.pk, "x"])).status_code
        == 404
    )


def test_an_author_cannot_review_their_own_opinion(client, case, mediator, news_mediator, manager):
    opinion = Opinion.objects.create(
        case=case,
        title="Avis",
        question="Q",
        body="B",
        author=mediator,
        status=OpinionStatus.IN_REVIEW,
    )
    url = reverse("mediation:opinion_review", args=[case.pk])
    assert _get(client, mediator, url).status_code == 403
    assert _get(client, news_mediator, url).status_code == 200
    assert _get(client, manager, url).status_code == 200
    assert opinion.pk

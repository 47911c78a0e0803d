"""Finding 1 of the security review: who grants roles. Only administrators manage accounts;
the mediator role needs a serving mediator's approval and the administrator role a second
administrator's; every change is audited and emailed; nobody sets another's password; the
superuser flag cannot be set from the interface; confidential notes stay the mediators'."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse

from accounts import permissions
from accounts.models import AuditEvent, Role, RoleGrantRequest, Team, User
from accounts.services import (
    account_email_send,
    role_grant_request_create,
    role_grant_request_decide,
    team_membership_delete,
    team_membership_save,
    user_access_change,
    user_access_errors,
)
from outbox.models import MessageKind, MessageState, OutboxMessage
from tests.browser import PASSWORD
from tests.factories import TicketFactory, UserFactory, brand

pytestmark = pytest.mark.django_db


class BrokenEmailBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP down")


def _user_form(user: User, **overrides) -> dict:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "role": user.role,
        "brands": [b.pk for b in user.brands.all()],
        "signature": "",
        "phone_extension": "",
        "is_active": "on",
        "_save": "Enregistrer",
    }
    if user.all_brands:
        data["all_brands"] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def newcomer(db):
    return UserFactory(
        username="newcomer", role=Role.SRT, brands=["france2"], email="newcomer@example.fr"
    )


@pytest.fixture
def second_admin(db):
    return UserFactory(
        username="admin2", role=Role.ADMIN, all_brands=True, email="admin2@example.fr"
    )


def test_a_manager_can_no_longer_create_a_mediator_nor_open_the_staff_pages(client, manager):
    client.force_login(manager)
    assert not permissions.can(manager, "manage_users")
    assert client.get("/admin/accounts/user/").status_code == 403
    assert client.get("/admin/accounts/user/add/").status_code == 403
    response = client.post(
        "/admin/accounts/user/add/",
        {"username": "puppet", "role": Role.MEDIATOR, "password1": "x", "password2": "x"},
    )
    assert response.status_code == 403
    assert not User.objects.filter(username="puppet").exists()


def test_nobody_sets_another_persons_password_from_the_admin(client, manager, admin_user):
    boss = UserFactory(username="root", role=Role.ADMIN, is_superuser=True)
    for staff in (manager, admin_user):
        client.force_login(staff)
        response = client.post(
            f"/admin/accounts/user/{boss.pk}/password/",
            {"password1": "pwned-Password-42", "password2": "pwned-Password-42"},
        )
        assert response.status_code in {302, 403, 404}, staff
        boss.refresh_from_db()
        assert boss.check_password(PASSWORD)
        assert not boss.check_password("pwned-Password-42")
    # The change form has no password field either.
    client.force_login(admin_user)
    page = client.get(f"/admin/accounts/user/{boss.pk}/change/").content.decode()
    assert 'name="password' not in page and "is_superuser" not in page


def test_the_superuser_flag_cannot_be_set_from_the_interface(client, admin_user, newcomer):
    client.force_login(admin_user)
    response = client.post(
        f"/admin/accounts/user/{newcomer.pk}/change/",
        _user_form(newcomer, is_superuser="on", is_staff="on"),
    )
    assert response.status_code == 302
    newcomer.refresh_from_db()
    assert not newcomer.is_superuser and not newcomer.is_staff


def test_granting_the_mediator_role_waits_for_a_serving_mediator(
    client, admin_user, mediator, newcomer, django_capture_on_commit_callbacks
):
    mediator.email = "mediator@example.fr"
    mediator.save()
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/accounts/user/{newcomer.pk}/change/",
            _user_form(newcomer, role=Role.MEDIATOR),
        )
    assert response.status_code == 302
    newcomer.refresh_from_db()
    assert newcomer.role == Role.SRT  # not yet
    grant = RoleGrantRequest.objects.get(user=newcomer)
    assert grant.status == RoleGrantRequest.Status.PENDING
    assert AuditEvent.objects.filter(action="role_grant.requested", actor=admin_user).exists()
    # The mediators are asked, the person concerned is told.
    recipients = {address for m in mail.outbox for address in m.to}
    assert {"mediator@example.fr", "newcomer@example.fr"} <= recipients

    # The administrator who asked cannot approve (nor could any administrator).
    response = client.post(
        reverse("accounts:grant_decide", args=[grant.pk]), {"decision": "approve"}
    )
    assert response.status_code == 403
    newcomer.refresh_from_db()
    assert newcomer.role == Role.SRT

    # A serving mediator sees it on the four-eyes page and approves it.
    mail.outbox.clear()
    client.force_login(mediator)
    page = client.get(reverse("accounts:grant_list"))
    assert page.status_code == 200 and "newcomer" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:grant_decide", args=[grant.pk]), {"decision": "approve"}
        )
    assert response.status_code == 302
    newcomer.refresh_from_db()
    grant.refresh_from_db()
    assert newcomer.role == Role.MEDIATOR
    assert grant.status == RoleGrantRequest.Status.APPROVED and grant.decided_by == mediator
    event = AuditEvent.objects.get(action="user.role", object_id=str(newcomer.pk))
    assert event.actor == mediator and event.data["to"] == Role.MEDIATOR
    recipients = {address for m in mail.outbox for address in m.to}
    assert {"mediator@example.fr", "newcomer@example.fr"} <= recipients


def test_the_person_concerned_cannot_approve_their_own_grant(admin_user, mediator):
    candidate = UserFactory(username="candidate", role=Role.MEDIATOR)  # e.g. a former mediator
    grant = RoleGrantRequest.objects.create(
        user=candidate, role=Role.MEDIATOR, requested_by=admin_user
    )
    assert not permissions.can(candidate, "decide", grant)
    assert permissions.can(mediator, "decide", grant)
    assert not permissions.can(admin_user, "decide", grant)


def test_granting_administrator_needs_a_second_administrator(
    client, admin_user, second_admin, newcomer, mediator
):
    grant = role_grant_request_create(user=newcomer, role=Role.ADMIN, by=admin_user)
    for refused in (admin_user, mediator, newcomer):
        with pytest.raises(PermissionDenied):
            role_grant_request_decide(grant=grant, by=refused, approve=True)
    newcomer.refresh_from_db()
    assert newcomer.role == Role.SRT
    client.force_login(second_admin)
    response = client.post(
        reverse("accounts:grant_decide", args=[grant.pk]), {"decision": "approve"}
    )
    assert response.status_code == 302
    newcomer.refresh_from_db()
    assert newcomer.role == Role.ADMIN and newcomer.is_staff and not newcomer.is_superuser


def test_a_rejected_grant_leaves_the_role_unchanged(admin_user, mediator, newcomer):
    grant = role_grant_request_create(user=newcomer, role=Role.MEDIATOR, by=admin_user)
    role_grant_request_decide(grant=grant, by=mediator, approve=False, reason="Pas de poste.")
    newcomer.refresh_from_db()
    grant.refresh_from_db()
    assert newcomer.role == Role.SRT and grant.status == RoleGrantRequest.Status.REJECTED
    assert AuditEvent.objects.filter(action="role_grant.rejected", actor=mediator).exists()


def test_the_four_eyes_page_is_for_mediators_and_administrators(client, personas):
    expected = {"mediator": 200, "admin": 200}
    for role in ["agent", "mailroom", "srt", "mediator", "manager", "admin"]:
        client.force_login(personas[role])
        response = client.get(reverse("accounts:grant_list"))
        assert response.status_code == expected.get(role, 403), role


def test_nobody_grants_more_than_they_hold(manager, admin_user, newcomer):
    assert user_access_errors(
        by=manager, user=newcomer, role=Role.MANAGER, brand_ids=[], all_brands=True
    )
    limited_admin = admin_user
    assert not user_access_errors(
        by=limited_admin, user=newcomer, role=Role.SRT, brand_ids=[], all_brands=True
    )
    # A scope check that bites for anyone whose own scope is limited.
    srt = UserFactory(username="srt-x", role=Role.SRT, brands=["france2"])
    assert permissions.brands_grantable_by(srt, brand_ids=[brand("france2").pk], all_brands=False)
    assert not permissions.brands_grantable_by(
        srt, brand_ids=[brand("france5").pk], all_brands=False
    )
    assert not permissions.brands_grantable_by(srt, brand_ids=[], all_brands=True)
    with pytest.raises(PermissionDenied):
        user_access_change(
            user=newcomer, by=manager, role=Role.MANAGER, brand_ids=[], all_brands=True
        )


def test_role_and_scope_changes_are_audited_and_emailed(
    admin_user, newcomer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        user_access_change(
            user=newcomer,
            by=admin_user,
            role=Role.AGENT,
            brand_ids=[brand("france3").pk],
            all_brands=False,
            is_active=False,
        )
    actions = set(
        AuditEvent.objects.filter(object_id=str(newcomer.pk)).values_list("action", flat=True)
    )
    assert {"user.role", "user.scope", "user.active"} <= actions
    assert [m.to for m in mail.outbox] == [["newcomer@example.fr"]]
    newcomer.refresh_from_db()
    assert newcomer.role == Role.AGENT and not newcomer.is_active


def test_team_memberships_are_audited_and_emailed(
    manager, newcomer, django_capture_on_commit_callbacks
):
    team = Team.objects.get(code="srt-france2")
    with django_capture_on_commit_callbacks(execute=True):
        membership = team_membership_save(
            membership=team.memberships.model(team=team, user=newcomer), by=manager
        )
        team_membership_delete(membership=membership, by=manager)
    actions = list(
        AuditEvent.objects.filter(object_type="accounts.team").values_list("action", flat=True)
    )
    assert sorted(actions) == ["team.member_added", "team.member_removed"]
    assert len(mail.outbox) == 2 and all(m.to == ["newcomer@example.fr"] for m in mail.outbox)


def test_a_failed_email_never_breaks_the_change(
    settings, admin_user, newcomer, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.accounts.test_governance.BrokenEmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        user_access_change(
            user=newcomer, by=admin_user, role=Role.AGENT, brand_ids=[], all_brands=False
        )
        account_email_send(to=[newcomer], subject="x", body="y")
    newcomer.refresh_from_db()
    assert newcomer.role == Role.AGENT
    # The messages wait in the outbox for the next attempt instead of being lost.
    rows = OutboxMessage.objects.filter(kind=MessageKind.ACCOUNT)
    assert rows.count() == 2 and {r.state for r in rows} == {MessageState.DEFERRED}


def test_an_administrator_sends_a_reset_link_that_works_once(
    client, admin_user, newcomer, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/accounts/user/",
            {"action": "send_password_reset", "_selected_action": [newcomer.pk]},
        )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="user.password_reset_sent").exists()
    (message,) = mail.outbox
    assert message.to == ["newcomer@example.fr"]
    (row,) = OutboxMessage.objects.filter(kind=MessageKind.ACCOUNT)
    assert row.state == MessageState.SENT and row.recipients == ["newcomer@example.fr"]
    path = re.search(r"https?://[^/]+(/reset/\S+/)", message.body).group(1)
    client.logout()
    landing = client.get(path, follow=True)
    form_url = landing.redirect_chain[-1][0]
    assert 'name="new_password1"' in landing.content.decode()
    new = "Une-Phrase-De-Passe-2026"
    response = client.post(form_url, {"new_password1": new, "new_password2": new})
    assert response.status_code == 302
    newcomer.refresh_from_db()
    assert newcomer.check_password(new)
    # Used once: the link is dead now.
    again = client.get(path, follow=True)
    assert 'name="new_password1"' not in again.content.decode()


def test_a_new_account_is_created_without_a_password_and_gets_a_link(
    client, admin_user, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    data = {
        "username": "recrue",
        "first_name": "Léa",
        "last_name": "Roux",
        "email": "recrue@example.fr",
        "role": Role.SRT,
        "brands": [brand("france2").pk],
        "is_active": "on",
        "_save": "Enregistrer",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/accounts/user/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="recrue")
    assert user.role == Role.SRT and not user.has_usable_password()
    assert list(user.brands.values_list("code", flat=True)) == ["france2"]
    assert any("/reset/" in m.body for m in mail.outbox)


def test_confidential_notes_stay_closed_to_administrators_superusers_included(client, mediator):
    from mediation.services import case_open_from_escalation, confidential_note_add

    srt = UserFactory(username="srt-n", role=Role.SRT, brands=["france2"])
    ticket = TicketFactory(level=3, brand=brand("france2"))
    case = case_open_from_escalation(ticket=ticket, by=srt, reason="Avis du médiateur.")
    note = confidential_note_add(case=case, author=mediator, body="Secret de la médiation.")
    root = UserFactory(username="root", role=Role.ADMIN, is_superuser=True, all_brands=True)
    assert not permissions.can(root, "view", note)
    client.force_login(root)
    page = client.get(reverse("mediation:case", args=[case.pk]))
    assert "Secret de la médiation." not in page.content.decode()
    admin_index = client.get("/admin/").content.decode()
    assert "/admin/mediation/" not in admin_index


def test_a_second_request_for_the_same_person_is_refused_in_the_form(client, admin_user, newcomer):
    role_grant_request_create(user=newcomer, role=Role.MEDIATOR, by=admin_user)
    client.force_login(admin_user)
    response = client.post(
        f"/admin/accounts/user/{newcomer.pk}/change/", _user_form(newcomer, role=Role.ADMIN)
    )
    assert response.status_code == 200  # the form again, with the reason
    assert "attend déjà une approbation" in response.content.decode()
    assert RoleGrantRequest.objects.filter(user=newcomer).count() == 1

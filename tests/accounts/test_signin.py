"""Finding 3 of the security review: sign-in resists guessing (django-axes), per account and
per address, on /login/ and /admin/login/; an administrator unlocks, audited."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from tests.browser import PASSWORD

pytestmark = pytest.mark.django_db


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_twenty_wrong_passwords_lock_the_account_until_an_administrator_unlocks_it(
    client, agent, admin_user
):
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    statuses = [
        attacker.post("/login/", {"username": "agent", "password": "wrong"}).status_code
        for _ in range(20)
    ]
    assert statuses[0] == 200 and statuses[-1] == 429
    # The right password, even from another address, is refused while the account is locked.
    owner = Client(REMOTE_ADDR="198.51.100.20")
    response = owner.post("/login/", {"username": "agent", "password": PASSWORD})
    assert response.status_code == 429 and not _signed_in(owner)
    page = response.content.decode()
    assert "Trop de tentatives" in page and "administrateur" in page

    client.force_login(admin_user)
    response = client.post(
        "/admin/accounts/user/", {"action": "unlock_signin", "_selected_action": [agent.pk]}
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(
        action="user.signin_unlocked", actor=admin_user, object_id=str(agent.pk)
    ).exists()
    response = owner.post("/login/", {"username": "agent", "password": PASSWORD})
    assert response.status_code == 302 and _signed_in(owner)


def test_one_address_guessing_many_accounts_is_locked_out(agent, srt):
    sprayer = Client(REMOTE_ADDR="203.0.113.8")
    for n in range(12):
        sprayer.post("/login/", {"username": f"guess{n}", "password": "Azerty123"})
    response = sprayer.post("/login/", {"username": "srt", "password": PASSWORD})
    assert response.status_code == 429 and not _signed_in(sprayer)
    # Others, elsewhere, still sign in.
    other = Client(REMOTE_ADDR="198.51.100.21")
    assert other.post("/login/", {"username": "agent", "password": PASSWORD}).status_code == 302


def test_the_admin_login_is_throttled_too(admin_user):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(20):
        response = attacker.post(
            "/admin/login/", {"username": "admin", "password": "wrong", "next": "/admin/"}
        )
    assert response.status_code == 429
    response = attacker.post(
        "/admin/login/", {"username": "admin", "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 429 and not _signed_in(attacker)


def test_a_few_typos_do_not_lock_anyone_out(agent):
    client = Client()
    for _ in range(3):
        assert client.post("/login/", {"username": "agent", "password": "typo"}).status_code == 200
    assert client.post("/login/", {"username": "agent", "password": PASSWORD}).status_code == 302


def test_an_administrator_sees_and_lifts_lock_outs_by_address(client, admin_user, agent, personas):
    sprayer = Client(REMOTE_ADDR="203.0.113.10")
    for n in range(12):
        sprayer.post("/login/", {"username": f"guess{n}", "password": "Azerty123"})
    assert sprayer.post("/login/", {"username": "agent", "password": PASSWORD}).status_code == 429

    for role in ["agent", "srt", "mediator", "manager"]:
        client.force_login(personas[role])
        assert client.get(reverse("accounts:lockouts")).status_code == 403, role
    client.force_login(admin_user)
    page = client.get(reverse("accounts:lockouts")).content.decode()
    assert "203.0.113.10" in page
    response = client.post(reverse("accounts:lockouts"), {"ip_address": "203.0.113.10"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(
        action="signin.address_unlocked", object_id="203.0.113.10", actor=admin_user
    ).exists()
    assert sprayer.post("/login/", {"username": "agent", "password": PASSWORD}).status_code == 302


def test_signing_in_to_one_account_does_not_reset_the_addresss_counter(agent):
    machine = Client(REMOTE_ADDR="203.0.113.11")
    for n in range(6):
        machine.post("/login/", {"username": f"guess{n}", "password": "Azerty123"})
    assert machine.post("/login/", {"username": "agent", "password": PASSWORD}).status_code == 302
    machine.logout()
    for n in range(6, 12):
        machine.post("/login/", {"username": f"guess{n}", "password": "Azerty123"})
    assert machine.post("/login/", {"username": "agent", "password": PASSWORD}).status_code == 429


def test_a_successful_sign_in_forgives_ones_own_typos(agent):
    client = Client(REMOTE_ADDR="198.51.100.30")
    for _ in range(2):
        for _ in range(6):
            client.post("/login/", {"username": "agent", "password": "typo"})
        assert (
            client.post("/login/", {"username": "agent", "password": PASSWORD}).status_code == 302
        )
        client.logout()

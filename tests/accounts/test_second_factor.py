"""Two-factor authentication (django-otp): required for managers, administrators and
mediators, optional for the others; TOTP from an authenticator app, single-use recovery codes."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEvent
from tests.browser import PASSWORD

pytestmark = pytest.mark.django_db


def code_of(device: TOTPDevice, *, offset: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + offset * device.step
    return f"{totp.token():0{device.digits}d}"


@pytest.mark.parametrize("persona", ["manager", "admin", "mediator"])
def test_privileged_staff_without_a_device_must_enrol_before_anything_else(
    unverified_client, personas, persona
):
    client = unverified_client
    client.force_login(personas[persona])
    for path in ["/", "/queue/", "/dashboards/", "/admin/", "/mediation/", "/accounts/grants/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(reverse("accounts:enrol")), path
    # The API answers 403 to such a session, not the data.
    assert client.get("/api/v1/tickets/").status_code == 403
    # Signing out and switching language still work.
    assert client.post(reverse("set_language"), {"language": "en", "next": "/"}).status_code == 302
    assert client.post(reverse("logout")).status_code == 302


def test_enrolment_shows_a_qr_code_and_the_secret_then_a_right_code_lets_them_in(
    unverified_client, manager
):
    client = unverified_client
    client.force_login(manager)
    page = client.get(reverse("accounts:enrol"))
    body = page.content.decode()
    assert page.status_code == 200 and "<svg" in body and "otpauth" not in body
    device = TOTPDevice.objects.get(user=manager, confirmed=False)
    assert "".join(body.split('<code class="nowrap">')[1].split("</code>")[0].split()) != ""

    wrong = client.post(
        reverse("accounts:enrol"), {"code": "000000" if code_of(device) != "000000" else "111111"}
    )
    assert wrong.status_code == 400
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get("/queue/").status_code == 302
    # django-otp throttles after a failure; a real user waits a moment before the next try.
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)

    done = client.post(reverse("accounts:enrol"), {"code": code_of(device), "next": "/queue/"})
    assert done.status_code == 200
    codes = StaticToken.objects.filter(device__user=manager).values_list("token", flat=True)
    assert len(codes) == 10 and all(c in done.content.decode() for c in codes)
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/queue/").status_code == 200
    assert AuditEvent.objects.filter(action="user.2fa_enrolled", actor=manager).exists()


@pytest.fixture
def enrolled_mediator(mediator):
    device = TOTPDevice.objects.create(user=mediator, name="authenticator", confirmed=True)
    recovery = StaticDevice.objects.create(user=mediator, name="recovery", confirmed=True)
    recovery.token_set.create(token="rescue42")
    return mediator, device


def test_sign_in_asks_for_the_code_wrong_refused_right_accepted(
    unverified_client, enrolled_mediator
):
    mediator, device = enrolled_mediator
    client = unverified_client
    response = client.post(
        "/login/", {"username": "mediator", "password": PASSWORD, "next": "/mediation/"}
    )
    assert response.status_code == 302
    response = client.get("/mediation/")
    assert response["Location"].startswith(reverse("accounts:verify"))
    right = code_of(device)
    wrong = code_of(device, offset=10)
    refused = client.post(reverse("accounts:verify"), {"code": wrong, "next": "/mediation/"})
    assert refused.status_code == 400
    assert client.get("/mediation/").status_code == 302
    assert AuditEvent.objects.filter(action="user.2fa_failed", actor=mediator).exists()
    # django-otp throttles after a failure; a real user waits a moment before the next try.
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    accepted = client.post(reverse("accounts:verify"), {"code": right, "next": "/mediation/"})
    assert accepted.status_code == 302 and accepted["Location"] == "/mediation/"
    assert client.get("/mediation/").status_code == 200
    # An enrolled user cannot replace the device without having passed it first; here they did.
    assert client.get(reverse("accounts:enrol")).status_code == 200


def test_a_recovery_code_works_once(unverified_client, enrolled_mediator):
    mediator, _ = enrolled_mediator
    client = unverified_client
    client.force_login(mediator)
    assert client.post(reverse("accounts:verify"), {"code": "rescue42"}).status_code == 302
    assert client.get("/mediation/").status_code == 200
    client.logout()
    client.force_login(mediator)
    assert client.post(reverse("accounts:verify"), {"code": "rescue42"}).status_code == 400
    assert client.get("/mediation/").status_code == 302


def test_a_stolen_password_alone_cannot_replace_the_second_factor(
    unverified_client, enrolled_mediator
):
    mediator, _ = enrolled_mediator
    client = unverified_client
    client.force_login(mediator)
    response = client.get(reverse("accounts:enrol"))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:verify")
    assert client.post(reverse("accounts:enrol"), {"code": "123456"}).status_code == 302
    assert TOTPDevice.objects.filter(user=mediator).count() == 1


def test_the_second_factor_is_optional_for_agents_and_then_asked_at_each_sign_in(
    unverified_client, agent
):
    client = unverified_client
    client.force_login(agent)
    assert client.get("/queue/").status_code == 200
    page = client.get(reverse("accounts:security"))
    assert page.status_code == 200
    client.get(reverse("accounts:enrol"))
    device = TOTPDevice.objects.get(user=agent)
    client.post(reverse("accounts:enrol"), {"code": code_of(device)})
    # Regenerate the recovery codes: the old ones stop working.
    old = set(StaticToken.objects.filter(device__user=agent).values_list("token", flat=True))
    response = client.post(reverse("accounts:recovery_codes"))
    new = set(StaticToken.objects.filter(device__user=agent).values_list("token", flat=True))
    assert response.status_code == 200 and len(new) == 10 and not (old & new)
    client.logout()
    client.force_login(agent)
    assert client.get("/queue/")["Location"].startswith(reverse("accounts:verify"))


def test_an_administrator_resets_a_lost_second_factor(client, admin_user, enrolled_mediator):
    mediator, _ = enrolled_mediator
    client.force_login(admin_user)
    response = client.post(
        "/admin/accounts/user/",
        {"action": "reset_second_factor", "_selected_action": [mediator.pk]},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=mediator).exists()
    assert not StaticDevice.objects.filter(user=mediator).exists()
    assert AuditEvent.objects.filter(action="user.2fa_reset", actor=admin_user).exists()


def test_otp_device_admin_pages_are_not_exposed(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert client.get("/admin/otp_static/staticdevice/").status_code == 404

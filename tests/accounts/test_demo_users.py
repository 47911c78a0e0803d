"""The demo's privileged users stay usable from `make run`: they sign in with the published
demo authenticator secret."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from contacts import demo

pytestmark = pytest.mark.django_db


def test_demo_managers_admins_and_mediators_sign_in_with_the_demo_code(capsys, unverified_client):
    demo.ensure_demo_users()
    devices = TOTPDevice.objects.filter(confirmed=True)
    assert set(devices.values_list("user__username", flat=True)) == {
        "mediator",
        "mediator-news",
        "manager",
        "admin",
    }
    call_command("demo_otp_code")
    code = capsys.readouterr().out.strip()
    client = unverified_client
    client.post("/login/", {"username": "manager", "password": demo.DEMO_PASSWORD})
    response = client.post(reverse("accounts:verify"), {"code": code, "next": "/dashboards/"})
    assert response.status_code == 302 and response["Location"] == "/dashboards/"

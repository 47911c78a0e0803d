"""End to end, in headless Chromium: a manager without a second factor signs in, is sent to
enrolment, reads the secret off the page as a person would type it into an app, confirms with
the app's code, keeps the recovery codes and reaches the dashboards."""

from __future__ import annotations

import base64

import pytest
from django_otp.oath import TOTP

from tests.browser import PASSWORD, SHOTS
from tests.markers import requires_chromium

pytestmark = [
    pytest.mark.e2e,
    requires_chromium,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_manager_enrols_an_authenticator_app_at_first_sign_in(browser, live_server, manager):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="fr-FR")
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", manager.username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    assert "/accounts/security/enrol/" in page.url
    assert page.locator("figure.qr svg").count() == 1
    assert page.locator("h1").inner_text() == "Configurer la double authentification"
    secret = page.locator("#totp-secret code").inner_text().replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.fill("#id_code", f"{TOTP(key).token():06d}")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    codes = page.locator("ul.recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "accounts-recovery-codes.png"), full_page=True)
    page.goto(f"{live_server.url}/dashboards/")
    assert "/dashboards/" in page.url and "/accounts/" not in page.url
    context.close()

"""Pages of the contacts app. Intake: the public web form, the call desk, the mailroom, the
quarantine and the mail gateway's webhook."""

from django.urls import path

from .views import calls, gateway, mailroom, quarantine, webform

app_name = "contacts"

urlpatterns = [
    # Public web form "Vous et Nous" (no login).
    path("vous-et-nous/<slug:brand_code>/", webform.webform, name="webform"),
    path("vous-et-nous/<slug:brand_code>/merci/", webform.webform_thanks, name="webform_thanks"),
    # Call desk.
    path("calls/", calls.call_desk, name="call_log"),
    # Mailroom.
    path("mailroom/", mailroom.mailroom, name="mailroom"),
    path("mailroom/letters/<int:pk>/", mailroom.mailroom_letter, name="mailroom_letter"),
    path("mailroom/letters/<int:pk>/scan/", mailroom.mailroom_scan_file, name="mailroom_scan"),
    # Quarantine.
    path("quarantine/", quarantine.quarantine_index, name="quarantine"),
    path("quarantine/<int:pk>/", quarantine.quarantine_item, name="quarantine_item"),
    path("quarantine/<int:pk>/raw/", quarantine.quarantine_raw, name="quarantine_raw"),
    path("quarantine/<int:pk>/action/", quarantine.quarantine_action, name="quarantine_action"),
    # Mail gateway webhook (authenticated by the gateway's secret).
    path("intake/mail-gateway/<slug:code>/", gateway.mail_gateway, name="mail_gateway"),
]

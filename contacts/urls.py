"""Pages of the contacts app. Intake: the public web form, the call desk, the mailroom, the
quarantine and the mail gateway's webhook."""

from django.urls import path

from .views import calls, gateway, mailroom, quarantine, tickets, viewers, webform

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
    path("mailroom/letters/<int:pk>/ocr/", mailroom.mailroom_ocr_retry, name="mailroom_ocr_retry"),
    # Quarantine.
    path("quarantine/", quarantine.quarantine_index, name="quarantine"),
    path("quarantine/<int:pk>/", quarantine.quarantine_item, name="quarantine_item"),
    path("quarantine/<int:pk>/raw/", quarantine.quarantine_raw, name="quarantine_raw"),
    path("quarantine/<int:pk>/action/", quarantine.quarantine_action, name="quarantine_action"),
    # Staff workspace: the ticket page and its actions.
    path("tickets/<int:pk>/", tickets.ticket_detail, name="ticket"),
    path("tickets/<int:pk>/notes/", tickets.ticket_note, name="ticket_note"),
    path("tickets/<int:pk>/status/", tickets.ticket_status, name="ticket_status"),
    path("tickets/<int:pk>/resolve/", tickets.ticket_resolve, name="ticket_resolve"),
    path("tickets/<int:pk>/take/", tickets.ticket_take, name="ticket_take"),
    path("tickets/<int:pk>/merge/", tickets.ticket_merge_view, name="ticket_merge"),
    path("tickets/<int:pk>/phone-score/", tickets.ticket_phone_score, name="ticket_phone_score"),
    path("tickets/<int:pk>/presence/", tickets.ticket_presence, name="ticket_presence"),
    path(
        "tickets/<int:pk>/presence/leave/",
        tickets.ticket_presence_leave,
        name="ticket_presence_leave",
    ),
    path("contacts/<int:pk>/raw/", tickets.contact_raw, name="contact_raw"),
    path("contacts/<int:pk>/html/", tickets.contact_html, name="contact_html"),
    path("attachments/<int:pk>/", tickets.attachment_download, name="attachment"),
    # Staff workspace: viewers.
    path("viewers/", viewers.viewer_search_view, name="viewer_search"),
    path("viewers/<int:pk>/", viewers.viewer_detail, name="viewer"),
    path("viewers/<int:pk>/edit/", viewers.viewer_edit, name="viewer_edit"),
    path("viewers/<int:pk>/consents/", viewers.viewer_consent, name="viewer_consent"),
    path(
        "viewers/<int:pk>/emails/<int:email_id>/working/",
        viewers.viewer_email_working,
        name="viewer_email_working",
    ),
    path("viewers/<int:pk>/merge/", viewers.viewer_merge_view, name="viewer_merge"),
    path(
        "viewers/merges/<int:event_id>/undo/",
        viewers.viewer_merge_undo_view,
        name="viewer_merge_undo",
    ),
    # Mail gateway webhook (authenticated by the gateway's secret).
    path("intake/mail-gateway/<slug:code>/", gateway.mail_gateway, name="mail_gateway"),
]

from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    # Staff: a viewer's rights (from the viewer card, or a GDPR ticket with ?ticket=).
    path("privacy/viewers/<int:pk>/", views.viewer_rights, name="viewer"),
    path("privacy/viewers/<int:pk>/access/", views.access_start, name="access"),
    path("privacy/viewers/<int:pk>/erasure/", views.erasure_start, name="erasure"),
    path("privacy/viewers/<int:pk>/objection/", views.objection, name="objection"),
    path("privacy/viewers/<int:pk>/holds/", views.hold_place, name="hold_place"),
    path("privacy/viewers/<int:pk>/audit.csv", views.viewer_audit_csv, name="audit_csv"),
    path("privacy/holds/<int:pk>/lift/", views.hold_lift, name="hold_lift"),
    # Staff: the requests and their deadlines (the DPO's list).
    path("privacy/", views.request_list, name="requests"),
    path("privacy/requests/<int:pk>/", views.request_detail, name="request"),
    path("privacy/requests/<int:pk>/confirm/", views.request_confirm, name="confirm"),
    path("privacy/requests/<int:pk>/extend/", views.request_extend, name="extend"),
    path("privacy/requests/<int:pk>/close/", views.request_close, name="close"),
    path("privacy/requests/<int:pk>/cancel/", views.request_cancel, name="cancel"),
    path(
        "privacy/requests/<int:pk>/release-notes/",
        views.request_release_notes,
        name="release_notes",
    ),
    # Managers: the retention policy, its runs, the register.
    path("privacy/retention/", views.retention_page, name="retention"),
    path("privacy/retention/rules/<int:pk>/", views.retention_rule, name="retention_rule"),
    path("privacy/retention/dry-run/", views.retention_dry_run, name="dry_run"),
    path("privacy/retention/runs/<int:pk>/", views.run_detail, name="run"),
    path("privacy/register/", views.register_page, name="register"),
    # Public (no login): signed links.
    path("donnees/telechargement/<str:token>/", views.download, name="download"),
    path("donnees/desabonnement/<str:token>/", views.unsubscribe, name="unsubscribe"),
]

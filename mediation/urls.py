"""Mediation URLs: staff screens under /mediation/, public pages under /mediateur/."""

from django.urls import path

from .views import public, staff

app_name = "mediation"

urlpatterns = [
    # --- staff ---
    path("mediation/", staff.desk, name="desk"),
    path("mediation/overview/", staff.overview, name="overview"),
    path("mediation/cases/new/", staff.case_new, name="case_new"),
    path("mediation/cases/<int:pk>/", staff.case_detail, name="case"),
    path("mediation/cases/<int:pk>/edit/", staff.case_edit, name="case_edit"),
    path("mediation/cases/<int:pk>/assign/", staff.case_assign, name="case_assign"),
    path("mediation/cases/<int:pk>/close/", staff.case_close, name="case_close"),
    path("mediation/cases/<int:pk>/reopen/", staff.case_reopen, name="case_reopen"),
    path("mediation/cases/<int:pk>/tickets/", staff.case_tickets, name="case_tickets"),
    path(
        "mediation/cases/<int:pk>/tickets/<int:ticket_pk>/remove/",
        staff.case_ticket_remove,
        name="case_ticket_remove",
    ),
    path("mediation/cases/<int:pk>/evidence/", staff.evidence_add, name="evidence_add"),
    path(
        "mediation/cases/<int:pk>/evidence/<int:evidence_pk>/",
        staff.evidence_file,
        name="evidence_file",
    ),
    path("mediation/cases/<int:pk>/notes/", staff.note_add, name="note_add"),
    path(
        "mediation/cases/<int:pk>/requests/new/",
        staff.comment_request_new,
        name="comment_request_new",
    ),
    path(
        "mediation/requests/<int:pk>/cancel/",
        staff.comment_request_cancel,
        name="comment_request_cancel",
    ),
    path("mediation/cases/<int:pk>/opinion/", staff.opinion_edit, name="opinion_edit"),
    path("mediation/cases/<int:pk>/opinion/submit/", staff.opinion_submit, name="opinion_submit"),
    path("mediation/cases/<int:pk>/opinion/review/", staff.opinion_review, name="opinion_review"),
    path(
        "mediation/cases/<int:pk>/opinion/publish/", staff.opinion_publish, name="opinion_publish"
    ),
    path("mediation/cases/<int:pk>/opinion/reply/", staff.opinion_reply, name="opinion_reply"),
    path(
        "mediation/tickets/<int:ticket_pk>/open-case/",
        staff.ticket_open_case,
        name="ticket_open_case",
    ),
    path("mediation/comments/", staff.comments, name="comments"),
    path("mediation/comments/<int:pk>/moderate/", staff.comment_moderate, name="comment_moderate"),
    path("mediation/figures/", staff.figures, name="figures"),
    path("mediation/figures.csv", staff.figures_csv, name="figures_csv"),
    path("mediation/audit/", staff.audit_log, name="audit"),
    # --- public (no account) ---
    path(
        "mediateur/commentaire/confirmer/<str:token>/",
        public.comment_confirm,
        name="comment_confirm",
    ),
    path(
        "mediateur/reponse/<str:reference>/<str:token>/",
        public.comment_answer,
        name="comment_answer",
    ),
    path("mediateur/<slug:brand>/", public.opinion_list, name="public_list"),
    path("mediateur/<slug:brand>/rss/", public.OpinionFeed(), name="public_rss"),
    path("mediateur/<slug:brand>/atom/", public.OpinionAtomFeed(), name="public_atom"),
    path(
        "mediateur/<slug:brand>/<int:pk>-<slug:slug>/",
        public.opinion_detail,
        name="public_opinion",
    ),
]

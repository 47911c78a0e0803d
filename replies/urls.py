from django.urls import path

from . import views

app_name = "replies"

urlpatterns = [
    # The reply box of the ticket page.
    path("tickets/<int:pk>/reply/", views.reply_send, name="send"),
    path("tickets/<int:pk>/reply/preview/", views.reply_preview, name="preview"),
    path(
        "tickets/<int:pk>/reply/preview/<str:token>/",
        views.letter_preview,
        name="letter_preview",
    ),
    path("tickets/<int:pk>/reply/templates/", views.template_search, name="template_search"),
    path(
        "tickets/<int:pk>/reply/templates/<int:template_id>/",
        views.template_fill,
        name="template_fill",
    ),
    path("replies/<int:contact_id>/retry/", views.reply_retry, name="retry"),
    # The templates library (managers, SRT) and one's signatures.
    path("templates/", views.template_list, name="template_list"),
    path("templates/new/", views.template_edit, name="template_new"),
    path("templates/<int:pk>/", views.template_edit, name="template_edit"),
    path("signatures/", views.signatures, name="signatures"),
    # The mailroom's print batches of reply letters.
    path("letters/", views.print_queue, name="print_queue"),
    path("letters/batches/", views.print_batch_create, name="print_batch_create"),
    path("letters/batches/<int:pk>/", views.print_batch_detail, name="print_batch"),
    path("letters/batches/<int:pk>/pdf/", views.print_batch_pdf, name="print_batch_pdf"),
    path("letters/batches/<int:pk>/posted/", views.print_batch_posted, name="print_batch_posted"),
]

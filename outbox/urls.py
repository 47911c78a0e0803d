from django.urls import path

from . import views

app_name = "outbox"

urlpatterns = [
    # Managers and administrators only (permission `manage_outbox`).
    path("outbox/", views.outbox_index, name="index"),
    path("outbox/retry/", views.outbox_retry, name="retry"),
]

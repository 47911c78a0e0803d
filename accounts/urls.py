from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import views

app_name = "accounts"

urlpatterns = [
    path("accounts/security/", views.security, name="security"),
    path("accounts/security/enrol/", views.enrol, name="enrol"),
    path("accounts/security/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("accounts/verify/", views.verify, name="verify"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(
            success_url=reverse_lazy("accounts:password_change_done")
        ),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/lockouts/", views.lockouts, name="lockouts"),
    path("accounts/grants/", views.grant_list, name="grant_list"),
    path("accounts/grants/<int:pk>/decide/", views.grant_decide, name="grant_decide"),
]

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Staff and teams")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from .middleware import on_user_logged_in
        from .services import user_signin_failures_forgive

        # Session bookkeeping only (shift start, last seen): no business step hangs on it.
        user_logged_in.connect(on_user_logged_in, dispatch_uid="accounts_session_stamp")
        # A successful sign-in forgives that username's own typos (django-axes' counters).
        user_logged_in.connect(user_signin_failures_forgive, dispatch_uid="accounts_forgive")

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from . import views
from .api import router

REDOC_POLICY = {"style-src": [SELF, UNSAFE_INLINE], "worker-src": [SELF, "blob:"]}

# A database outage outside a view is a 503 too (see frt_crm.middleware).
handler500 = "frt_crm.views.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Nobody sets another's password: an administrator emails a reset link to these pages.
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    # Second factor, "ma sécurité", the four-eyes page for role grants.
    path("", include("accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(router.urls)),
    path("", include("contacts.urls")),
    # Teams' queues (/queue/) and the ticket moves between levels.
    path("", include("routing.urls")),
    # Staff screens under /mediation/, public opinions under /mediateur/.
    path("", include("mediation.urls")),
    # Managers' dashboards, the cost model and exports under /dashboards/.
    path("", include("reporting.urls")),
    # The reply box, response templates, print batches of letters (staff workspace).
    path("", include("replies.urls")),
    # The public satisfaction survey (signed links, no login).
    path("", include("satisfaction.urls")),
    # The managers' outbox page (/outbox/): messages deferred, failed, recent; retry.
    path("", include("outbox.urls")),
    # Viewers' data rights and retention (staff under /privacy/), signed links under /donnees/.
    path("", include("privacy.urls")),
    # The demonstration's caught mail (/demo/mail/), only while DEMO_MAIL_CATCHER is on.
    path("", include("demo.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    # ReDoc injects style elements before it can take a nonce and searches in a blob: worker:
    # the one page whose policy allows inline styles and such workers (README § Security model).
    path(
        "api/redoc/",
        csp_replace(REDOC_POLICY)(SpectacularRedocView.as_view(url_name="schema")),
        name="api-redoc",
    ),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

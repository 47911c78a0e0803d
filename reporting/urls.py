from django.urls import path

from . import views

app_name = "reporting"

urlpatterns = [
    path("dashboards/", views.dashboard, name="dashboard"),
    path("dashboards/volumes/", views.volumes, name="volumes"),
    path("dashboards/service/", views.service, name="service"),
    path("dashboards/satisfaction/", views.satisfaction, name="satisfaction"),
    path("dashboards/trends/", views.trends, name="trends"),
    path("dashboards/cost/", views.cost, name="cost"),
    path("dashboards/tickets/", views.tickets, name="tickets"),
    path(
        "dashboards/export/<slug:page>/<slug:table>.<str:fmt>",
        views.export,
        name="export",
    ),
]

from django.urls import path

from . import views

app_name = "routing"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("queue/take-next/", views.take_next, name="take_next"),
    path("queue/tickets/<int:pk>/escalate/", views.escalate, name="escalate"),
    path("queue/tickets/<int:pk>/send-back/", views.send_back, name="send_back"),
    path("queue/tickets/<int:pk>/reroute/", views.reroute, name="reroute"),
]

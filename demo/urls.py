from django.urls import path

from . import views

app_name = "demo"

urlpatterns = [
    # Managers and administrators, only while DEMO_MAIL_CATCHER is on (`make run`).
    path("demo/mail/", views.caught_mail, name="mail"),
]

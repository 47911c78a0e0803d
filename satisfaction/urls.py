from django.urls import path

from . import views

app_name = "satisfaction"

urlpatterns = [
    # Public (no login): the link of the survey email, signed.
    path("satisfaction/<str:token>/", views.answer, name="answer"),
]

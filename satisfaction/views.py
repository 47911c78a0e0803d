"""The public survey page: no login, a signed link, one answer."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import services


@never_cache
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    try:
        survey = services.survey_from_token(token=token)
    except services.SurveyError as exc:
        return render(request, "satisfaction/invalid.html", {"message": str(exc)}, status=404)
    ctx = {"survey": survey, "brand": survey.ticket.brand, "scores": range(1, 6)}
    if survey.answered_at is not None:
        return render(request, "satisfaction/answered.html", {**ctx, "already": True}, status=409)
    if request.method == "POST":
        try:
            score = int(request.POST.get("score", ""))
        except ValueError:
            score = 0
        try:
            services.survey_answer(
                survey=survey, score=score, comment=request.POST.get("comment", "")
            )
        except services.AlreadyAnswered:
            return render(
                request, "satisfaction/answered.html", {**ctx, "already": True}, status=409
            )
        except services.SurveyError as exc:
            ctx.update(error=str(exc), comment=request.POST.get("comment", ""))
            return render(request, "satisfaction/answer.html", ctx, status=400)
        return render(request, "satisfaction/answered.html", {**ctx, "already": False})
    return render(request, "satisfaction/answer.html", ctx)

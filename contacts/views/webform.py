"""The public web form "Vous et Nous", one page per brand, no login."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ..channels.webform import HONEYPOT_FIELD, WebForm
from ..models import Brand
from ..services.webform import (
    webform_hold_robot,
    webform_input,
    webform_payload,
    webform_rate_allow,
    webform_submit,
)

_SALT = "contacts.webform.thanks"


def _brand(code: str) -> Brand | None:
    return Brand.objects.filter(code=code, is_active=True, web_form_enabled=True).first()


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


@require_http_methods(["GET", "POST"])
def webform(request: HttpRequest, brand_code: str) -> HttpResponse:
    brand = _brand(brand_code)
    if brand is None:
        return render(request, "contacts/webform_unknown.html", {"code": brand_code}, status=404)
    context = {"brand": brand, "honeypot": HONEYPOT_FIELD}
    if request.method == "GET":
        context["form"] = WebForm(brand=brand)
        return render(request, "contacts/webform.html", context)

    limit = getattr(settings, "WEBFORM_MAX_BYTES", 64 * 1024)
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
        context["form"] = WebForm(brand=brand)
        context["refusal"] = _("Your message is too long to be sent by this form.")
        return render(request, "contacts/webform.html", context, status=413)

    form = WebForm(request.POST, brand=brand)
    context["form"] = form
    ip = _client_ip(request)
    raw = webform_payload(
        brand=brand,
        post=request.POST.dict(),
        ip=ip,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    if form.is_robot:
        if webform_rate_allow(ip=ip):
            webform_hold_robot(brand=brand, raw=raw, ip=ip)
        return render(request, "contacts/webform_thanks.html", {"brand": brand})
    if not form.is_valid():
        return render(request, "contacts/webform.html", context, status=400)
    if not webform_rate_allow(ip=ip):
        context["refusal"] = _(
            "Too many messages were sent from your connection. Please try again in a few "
            "minutes: your text is still below."
        )
        return render(request, "contacts/webform.html", context, status=429)
    result = webform_submit(brand=brand, data=webform_input(form), raw=raw)
    token = signing.dumps(result.ticket.reference, salt=_SALT)
    url = reverse("contacts:webform_thanks", kwargs={"brand_code": brand.code})
    return redirect(f"{url}?r={token}")


def webform_thanks(request: HttpRequest, brand_code: str) -> HttpResponse:
    brand = _brand(brand_code)
    if brand is None:
        return render(request, "contacts/webform_unknown.html", {"code": brand_code}, status=404)
    reference = None
    try:
        reference = signing.loads(request.GET.get("r", ""), salt=_SALT, max_age=3600)
    except signing.BadSignature:
        reference = None
    return render(request, "contacts/webform_thanks.html", {"brand": brand, "reference": reference})

"""Public pages, no account: the mediators' published opinions per brand (searchable, with
comments), the confirmation of a comment's email, and a department's answer to a request for
comment through its one-time link."""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .. import selectors, services
from ..forms import DepartmentAnswerForm, PublicCommentForm
from ..models import Opinion


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@require_GET
def opinion_list(request: HttpRequest, brand: str) -> HttpResponse:
    brand_obj = selectors.public_brand(code=brand)
    if brand_obj.parent_id:
        # Opinions are published per national brand: a station's address leads there.
        return redirect("mediation:public_list", brand=brand_obj.parent.code)
    q = request.GET.get("q", "").strip()[:200]
    page = Paginator(selectors.opinions_published(brand=brand_obj, q=q), 20).get_page(
        request.GET.get("page")
    )
    return render(request, "mediation/public/list.html", {"brand": brand_obj, "page": page, "q": q})


def opinion_detail(request: HttpRequest, brand: str, pk: int, slug: str) -> HttpResponse:
    brand_obj = selectors.public_brand(code=brand)
    opinion = selectors.opinion_published_get(brand=brand_obj, pk=pk)
    if slug != opinion.slug:
        return redirect("mediation:public_opinion", brand=brand, pk=pk, slug=opinion.slug)
    form = PublicCommentForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid() and not form.cleaned_data["website"]:
            try:
                services.comment_submit(
                    opinion=opinion,
                    author_name=form.cleaned_data["author_name"],
                    email=form.cleaned_data["email"],
                    body=form.cleaned_data["body"],
                    ip=_ip(request),
                )
            except services.RateLimited:
                form.add_error(None, _("Too many comments from your connection; try later."))
                status = 429
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return render(
                    request,
                    "mediation/public/comment_sent.html",
                    {"brand": brand_obj, "opinion": opinion},
                )
        elif form.is_valid():
            # A robot filled the hidden field: answer as if all went well, keep nothing.
            return render(
                request,
                "mediation/public/comment_sent.html",
                {"brand": brand_obj, "opinion": opinion},
            )
    return render(
        request,
        "mediation/public/opinion.html",
        {
            "brand": brand_obj,
            "opinion": opinion,
            "comments": list(selectors.opinion_comments_public(opinion=opinion)),
            "form": form,
        },
        status=status,
    )


@never_cache
@require_GET
def comment_confirm(request: HttpRequest, token: str) -> HttpResponse:
    comment = services.comment_confirm(token=token)
    return render(
        request,
        "mediation/public/comment_confirmed.html",
        {"comment": comment, "brand": comment.opinion.brand if comment else None},
        status=200 if comment else 404,
    )


@never_cache
def comment_answer(request: HttpRequest, reference: str, token: str) -> HttpResponse:
    """A department's answer to a request for comment. The link works once, for its case
    only, until it expires; anything else is a plain "link not valid" page."""
    try:
        rfc = services.comment_request_for_link(reference=reference, token=token)
    except services.LinkInvalid:
        return render(
            request, "mediation/public/link_problem.html", {"problem": "invalid"}, status=404
        )
    except services.LinkUsed:
        return render(
            request, "mediation/public/link_problem.html", {"problem": "used"}, status=410
        )
    except services.LinkExpired:
        return render(
            request, "mediation/public/link_problem.html", {"problem": "expired"}, status=410
        )
    form = DepartmentAnswerForm(
        request.POST or None, initial={"answered_by_name": rfc.recipient_name}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.comment_request_answer(request=rfc, ip=_ip(request), **form.cleaned_data)
        except services.LinkUsed:
            return render(
                request, "mediation/public/link_problem.html", {"problem": "used"}, status=410
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return render(request, "mediation/public/answer_done.html", {"rfc": rfc})
    return render(request, "mediation/public/answer.html", {"rfc": rfc, "form": form})


# --- feeds -------------------------------------------------------------------------------------


class OpinionFeed(Feed):
    """RSS 2.0 feed of a brand's published opinions (the 30 latest)."""

    description = gettext_lazy("The mediators' opinions on what viewers asked them.")

    def get_object(self, request, brand: str):
        return selectors.public_brand(code=brand)

    def title(self, obj) -> str:
        return _("The mediators' opinions — %(brand)s") % {"brand": obj.name}

    def link(self, obj) -> str:
        return reverse("mediation:public_list", args=[obj.code])

    def items(self, obj):
        return selectors.opinions_published(brand=obj)[:30]

    def item_title(self, item: Opinion) -> str:
        return item.title

    def item_description(self, item: Opinion) -> str:
        return item.question

    def item_link(self, item: Opinion) -> str:
        return reverse(
            "mediation:public_opinion",
            kwargs={"brand": item.brand.code, "pk": item.pk, "slug": item.slug},
        )

    def item_pubdate(self, item: Opinion):
        return item.published_at

    def item_updateddate(self, item: Opinion):
        return item.published_at


class OpinionAtomFeed(OpinionFeed):
    feed_type = Atom1Feed

    def subtitle(self, obj) -> str:
        return str(self.description)

"""French first: the interface is in French unless the user chose English in the menu."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class FrenchFirstMiddleware:
    """Ignore the browser's Accept-Language header.

    The staff are French and many of their browsers (call-centre images, headless tools) are
    set to English; the language is what the user picked in the menu (the `django_language`
    cookie set by Django's `set_language` view), French otherwise. Placed before
    LocaleMiddleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)

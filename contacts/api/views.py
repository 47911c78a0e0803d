from rest_framework import viewsets
from rest_framework.pagination import CursorPagination

from .. import selectors
from ..filters import TicketFilter
from .serializers import TicketSerializer


class TicketCursorPagination(CursorPagination):
    # Keyset pagination: stable and fast at millions of rows, unlike OFFSET.
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class TicketViewSet(viewsets.ReadOnlyModelViewSet):
    """Tickets the caller may see (by role and brand scope), filterable, cursor-paginated."""

    serializer_class = TicketSerializer
    filterset_class = TicketFilter
    pagination_class = TicketCursorPagination
    # Any id up to the next slash reaches the view, which answers 404 in JSON for one that is
    # not a ticket's (by default an id with a dot would fall through to the HTML 404 page).
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return selectors.ticket_list(user=self.request.user)

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

    def get_queryset(self):
        return selectors.ticket_list(user=self.request.user)

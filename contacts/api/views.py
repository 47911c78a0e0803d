from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework import viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

from frt_crm.api_input import check_datetime

from .. import selectors
from ..filters import TicketFilter
from .serializers import TicketSerializer


class TicketCursorPagination(CursorPagination):
    # Keyset pagination: stable and fast at millions of rows, unlike OFFSET.
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request):
        """DRF's, and the cursor's position must be a date and time the database compares:
        a forged cursor is an invalid one (404), not a database error (500)."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                position = parse_datetime(cursor.position)
            except ValueError:
                position = None
            if position is None or check_datetime(position):
                raise NotFound(self.invalid_cursor_message)
        return cursor

    def get_page_size(self, request):
        # A page size that is not a whole number from 1 to max_page_size is refused (400),
        # not silently replaced by the default.
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        if not (value.isascii() and value.isdigit() and 1 <= int(value) <= self.max_page_size):
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        _("A whole number from 1 to %(max)s.") % {"max": self.max_page_size}
                    ]
                }
            )
        return int(value)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


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

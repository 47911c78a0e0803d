import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from accounts.models import Level
from frt_crm.api_input import DateTimeFilterField, IntegerFormField

from .models import Channel, Priority, SlaState, Status, Ticket, Topic


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    # ISO 8601, within the years and UTC offsets the database stores (else 400, not 500).
    field_class = DateTimeFilterField


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(django_filters.NumberFilter):
    # Whole numbers in the column's range: "1.5" or 10**30 are a 400, not a database error.
    field_class = IntegerFormField


class TicketFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices)
    topic = django_filters.MultipleChoiceFilter(choices=Topic.choices)
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices)
    sla_state = django_filters.MultipleChoiceFilter(choices=SlaState.choices)
    level = django_filters.TypedChoiceFilter(choices=Level.choices, coerce=int)
    brand = django_filters.CharFilter(field_name="brand__code", max_length=64)
    team = django_filters.CharFilter(field_name="team__code", max_length=64)
    reference = django_filters.CharFilter(max_length=20)
    viewer = IntegerFilter(field_name="viewer_id", min_value=1)
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Ticket
        fields = ["status", "channel", "topic", "priority", "sla_state", "level", "brand", "team"]

    # Parameters whose values are not free text: "?level=" is no level, refused rather than
    # silently ignored (the schema declares them as enums, integers and date-times).
    TYPED = (
        "status",
        "channel",
        "topic",
        "priority",
        "sla_state",
        "level",
        "viewer",
        "created_after",
        "created_before",
    )

    def is_valid(self):
        valid = super().is_valid()
        for name in self.TYPED:
            values = self.data.getlist(name) if hasattr(self.data, "getlist") else []
            if "" in values:
                self.form.add_error(name, _("Give a value, or leave this parameter out."))
                valid = False
        return valid

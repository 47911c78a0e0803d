import django_filters

from .models import Channel, Priority, SlaState, Status, Ticket, Topic


class TicketFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices)
    topic = django_filters.MultipleChoiceFilter(choices=Topic.choices)
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices)
    sla_state = django_filters.MultipleChoiceFilter(choices=SlaState.choices)
    level = django_filters.NumberFilter()
    brand = django_filters.CharFilter(field_name="brand__code")
    team = django_filters.CharFilter(field_name="team__code")
    reference = django_filters.CharFilter()
    viewer = django_filters.NumberFilter(field_name="viewer_id")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Ticket
        fields = ["status", "channel", "topic", "priority", "sla_state", "level", "brand", "team"]

"""`{% outbox_messages obj as mails %}`: the messages sent about an object (a survey, a request
for comment), oldest first, to show their delivery state with `outbox/_state.html`. One query;
for lists, the view passes `outbox.selectors.messages_by_cause` (one query for all) and the
template reads each object's with `{{ mails_by_id|outbox_for:obj.pk }}`."""

from __future__ import annotations

from django import template

from ..selectors import messages_for

register = template.Library()


@register.simple_tag
def outbox_messages(obj):
    if obj is None or getattr(obj, "pk", None) is None:
        return []
    return messages_for(cause=obj)


@register.filter
def outbox_for(mails_by_id, pk):
    """The messages of one object from a `messages_by_cause` mapping ([] when none)."""
    return (mails_by_id or {}).get(pk, [])

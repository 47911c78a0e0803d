"""`{% outbox_messages obj as mails %}`: the messages sent about an object (a survey, a request
for comment), oldest first, to show their delivery state with `outbox/_state.html`. One query;
for lists, pass the objects' messages from `outbox.selectors.messages_by_cause` instead."""

from __future__ import annotations

from django import template

from ..selectors import messages_for

register = template.Library()


@register.simple_tag
def outbox_messages(obj):
    if obj is None or getattr(obj, "pk", None) is None:
        return []
    return messages_for(cause=obj)

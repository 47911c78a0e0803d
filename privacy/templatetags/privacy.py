from django import template

from .. import policy

register = template.Library()


@register.inclusion_tag("privacy/_viewer_link.html", takes_context=True)
def privacy_link(context, viewer):
    """The link from the viewer card to the viewer's data rights, for those who handle them."""
    user = context["request"].user
    return {"viewer": viewer, "show": policy.can(user, "handle", viewer)}

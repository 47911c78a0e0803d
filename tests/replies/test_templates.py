"""Response templates: variables, search from the reply box, versions, who manages them."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from replies.models import ResponseTemplate, ResponseTemplateVersion, Signature
from replies.services import (
    TemplateData,
    signature_for,
    template_fill,
    template_render,
    template_save,
    templates_for_ticket,
)
from tests.factories import brand
from tests.workspace.helpers import workspace_ticket

pytestmark = pytest.mark.django_db


def test_default_french_templates_are_shipped():
    titles = set(ResponseTemplate.objects.values_list("title", flat=True))
    assert "Accusé de réception" in titles and "Réponse par courrier" in titles
    assert ResponseTemplateVersion.objects.count() == ResponseTemplate.objects.count()


def test_variables_are_filled_from_the_ticket_viewer_and_agent(agent):
    ticket = workspace_ticket()
    Signature.objects.create(user=agent, brand=brand("france2"), text="Camille, pour France 2")
    template = ResponseTemplate.objects.get(title="Accusé de réception")
    filled = template_render(template=template, ticket=ticket, by=agent)
    assert filled.body.startswith("Madame,\n")
    assert ticket.reference in filled.body
    assert "France 2" in filled.body
    assert filled.body.rstrip().endswith("Camille, pour France 2")
    assert "{{" not in filled.body and filled.unknown == ()


def test_unknown_variables_stay_visible_and_are_reported():
    text, unknown = template_fill("Bonjour {{ prenom }} {{ reference }}", {"reference": "R"})
    assert text == "Bonjour {{ prenom }} R" and unknown == ["prenom"]


def test_template_text_is_never_run_as_a_django_template(agent):
    ticket = workspace_ticket()
    template = ResponseTemplate.objects.create(
        title="t", body="{% load static %}{{ ticket.viewer.emails }} {{ settings.SECRET_KEY }}"
    )
    filled = template_render(template=template, ticket=ticket, by=agent)
    assert filled.body == template.body


def test_signature_falls_back_to_the_national_brand_then_the_user_then_a_default(agent):
    station = brand("france3-bretagne")
    assert "France 3" in signature_for(user=agent, brand=station)
    Signature.objects.create(user=agent, brand=brand("france3"), text="Sig F3")
    assert signature_for(user=agent, brand=station) == "Sig F3"


def test_search_ranks_the_tickets_topic_first_and_is_accent_insensitive():
    ticket = workspace_ticket(topic="replay_streaming")
    found = list(templates_for_ticket(ticket=ticket, channel="email"))
    assert found[0].topic == "replay_streaming"
    assert all(t.topic in ("", "replay_streaming") for t in found)
    assert "Réception TNT : premiers conseils" in [
        t.title for t in templates_for_ticket(ticket=ticket, channel="email", query="reception")
    ]
    letters = templates_for_ticket(ticket=ticket, channel="email", query="courrier")
    assert "Réponse par courrier" not in [t.title for t in letters]


def test_templates_of_another_brand_are_not_offered():
    ticket = workspace_ticket(brand_code="france2")
    ResponseTemplate.objects.create(
        title="Spécial France 5", body="x", brand=brand("france5"), search_text="special france 5"
    )
    assert not [t for t in templates_for_ticket(ticket=ticket, query="special") if t.brand_id]


def test_saving_makes_a_new_version_and_keeps_the_old(srt, agent):
    template = ResponseTemplate.objects.get(title="Accusé de réception")
    data = TemplateData(title=template.title, body=template.body + "\nPS", subject="S")
    saved = template_save(by=srt, data=data, template=template)
    assert saved.version == 2
    assert list(saved.versions.values_list("version", flat=True)) == [2, 1]
    assert template_save(by=srt, data=data, template=saved).version == 2  # unchanged
    with pytest.raises(PermissionDenied):
        template_save(by=agent, data=data, template=saved)


def test_templates_page_for_srt_and_refused_to_agents(client, srt, agent):
    client.force_login(agent)
    assert client.get(reverse("replies:template_list")).status_code == 403
    client.force_login(srt)
    assert client.get(reverse("replies:template_list"), {"q": "tnt"}).status_code == 200
    response = client.post(
        reverse("replies:template_new"),
        {
            "title": "Horaires du Tour",
            "topic": "sport",
            "channel": "email",
            "subject": "Le Tour",
            "body": "{{ salutation }}\nLe Tour passe à 14 h.",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    template = ResponseTemplate.objects.get(title="Horaires du Tour")
    assert template.updated_by == srt and template.version == 1


def test_reply_box_search_and_fill_endpoints(client, agent):
    ticket = workspace_ticket(topic="reception_technical")
    client.force_login(agent)
    found = client.get(
        reverse("replies:template_search", args=[ticket.pk]), {"q": "tnt", "channel": "email"}
    )
    assert "Réception TNT" in found.content.decode()
    template = ResponseTemplate.objects.get(title="Réception TNT : premiers conseils")
    filled = client.get(reverse("replies:template_fill", args=[ticket.pk, template.pk]))
    body = filled.content.decode()
    assert "recevoirlatnt.fr" in body and "Madame," in body
    assert filled["HX-Trigger-After-Settle"] == "reply-filled"

"""A draft copied from the live policy saves unchanged through the admin, and publishes.

The rule "expediteur-institutionnel" names the sender lists elected, lawyer and press: each rule
of the page was checked without the version's sender lists, so saving any copy of the live
policy failed with "unknown sender lists" (issue 14).
"""

import html
import json

import pytest
from django.urls import reverse
from django.utils import translation

from routing.models import PolicyVersion

pytestmark = pytest.mark.django_db


def _live():
    return PolicyVersion.objects.get(state=PolicyVersion.State.LIVE)


def _copy_live_in_the_admin(client):
    live = _live()
    response = client.post(
        reverse("admin:routing_policyversion_changelist"),
        {"action": "copy_as_draft", "_selected_action": [str(live.pk)], "index": "0"},
    )
    assert response.status_code == 302
    return PolicyVersion.objects.get(based_on=live, state=PolicyVersion.State.DRAFT)


def _value(bound_field):
    value = bound_field.value()
    if isinstance(value, bool):
        return "on" if value else None
    return "" if value is None else str(value)


def _page_as_posted(client, version):
    """What the browser sends back when the manager presses Save without touching anything:
    every field of the change page as the page shows it."""
    url = reverse("admin:routing_policyversion_change", args=[version.pk])
    response = client.get(url)
    assert response.status_code == 200
    data = {"_save": "Save"}
    form = response.context["adminform"].form
    for name in form.fields:
        value = _value(form[name])
        if value is not None:
            data[name] = value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name in formset.management_form.fields:
            data[f"{formset.prefix}-{name}"] = str(formset.management_form[name].value())
        for subform in formset.forms:
            for name in subform.fields:
                value = _value(subform[name])
                if value is not None:
                    data[subform.add_prefix(name)] = value
    return url, data


def test_a_copy_of_the_live_policy_saves_unchanged_and_publishes(client, manager):
    client.force_login(manager)
    draft = _copy_live_in_the_admin(client)
    rule = draft.rules.get(code="expediteur-institutionnel")
    assert rule.conditions["sender_lists"] == ["elected", "lawyer", "press"]
    rule_count = draft.rules.count()

    url, data = _page_as_posted(client, draft)
    assert data["rules-TOTAL_FORMS"] == str(rule_count)
    response = client.post(url, data)
    errors = response.context["errors"] if response.status_code == 200 else ""
    assert response.status_code == 302, errors
    draft.refresh_from_db()
    assert draft.rules.count() == rule_count
    assert draft.sender_lists == _live().sender_lists
    saved = draft.rules.get(code="expediteur-institutionnel")
    assert saved.conditions == rule.conditions

    dry_run = reverse("admin:routing_policyversion_dry_run", args=[draft.pk])
    assert client.post(dry_run).status_code == 200
    publish = reverse("admin:routing_policyversion_publish", args=[draft.pk])
    assert client.post(publish).status_code == 302
    assert _live().pk == draft.pk


def test_an_unknown_sender_list_is_refused_in_french_naming_the_rule_and_the_list(client, manager):
    client.force_login(manager)
    draft = _copy_live_in_the_admin(client)
    rule = draft.rules.get(code="expediteur-institutionnel")
    url, data = _page_as_posted(client, draft)
    prefix = next(k for k, v in data.items() if v == str(rule.pk) and k.endswith("-id"))[:-3]
    conditions = {**rule.conditions, "sender_lists": ["elected", "syndicats"]}
    data[f"{prefix}-conditions"] = json.dumps(conditions)

    response = client.post(url, data)  # LANGUAGE_CODE is French
    assert response.status_code == 200
    page = response.content.decode()
    assert (
        "La règle «\u00a0expediteur-institutionnel\u00a0» cite une liste d'expéditeurs qui "
        "n'existe pas\u00a0: syndicats."
    ) in html.unescape(page)
    assert "unknown sender lists" not in page
    rule.refresh_from_db()
    assert rule.conditions["sender_lists"] == ["elected", "lawyer", "press"]


@pytest.mark.parametrize(
    ("language", "codes", "message"),
    [
        (
            "fr",
            ["syndicats", "ong"],
            "La règle «\u00a0expediteur-institutionnel\u00a0» cite des listes d'expéditeurs qui "
            "n'existent pas\u00a0: syndicats, ong.",
        ),
        (
            "en",
            ["syndicats"],
            "Rule “expediteur-institutionnel” names a sender list that does not exist: syndicats.",
        ),
    ],
)
def test_the_refusal_names_the_rule_and_the_lists_in_the_readers_language(language, codes, message):
    from routing.services import PolicyError, policy_compile

    data = {
        "version": "check",
        "rules": [
            {
                "code": "expediteur-institutionnel",
                "name": "Élu",
                "conditions": {"sender_lists": codes},
                "actions": {"min_level": 2},
            }
        ],
    }
    with translation.override(language), pytest.raises(PolicyError) as caught:
        policy_compile(data)
    assert str(caught.value) == message

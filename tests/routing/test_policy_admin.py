"""The policy as data: versions edited in the admin, validated, dry-run, then published."""

import pytest
from django.urls import reverse

from routing.models import PolicyRule, PolicyVersion
from routing.services import (
    PolicyError,
    live_policy,
    policy_dry_run,
    policy_version_copy,
    policy_version_publish,
    ticket_triage,
)
from tests.routing.helpers import new_ticket

pytestmark = pytest.mark.django_db

QUESTION = "Bonjour, quand sera rediffusé le documentaire sur les abeilles ? Merci."


def _live():
    return PolicyVersion.objects.get(state=PolicyVersion.State.LIVE)


def test_the_default_policy_ships_as_the_live_version():
    live = _live()
    assert live.version == "2026.2"
    assert live.rules.count() > 20
    assert live_policy().version == "2026.2"


def _formset_data(version, rows, **extra):
    data = {
        "version": version.version,
        "note": "",
        "defaults": "{}",
        "lexicons": '{"mots": ["abeille"]}',
        "sender_lists": "[]",
        "rules-TOTAL_FORMS": str(len(rows)),
        "rules-INITIAL_FORMS": "0",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"rules-{i}-{key}"] = value
        data[f"rules-{i}-version"] = str(version.pk)
    data.update(extra)
    return data


def _rule(**kwargs):
    row = {
        "order": "10",
        "code": "abeilles",
        "name": "Abeilles",
        "enabled": "on",
        "weight": "5",
        "conditions": '{"words_any": ["@mots"]}',
        "actions": '{"topic": "programme_request", "level": 1}',
    }
    row.update(kwargs)
    return row


@pytest.fixture
def draft(manager):
    draft = PolicyVersion.objects.create(version="2027.1", defaults={}, lexicons={})
    return draft


def test_a_manager_edits_a_drafts_rules_in_the_admin(client, manager, draft):
    client.force_login(manager)
    url = reverse("admin:routing_policyversion_change", args=[draft.pk])
    response = client.post(url, _formset_data(draft, [_rule()]))
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    rule = PolicyRule.objects.get(version=draft)
    assert rule.conditions == {"words_any": ["@mots"]}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"conditions": '{"word_any": ["x"]}'}, "unknown keys word_any"),
        ({"actions": '{"level": 4}'}, "level must be one of"),
        ({"conditions": '{"words_any": ["@inconnu"]}'}, "unknown lexicon"),
        ({"conditions": '{"words_any": "abeille"}'}, "must be a list of strings"),
        ({"actions": '{"team": "equipe-x"}'}, "must start with one of"),
    ],
)
def test_invalid_rules_are_refused_with_a_clear_message(client, manager, draft, row, message):
    client.force_login(manager)
    url = reverse("admin:routing_policyversion_change", args=[draft.pk])
    response = client.post(url, _formset_data(draft, [_rule(**row)]))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not PolicyRule.objects.filter(version=draft).exists()


def test_invalid_defaults_are_refused(client, manager, draft):
    client.force_login(manager)
    url = reverse("admin:routing_policyversion_change", args=[draft.pk])
    response = client.post(url, _formset_data(draft, [], defaults='{"level": 7}'))
    assert response.status_code == 200
    assert "defaults.level must be one of" in response.content.decode()


def test_the_live_version_is_read_only(client, manager):
    live = _live()
    client.force_login(manager)
    url = reverse("admin:routing_policyversion_change", args=[live.pk])
    assert client.get(url).status_code == 200  # viewable
    response = client.post(url, _formset_data(live, [_rule()]))
    assert response.status_code == 403
    assert live.rules.filter(code="abeilles").count() == 0


def test_only_managers_reach_the_policy(client, srt):
    client.force_login(srt)
    response = client.get(reverse("admin:routing_policyversion_changelist"))
    assert response.status_code == 302  # to the admin login


def test_copy_dry_run_then_publish(manager):
    source = _live()
    draft = policy_version_copy(source=source, version="2027.1", by=manager)
    assert draft.rules.count() == source.rules.count()
    for _ in range(3):
        ticket_triage(ticket_id=new_ticket(body=QUESTION).pk)
    # The draft sends programme questions to level 2.
    rule = draft.rules.get(actions__topic="programme_info")
    rule.actions = {**rule.actions, "level": 2}
    rule.save()

    with pytest.raises(PolicyError):
        policy_version_publish(version=draft, by=manager)  # no dry run yet

    result = policy_dry_run(version=draft, by=manager)
    assert result.summary["tickets"] == 3
    assert result.summary["changed"] == 3
    assert result.summary["classifier"] is None  # none in use: rules only
    assert (result.summary["classifier_live"], result.summary["classifier_draft"]) == (0, 0)
    assert result.summary["moves"]["level 1 → 2"] == 3
    row = result.rows[0]
    assert (row.live["level"], row.draft["level"], row.current["level"]) == (1, 2, 1)

    published = policy_version_publish(version=draft, by=manager)
    assert published.state == PolicyVersion.State.LIVE
    source.refresh_from_db()
    assert source.state == PolicyVersion.State.RETIRED
    from routing.services import reset_caches

    reset_caches()  # on_commit does it in production; tests run in one transaction
    ticket = ticket_triage(ticket_id=new_ticket(body=QUESTION).pk)
    assert ticket.triage_policy_version == "2027.1"
    assert ticket.level == 2


def test_the_dry_run_page_and_publish_button(client, manager):
    draft = policy_version_copy(source=_live(), version="2026.3", by=manager)
    ticket_triage(ticket_id=new_ticket(body=QUESTION).pk)
    client.force_login(manager)
    url = reverse("admin:routing_policyversion_dry_run", args=[draft.pk])
    assert client.get(url).status_code == 200
    response = client.post(url)
    assert response.status_code == 200
    assert response.context["result"].summary["tickets"] == 1
    publish = reverse("admin:routing_policyversion_publish", args=[draft.pk])
    assert client.post(publish).status_code == 302
    assert PolicyVersion.objects.get(pk=draft.pk).state == PolicyVersion.State.LIVE


def test_editing_a_draft_voids_its_dry_run(client, manager, draft):
    policy_dry_run(version=draft, by=manager)
    draft.refresh_from_db()
    assert draft.dry_run_at is not None
    client.force_login(manager)
    url = reverse("admin:routing_policyversion_change", args=[draft.pk])
    response = client.post(url, _formset_data(draft, [], note="moins de niveau 2"))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.note == "moins de niveau 2"
    assert draft.dry_run_at is None


@pytest.mark.parametrize("model", ["policyversion", "slapolicy", "triageclassifier"])
def test_the_configuration_pages_open_for_managers(client, manager, model):
    client.force_login(manager)
    assert client.get(reverse(f"admin:routing_{model}_changelist")).status_code == 200
    live = _live()
    assert (
        client.get(reverse("admin:routing_policyversion_change", args=[live.pk])).status_code == 200
    )


# --- the dry run decides as the live triage does, classifier included ---------------------------

GIBBERISH = "zorglub quantique gribouille"


@pytest.fixture
def trained_classifier():
    """A tiny model that answers "sport, level 2" for words no rule knows."""
    from routing import classifier
    from routing.services import classifier_store

    texts = [GIBBERISH] * 4 + ["blorp vermicelle tartempion"] * 4
    model = classifier.train(
        texts=texts, topics=["sport"] * 4 + ["praise"] * 4, levels=[2] * 4 + [1] * 4
    )
    return classifier_store(
        model=model, metrics={}, source="dry-run test", examples=8, by=None, activate=True
    )


def _with_threshold(version, threshold):
    PolicyVersion.objects.filter(pk=version.pk).update(
        defaults={**version.defaults, "classifier_threshold": threshold}
    )
    from routing.services import reset_caches

    reset_caches()


def test_the_dry_run_uses_the_classifier_with_each_versions_threshold(
    client, manager, trained_classifier
):
    live = _live()
    draft = policy_version_copy(source=live, version="2026.4", by=manager)
    _with_threshold(live, 1.0)  # the live version never lets the classifier decide
    _with_threshold(draft, 0.0)  # the draft always does, where no topic rule decided
    unknown = [ticket_triage(ticket_id=new_ticket(body=GIBBERISH).pk) for _ in range(2)]
    ruled = ticket_triage(ticket_id=new_ticket(body=QUESTION).pk)
    assert all(t.triage_decision["source"] != "classifier" for t in unknown)

    result = policy_dry_run(version=PolicyVersion.objects.get(pk=draft.pk), by=manager)
    s = result.summary
    assert s["classifier"] == str(trained_classifier)
    assert (s["classifier_threshold_live"], s["classifier_threshold_draft"]) == (1.0, 0.0)
    assert (s["classifier_live"], s["classifier_draft"]) == (0, 2)
    rows = {r.ticket_id: r for r in result.rows}
    for ticket in unknown:
        row = rows[ticket.pk]
        assert (row.draft["source"], row.draft["topic"], row.draft["level"]) == (
            "classifier",
            "sport",
            2,
        )
        assert row.live["source"] != "classifier" and row.changed
    assert rows[ruled.pk].draft["source"] == "rules" and not rows[ruled.pk].changed

    client.force_login(manager)
    url = reverse("admin:routing_policyversion_dry_run", args=[draft.pk])
    page = client.post(url).content.decode()
    assert '<dd class="classifier-decisions">0 → 2' in page
    assert "dry-run test" in page


def test_the_dry_run_agrees_with_the_live_triage_on_the_same_configuration(
    manager, trained_classifier, settings
):
    settings.TRIAGE_CLASSIFIER_THRESHOLD = 0.0  # overrides every version's, as in live triage
    tickets = [ticket_triage(ticket_id=new_ticket(body=b).pk) for b in (GIBBERISH, QUESTION)]
    draft = policy_version_copy(source=_live(), version="2026.5", by=manager)
    result = policy_dry_run(version=draft, by=manager)
    rows = {r.ticket_id: r for r in result.rows}
    for ticket in tickets:
        assert rows[ticket.pk].live["source"] == ticket.triage_decision["source"]
        assert (rows[ticket.pk].live["level"], rows[ticket.pk].live["topic"]) == (
            ticket.level,
            ticket.topic,
        )
    assert result.summary["classifier_live"] == result.summary["classifier_draft"] == 1

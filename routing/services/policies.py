"""The triage policy as stored data: the live version, drafts, dry runs, publication, and the
statistical classifier.

Compiling a policy (stemming every term) costs tens of milliseconds, so each process keeps the
compiled live policy and classifier, and re-reads the id of the live version at most every
TRIAGE_CONFIG_CACHE_SECONDS (``routing.config_cache``): a published version takes effect
everywhere within that delay.
Published and retired versions are never edited, so a cached compilation is never stale.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from accounts.services import audit_record
from contacts.models import Status, Ticket

from .. import config_cache, rules
from ..models import PolicyRule, PolicyVersion, TriageClassifier

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # scikit-learn takes 1–2 s to import: only when a model is loaded
    from .. import classifier as classifier_module


class PolicyError(ValueError):
    """A policy version that cannot be used (invalid rules, wrong state, no dry run)."""


# --- compiling ---------------------------------------------------------------------------------


def policy_version_as_dict(*, version: PolicyVersion, rule_rows: list[PolicyRule] | None = None):
    """The version in ``rules.policy_from_dict``'s format."""
    rows = rule_rows if rule_rows is not None else list(version.rules.all())
    return {
        "version": version.version,
        "defaults": dict(version.defaults or {}),
        "lexicons": dict(version.lexicons or {}),
        "sender_lists": list(version.sender_lists or []),
        "rules": [row.as_rule_dict() for row in rows],
    }


def policy_compile(data: dict[str, Any]) -> rules.Policy:
    """Compile a policy dict; raises PolicyError. TRIAGE_CLASSIFIER_THRESHOLD, when set,
    overrides the threshold stored in the policy's defaults."""
    data = dict(data)
    if settings.TRIAGE_CLASSIFIER_THRESHOLD is not None:
        data["defaults"] = {
            **(data.get("defaults") or {}),
            "classifier_threshold": settings.TRIAGE_CLASSIFIER_THRESHOLD,
        }
    try:
        return rules.policy_from_dict(data)
    except rules.UnknownSenderListsError as exc:
        codes = ", ".join(exc.codes)
        message = ngettext(
            "Rule “%(rule)s” names a sender list that does not exist: %(codes)s.",
            "Rule “%(rule)s” names sender lists that do not exist: %(codes)s.",
            len(exc.codes),
        ) % {"rule": exc.rule, "codes": codes}
        raise PolicyError(message) from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise PolicyError(str(exc)) from exc


def policy_version_compile(*, version: PolicyVersion) -> rules.Policy:
    return policy_compile(policy_version_as_dict(version=version))


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.policy: tuple[int, rules.Policy] | None = None
        self.classifier: tuple[int, classifier_module.Model] | None = None


_cache = _Cache()


def reset_caches() -> None:
    """Forget the cached configuration of this process (tests, publication)."""
    with _cache.lock:
        _cache.policy = None
        _cache.classifier = None
    config_cache.clear()


def _live_version_id() -> int | None:
    return (
        PolicyVersion.objects.filter(state=PolicyVersion.State.LIVE)
        .values_list("pk", flat=True)
        .first()
    )


def _active_classifier_id() -> int | None:
    return TriageClassifier.objects.filter(is_active=True).values_list("pk", flat=True).first()


def live_policy() -> rules.Policy:
    """The compiled live policy; the shipped default policy if none is live (logged)."""
    live_id = config_cache.cached("live_policy_id", _live_version_id)
    if live_id is None:
        logger.warning("no live triage policy version: using routing.default_policy")
        from ..default_policy import default_policy

        return policy_compile(rules.policy_to_dict(default_policy()))
    cached = _cache.policy
    if cached is not None and cached[0] == live_id:
        return cached[1]
    version = PolicyVersion.objects.get(pk=live_id)
    policy = policy_version_compile(version=version)
    with _cache.lock:
        _cache.policy = (live_id, policy)
    return policy


def live_classifier() -> classifier_module.Model | None:
    """The classifier in use, or None (its id is cached like the live policy's: the second
    opinion asks on most decisions)."""
    active_id = config_cache.cached("active_classifier_id", _active_classifier_id)
    if active_id is None:
        return None
    cached = _cache.classifier
    if cached is not None and cached[0] == active_id:
        return cached[1]
    data = TriageClassifier.objects.values_list("model", flat=True).get(pk=active_id)
    from .. import classifier as classifier_module

    model = classifier_module.loads(bytes(data))
    with _cache.lock:
        _cache.classifier = (active_id, model)
    return model


class _LiveClassifier:
    """The classifier in use, as ``rules.decide`` asks it (where no topic rule decided, and
    for the second opinion on a level-1 decision): looked up at the first question only, each
    text assessed once. Given the texts of a batch, the first question assesses them all with
    one run of the model instead of one per ticket."""

    def __init__(self, texts: Sequence[str] = ()) -> None:
        self._pending = list(dict.fromkeys(texts))
        self._loaded = False
        self._model: classifier_module.Model | None = None
        self._seen: dict[str, classifier_module.Assessment] = {}

    def _assess(self, text: str) -> classifier_module.Assessment | None:
        if not self._loaded:
            self._model, self._loaded = live_classifier(), True
        if self._model is None:
            return None
        if text not in self._seen:
            texts = [t for t in self._pending if t not in self._seen]
            if text not in texts:
                texts.append(text)
            self._seen.update(zip(texts, self._model.assess_many(texts), strict=True))
            self._pending = []
        return self._seen[text]

    def predict(self, text: str) -> tuple[str, int, float]:
        found = self._assess(text)
        if found is None:
            return ("", 1, -1.0)  # below any threshold: the classifier does not decide
        return (found.topic, found.level, found.confidence)

    def level_probability(self, text: str, level: int) -> float:
        found = self._assess(text)
        return 0.0 if found is None else found.level_probabilities.get(level, 0.0)


def decide_live(facts: rules.Facts) -> rules.Decision:
    """The decision the live configuration (policy, then classifier) takes on ``facts``."""
    return rules.decide(facts=facts, policy=live_policy(), classifier=_LiveClassifier())


def decide_live_many(facts: Sequence[rules.Facts]) -> list[rules.Decision]:
    """:func:`decide_live` for a batch: the same decisions, the classifier run once for all."""
    policy = live_policy()
    classifier = _LiveClassifier([f.text for f in facts])
    return [rules.decide(facts=f, policy=policy, classifier=classifier) for f in facts]


# --- versions ----------------------------------------------------------------------------------


@transaction.atomic
def policy_version_load(
    *, policy: rules.Policy, state: str = PolicyVersion.State.DRAFT, by: User | None = None
) -> PolicyVersion:
    """Store a compiled policy (e.g. ``default_policy()``) as a new version."""
    data = rules.policy_to_dict(policy)
    version = PolicyVersion.objects.create(
        version=data["version"],
        state=state,
        defaults=data["defaults"],
        lexicons=data["lexicons"],
        sender_lists=data["sender_lists"],
        created_by=by,
        published_at=timezone.now() if state == PolicyVersion.State.LIVE else None,
    )
    PolicyRule.objects.bulk_create([_rule_row(version, r) for r in data["rules"]], batch_size=500)
    return version


def _rule_row(version: PolicyVersion, data: dict[str, Any]) -> PolicyRule:
    return PolicyRule(
        version=version,
        code=data["code"],
        name=data["name"],
        order=data.get("order", 100),
        enabled=data.get("enabled", True),
        stop=data.get("stop", False),
        weight=data.get("weight", 1.0),
        conditions=data.get("conditions") or {},
        actions=data.get("actions") or {},
    )


@transaction.atomic
def policy_version_copy(*, source: PolicyVersion, version: str, by: User | None) -> PolicyVersion:
    """A new draft with the same content as ``source``, to edit and dry-run."""
    version = (version or "").strip()
    if not version:
        raise PolicyError(_("A version needs a label."))
    if PolicyVersion.objects.filter(version=version).exists():
        raise PolicyError(_("Version %(v)s already exists.") % {"v": version})
    draft = PolicyVersion.objects.create(
        version=version,
        state=PolicyVersion.State.DRAFT,
        based_on=source,
        defaults=source.defaults,
        lexicons=source.lexicons,
        sender_lists=source.sender_lists,
        created_by=by,
    )
    PolicyRule.objects.bulk_create(
        [_rule_row(draft, row.as_rule_dict()) for row in source.rules.all()], batch_size=500
    )
    audit_record(actor=by, action="triage_policy.copy", obj=draft, data={"from": source.version})
    return draft


def policy_version_mark_edited(*, version: PolicyVersion) -> None:
    """A draft changed: its last dry run no longer describes it."""
    PolicyVersion.objects.filter(pk=version.pk).update(dry_run_at=None, dry_run_summary={})


@transaction.atomic
def policy_version_publish(*, version: PolicyVersion, by: User | None) -> PolicyVersion:
    """Make a dry-run draft the live version; the previous live one is retired.

    Refuses a version that is not a draft, that does not compile, or whose rules changed
    since its last dry run. Takes effect at the next decision of every process.
    """
    locked = PolicyVersion.objects.select_for_update().get(pk=version.pk)
    if locked.state != PolicyVersion.State.DRAFT:
        raise PolicyError(_("Only a draft can be published."))
    if locked.dry_run_at is None:
        raise PolicyError(_("Run a dry run of this version before publishing it."))
    policy_version_compile(version=locked)
    previous = list(
        PolicyVersion.objects.select_for_update().filter(state=PolicyVersion.State.LIVE)
    )
    PolicyVersion.objects.filter(pk__in=[p.pk for p in previous]).update(
        state=PolicyVersion.State.RETIRED
    )
    locked.state = PolicyVersion.State.LIVE
    locked.published_at = timezone.now()
    locked.published_by = by
    locked.save(update_fields=["state", "published_at", "published_by"])
    audit_record(
        actor=by,
        action="triage_policy.publish",
        obj=locked,
        data={"retired": [p.version for p in previous]},
    )
    transaction.on_commit(reset_caches)
    return locked


# --- dry run -----------------------------------------------------------------------------------


@dataclass
class DryRunRow:
    ticket_id: int
    reference: str
    subject: str
    current: dict[str, Any]  # the ticket as it stands (after staff's re-routing, if any)
    live: dict[str, Any]  # what the live policy decides on the same facts
    draft: dict[str, Any]  # what the draft decides
    changed: bool


@dataclass
class DryRunResult:
    version: str
    live_version: str
    rows: list[DryRunRow] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def _short(decision: rules.Decision) -> dict[str, Any]:
    return {
        "level": decision.level,
        "team": decision.team,
        "topic": decision.topic or "",
        "priority": decision.priority,
        "rules": list(decision.matched_rules),
        "source": decision.source,
        "explanation": decision.explanation,
    }


def _key(d: dict[str, Any]) -> tuple:
    return (d["level"], d["team"], d["topic"], d["priority"])


@transaction.atomic
def policy_dry_run(*, version: PolicyVersion, by: User | None, limit: int = 1000) -> DryRunResult:
    """What ``version`` would decide on the last ``limit`` triaged tickets, next to what the
    live version decides on the same facts and where staff finally put each ticket.

    Both decide as the live triage does (``decide_live``): the rules, then the classifier in
    use where no topic rule decided and its confidence reaches each version's own threshold
    (TRIAGE_CLASSIFIER_THRESHOLD, when set, overrides both, as in the live triage). The
    summary counts the decisions that came from the classifier.

    Reads only; stores the summary on the version (a draft can be published once dry-run).
    """
    from .facts import facts_for_tickets

    draft_policy = policy_version_compile(version=version)
    live = live_policy()
    classifier_row = (
        TriageClassifier.objects.filter(is_active=True).only("source", "created_at").first()
    )
    tickets = list(
        Ticket.objects.exclude(status=Status.NEW)
        .select_related("brand", "programme", "viewer", "team")
        .order_by("-created_at", "-id")[:limit]
    )
    facts = facts_for_tickets(tickets)
    # Each text assessed once, for both versions, in one run of the model.
    classifier = _LiveClassifier([f.text for f in facts.values()])
    result = DryRunResult(version=version.version, live_version=live.version)
    moves: Counter[str] = Counter()
    agree_live = agree_draft = 0
    for ticket in tickets:
        f = facts[ticket.pk]
        new = _short(rules.decide(facts=f, policy=draft_policy, classifier=classifier))
        old = _short(rules.decide(facts=f, policy=live, classifier=classifier))
        current = {
            "level": ticket.level,
            "team": ticket.team.code if ticket.team else "",
            "topic": ticket.topic,
            "priority": ticket.priority,
        }
        changed = _key(new) != _key(old)
        if changed:
            if new["level"] != old["level"]:
                moves[f"level {old['level']} → {new['level']}"] += 1
            if new["topic"] != old["topic"]:
                moves["topic"] += 1
            if new["priority"] != old["priority"]:
                moves["priority"] += 1
            if new["team"] != old["team"]:
                moves["team"] += 1
        agree_live += (old["level"], old["topic"]) == (current["level"], current["topic"])
        agree_draft += (new["level"], new["topic"]) == (current["level"], current["topic"])
        result.rows.append(
            DryRunRow(
                ticket_id=ticket.pk,
                reference=ticket.reference,
                subject=ticket.subject,
                current=current,
                live=old,
                draft=new,
                changed=changed,
            )
        )
    n = len(tickets)
    levels_draft = Counter(r.draft["level"] for r in result.rows)
    levels_live = Counter(r.live["level"] for r in result.rows)
    result.summary = {
        "tickets": n,
        "changed": sum(r.changed for r in result.rows),
        "moves": dict(moves.most_common()),
        "levels_live": {str(k): levels_live.get(k, 0) for k in rules.LEVELS},
        "levels_draft": {str(k): levels_draft.get(k, 0) for k in rules.LEVELS},
        "agreement_with_staff_live": round(agree_live / n, 4) if n else None,
        "agreement_with_staff_draft": round(agree_draft / n, 4) if n else None,
        "live_version": live.version,
        # The classifier in use (None: none) and how many decisions it took in each version.
        "classifier": str(classifier_row) if classifier_row else None,
        "classifier_threshold_live": live.defaults.classifier_threshold,
        "classifier_threshold_draft": draft_policy.defaults.classifier_threshold,
        "classifier_live": sum(r.live["source"] == "classifier" for r in result.rows),
        "classifier_draft": sum(r.draft["source"] == "classifier" for r in result.rows),
    }
    PolicyVersion.objects.filter(pk=version.pk).update(
        dry_run_at=timezone.now(), dry_run_summary=result.summary
    )
    audit_record(actor=by, action="triage_policy.dry_run", obj=version, data=result.summary)
    return result


# --- the classifier ----------------------------------------------------------------------------


@transaction.atomic
def classifier_store(
    *,
    model: classifier_module.Model,
    metrics: dict[str, float],
    source: str,
    examples: int,
    by: User | None,
    activate: bool,
) -> TriageClassifier:
    """Store a trained classifier; with ``activate``, it replaces the one in use."""
    if activate:
        TriageClassifier.objects.filter(is_active=True).update(is_active=False)
    stored = TriageClassifier.objects.create(
        trained_by=by,
        source=source[:200],
        examples=examples,
        metrics={k: (None if v != v else v) for k, v in metrics.items()},  # NaN is not JSON
        model=model.dumps(),
        is_active=activate,
    )
    transaction.on_commit(reset_caches)
    return stored


@transaction.atomic
def classifier_activate(*, classifier: TriageClassifier | None, by: User | None) -> None:
    """Use ``classifier`` from now on (None: use none)."""
    TriageClassifier.objects.filter(is_active=True).update(is_active=False)
    if classifier is not None:
        TriageClassifier.objects.filter(pk=classifier.pk).update(is_active=True)
    audit_record(
        actor=by,
        action="triage_classifier.activate",
        object_type="routing.triageclassifier",
        object_id=classifier.pk if classifier else "",
    )
    transaction.on_commit(reset_caches)

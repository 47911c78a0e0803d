"""Triage quality and speed on the fixed split of ``tests/data/triage_examples.jsonl`` and on
three sets written later, independently of the rules.

    .venv/bin/python bench/triage_quality.py            # figures on the test split
    .venv/bin/python bench/triage_quality.py --split heldout_d      # the held-out set
    .venv/bin/python bench/triage_quality.py --split train --errors   # for tuning the rules
    .venv/bin/python bench/triage_quality.py --split dev_a --errors   # development sets
    .venv/bin/python bench/triage_quality.py --smoke    # a few seconds: the same code on a
                                                        # sample of each set (figures meaningless)

Train = ids not ending in 0 or 5, test = ids ending in 0 or 5 (see the data set's README).
``dev_a``, ``dev_b``, ``dev_c`` and ``heldout_d`` (tests/data/triage_dev_*.jsonl,
triage_heldout_d.jsonl) were written by four other authors who read only the data set's
labelling conventions, never its messages nor the rules. The rules are tuned on train and the
dev sets; test and heldout_d are only measured (``--errors`` is refused there), so that their
figures stay honest.
The classifier learns from train and the dev sets, never from the split being measured.

All four sets are synthetic: read their figures as a check of the policy, not as production
accuracy.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from routing import classifier as clf  # noqa: E402
from routing.default_policy import default_policy  # noqa: E402
from routing.rules import (  # noqa: E402
    Decision,
    Facts,
    Policy,
    TopicClassifier,
    decide,
    policy_from_dict,
    policy_to_dict,
)

# What a manager would set to turn the classifier's second opinion on (see default_policy).
REVIEW_THRESHOLD = 0.3

DATA = ROOT / "tests" / "data" / "triage_examples.jsonl"

# Programmes of the news division, which the Programme model flags with the "news" genre in
# the application; the data set only names the programme, so the bench says which are news.
NEWS_PROGRAMMES = frozenset(
    {
        "Journal de 20h",
        "Journal de 13h",
        # The same programmes as the data sets also spell them.
        "Journal de 20 heures",
        "Journal de 13 heures",
        "19/20",
        "12/13",
        "Télématin",
        "Envoyé spécial",
        "Complément d'enquête",
        "Cash Investigation",
        "C dans l'air",
    }
)


# Development sets, written after the rules by other authors who read only the data set's
# labelling conventions (never its messages nor the rules): they show whether the rules
# generalise, and may be tuned on — the fixed test split stays measured only.
DEV_SETS = {
    "dev_a": ROOT / "tests" / "data" / "triage_dev_a.jsonl",
    "dev_b": ROOT / "tests" / "data" / "triage_dev_b.jsonl",
    # Held out at first (policy 2026.2 measured 0.860 level accuracy and 0.52 level-3 recall
    # on it before any tuning), then tuned on; set D took its place.
    "dev_c": ROOT / "tests" / "data" / "triage_dev_c.jsonl",
}
# Written last, by a third author with the same instructions and never tuned on: measured only.
HELD_OUT = {"heldout_d": ROOT / "tests" / "data" / "triage_heldout_d.jsonl"}
SPLITS = ("test", "train", *DEV_SETS, *HELD_OUT)
# --smoke: only the first rows of each set (every set mixes topics and levels from its start).
SMOKE_ROWS = 150
_limit: int | None = None


def load_rows(*, split: str) -> list[dict]:
    if split in DEV_SETS or split in HELD_OUT:
        with {**DEV_SETS, **HELD_OUT}[split].open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()][:_limit]
    with DATA.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    in_test = {"test": True, "train": False}[split]
    return [r for r in rows if (r["id"][-1] in "05") == in_test][:_limit]


def facts_from_row(row: dict) -> Facts:
    return Facts(
        channel=row["channel"],
        brand=row["brand"],
        subject=row["subject"],
        body=row["body"],
        programme=row["programme"],
        programme_is_news=row["programme"] in NEWS_PROGRAMMES,
    )


def classifier_splits(evaluated: str) -> list[str]:
    """What the classifier learns from: train and the dev sets, never the split measured."""
    return [s for s in ("train", *DEV_SETS) if s != evaluated]


def train_classifier(splits: Sequence[str] = ("train",)) -> clf.Model:
    rows = [r for split in splits for r in load_rows(split=split)]
    return clf.train(
        texts=[facts_from_row(r).text for r in rows],
        topics=[r["topic"] for r in rows],
        levels=[r["level"] for r in rows],
    )


def measure(rows: Sequence[dict], decisions: Sequence[Decision]) -> dict[str, float]:
    def recall(level: int) -> float:
        pairs = [(r, d) for r, d in zip(rows, decisions, strict=True) if r["level"] == level]
        return sum(d.level == level for _, d in pairs) / len(pairs) if pairs else float("nan")

    n = len(rows)
    return {
        "level_accuracy": sum(r["level"] == d.level for r, d in zip(rows, decisions, strict=True))
        / n,
        "level3_recall": recall(3),
        "level2_recall": recall(2),
        "topic_accuracy": sum(r["topic"] == d.topic for r, d in zip(rows, decisions, strict=True))
        / n,
        "level1_share": sum(d.level == 1 for d in decisions) / n,
        "level1_share_expected": sum(r["level"] == 1 for r in rows) / n,
        "from_classifier": sum(d.source == "classifier" for d in decisions) / n,
        "no_topic": sum(d.topic is None for d in decisions) / n,
    }


def confusion(rows: Sequence[dict], decisions: Sequence[Decision]) -> str:
    counts = Counter((r["level"], d.level) for r, d in zip(rows, decisions, strict=True))
    lines = ["            predicted 1   2   3", "            ---------------"]
    for true in (1, 2, 3):
        cells = "".join(f"{counts[(true, p)]:4d}" for p in (1, 2, 3))
        lines.append(f"  labelled {true} {cells}")
    return "\n".join(lines)


def speed(
    *, facts: Sequence[Facts], policy: Policy, classifier: TopicClassifier | None, rounds: int
) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        for item in facts:
            decide(facts=item, policy=policy, classifier=classifier)
    return rounds * len(facts) / (time.perf_counter() - started)


def print_report(title: str, rows: Sequence[dict], decisions: Sequence[Decision]) -> None:
    m = measure(rows, decisions)
    print(f"\n== {title} ({len(rows)} messages)")
    print(f"  level accuracy      {m['level_accuracy']:.3f}   (target >= 0.90)")
    print(f"  level-3 recall      {m['level3_recall']:.3f}   (target >= 0.95)")
    print(f"  level-2 recall      {m['level2_recall']:.3f}")
    print(f"  topic accuracy      {m['topic_accuracy']:.3f}")
    print(
        f"  share of level 1    {m['level1_share']:.3f}   "
        f"(labelled {m['level1_share_expected']:.3f})"
    )
    print(f"  topic by classifier {m['from_classifier']:.3f}   no topic {m['no_topic']:.3f}")
    print(confusion(rows, decisions))


def print_errors(rows: Sequence[dict], decisions: Sequence[Decision]) -> None:
    print("\n== misrouted (level) and mistopiced messages")
    for row, decision in zip(rows, decisions, strict=True):
        if row["level"] == decision.level and row["topic"] == decision.topic:
            continue
        mark = "LEVEL" if row["level"] != decision.level else "topic"
        print(
            f"{mark} {row['id']} labelled {row['topic']}/L{row['level']} "
            f"-> {decision.topic}/L{decision.level} [{','.join(decision.matched_rules)}]"
        )
        print(f"      {row['subject']!r}  ({row['note']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=SPLITS, default="test")
    parser.add_argument(
        "--errors", action="store_true", help="list misrouted messages (train and dev sets)"
    )
    parser.add_argument("--rounds", type=int, default=30, help="rounds for the speed test")
    parser.add_argument(
        "--smoke", action="store_true", help="a few seconds: every step on a sample of each set"
    )
    args = parser.parse_args()
    if args.smoke:
        global _limit
        _limit, args.rounds = SMOKE_ROWS, 1
    if args.errors and (args.split == "test" or args.split in HELD_OUT):
        parser.error("--errors is for train and the dev sets: the others are only measured")

    policy = default_policy()
    rows = load_rows(split=args.split)
    facts = [facts_from_row(r) for r in rows]
    print(f"policy {policy.version}, split {args.split}, data set {DATA.name} (synthetic)")

    rules_only = [decide(facts=f, policy=policy) for f in facts]
    print_report("rules only", rows, rules_only)

    learned_from = classifier_splits(args.split)
    model = train_classifier(learned_from)
    combined = [decide(facts=f, policy=policy, classifier=model) for f in facts]
    print_report(
        f"rules + classifier (trained on {' + '.join(learned_from)}, "
        f"threshold {policy.defaults.classifier_threshold})",
        rows,
        combined,
    )
    data = policy_to_dict(policy)
    data["defaults"]["review_threshold"] = REVIEW_THRESHOLD
    reviewing = policy_from_dict(data)
    reviewed = [decide(facts=f, policy=reviewing, classifier=model) for f in facts]
    print_report(
        f"the same + second opinion on level 1 (review_threshold {REVIEW_THRESHOLD}, "
        f"off in the shipped policy)",
        rows,
        reviewed,
    )

    train_rows = load_rows(split="train")
    cv = clf.cross_validate(
        texts=[facts_from_row(r).text for r in train_rows],
        topics=[r["topic"] for r in train_rows],
        levels=[r["level"] for r in train_rows],
        folds=2 if args.smoke else 5,
    )
    print(
        f"\n== classifier alone, {2 if args.smoke else 5}-fold cross-validation on train: "
        f"topic {cv['topic_accuracy']:.3f}, level {cv['level_accuracy']:.3f}, "
        f"level-3 recall {cv['level3_recall']:.3f}"
    )

    print("\n== speed (warm caches, one process)")
    rate = speed(facts=facts, policy=policy, classifier=None, rounds=args.rounds)
    print(f"  rules only          {rate:,.0f} decisions/s")
    rate = speed(facts=facts, policy=policy, classifier=model, rounds=max(1, args.rounds // 10))
    print(f"  rules + classifier  {rate:,.0f} decisions/s")

    if args.errors:
        print_errors(rows, rules_only)


if __name__ == "__main__":
    main()

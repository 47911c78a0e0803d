"""`manage.py train_classifier`: train the triage's statistical classifier and store it.

By default it learns from resolved and closed tickets: their final topic and level (after
staff's re-routings), and the text of their first inbound contact. With --jsonl FILE it learns
from labelled JSON lines instead ({"subject", "body", "topic", "level"}, e.g.
tests/data/triage_examples.jsonl, whose train split is ids not ending in 0 or 5). Prints the
cross-validated accuracy, stores the model with its metrics and, unless --no-activate, puts it
in use: it then decides where no rule did and its confidence passes
TRIAGE_CLASSIFIER_THRESHOLD.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from contacts.models import Contact, Direction, Status, Ticket
from routing import classifier
from routing.services import classifier_store


def _from_jsonl(path: Path, split: str) -> tuple[list[str], list[str], list[int]]:
    texts, topics, levels = [], [], []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            row_id = str(row.get("id", ""))
            # The split is the fixed one of the synthetic data set (ids syn-NNNN); other
            # labelled files (development sets, exports) are taken whole.
            if split != "all" and row_id.startswith("syn-"):
                in_test = row_id[-1:] in ("0", "5")
                if (split == "test") != in_test:
                    continue
            subject, body = row.get("subject") or "", row.get("body") or ""
            texts.append(f"{subject}\n{body}" if subject else body)
            topics.append(str(row["topic"]))
            levels.append(int(row["level"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise CommandError(f"{path}:{number}: not a labelled example ({exc})") from exc
    return texts, topics, levels


def _from_tickets(limit: int) -> tuple[list[str], list[str], list[int]]:
    tickets = list(
        Ticket.objects.filter(status__in=[Status.RESOLVED, Status.CLOSED])
        .exclude(topic="")
        .order_by("-resolved_at", "-id")
        .values_list("id", "subject", "topic", "level")[:limit]
    )
    bodies: dict[int, str] = {}
    ids = [t[0] for t in tickets]
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for ticket_id, body in (
            Contact.objects.filter(ticket_id__in=chunk, direction=Direction.INBOUND)
            .order_by("ticket_id", "occurred_at", "id")
            .values_list("ticket_id", "body_text")
        ):
            bodies.setdefault(ticket_id, body or "")
    texts, topics, levels = [], [], []
    for ticket_id, subject, topic, level in tickets:
        body = bodies.get(ticket_id, "")[:20000]
        if not (subject or body):
            continue
        texts.append(f"{subject}\n{body}" if subject else body)
        topics.append(topic)
        levels.append(level)
    return texts, topics, levels


class Command(BaseCommand):
    help = "Train the triage classifier (resolved tickets, or --jsonl) and report its accuracy."

    def add_arguments(self, parser):
        parser.add_argument(
            "--jsonl",
            type=Path,
            action="append",
            help="labelled JSON lines instead of tickets (repeat for several files)",
        )
        parser.add_argument(
            "--split",
            choices=["train", "test", "all"],
            default="train",
            help="with --jsonl, for the synthetic data set's ids (syn-…): not ending in 0/5 "
            "(train, default), ending in 0/5, or all; other files are taken whole",
        )
        parser.add_argument("--limit", type=int, default=50000, help="most recent tickets")
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--min-examples", type=int, default=50)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--no-activate", action="store_true", help="store it without putting it in use"
        )

    def handle(self, *args, **options):
        if options["jsonl"]:
            texts, topics, levels = [], [], []
            for path in options["jsonl"]:
                more = _from_jsonl(path, options["split"])
                texts, topics, levels = texts + more[0], topics + more[1], levels + more[2]
            names = " + ".join(path.name for path in options["jsonl"])
            source = f"{names} ({options['split']})"
        else:
            texts, topics, levels = _from_tickets(options["limit"])
            source = "resolved tickets"
        if len(texts) < options["min_examples"]:
            raise CommandError(
                f"{len(texts)} examples: at least {options['min_examples']} are needed"
            )
        self.stdout.write(
            f"{len(texts)} examples from {source}: {len(set(topics))} topics, "
            f"levels {sorted(set(levels))}"
        )
        try:
            metrics = classifier.cross_validate(
                texts=texts,
                topics=topics,
                levels=levels,
                folds=options["folds"],
                seed=options["seed"],
            )
            model = classifier.train(
                texts=texts, topics=topics, levels=levels, seed=options["seed"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        recall = metrics["level3_recall"]
        self.stdout.write(
            f"cross-validated ({options['folds']} folds): level accuracy "
            f"{metrics['level_accuracy']:.1%}, topic accuracy {metrics['topic_accuracy']:.1%}, "
            f"level-3 recall {'n/a' if recall != recall else f'{recall:.1%}'}"
        )
        stored = classifier_store(
            model=model,
            metrics=metrics,
            source=source,
            examples=len(texts),
            by=None,
            activate=not options["no_activate"],
        )
        state = "in use" if stored.is_active else "stored, not in use"
        self.stdout.write(self.style.SUCCESS(f"classifier #{stored.pk} {state}"))

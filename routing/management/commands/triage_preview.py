"""`manage.py triage_preview [--json]`: the decision the live configuration would take.

Reads JSON lines {"channel", "brand", "subject", "body"} on standard input and prints one line
per input: with --json, {"level", "team", "topic", "priority", "explanation"}; without, the same
as readable text. Stores nothing. A line that is not a valid request gives a line with an
"error" key and the command goes on; the exit status is 0 (DESIGN.md, "Contracts").
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand

from routing import rules
from routing.services import decide_live


def _facts(raw: str) -> rules.Facts:
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    channel = data.get("channel")
    if channel not in rules.CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(rules.CHANNELS)}")
    values = {}
    for key in ("brand", "subject", "body"):
        value = data.get(key) or ""
        if not isinstance(value, str):
            raise ValueError(f"{key} must be a string")
        values[key] = value
    brand = values["brand"].strip().lower()
    return rules.Facts(
        channel=channel,
        brand="" if brand == "unknown" else brand,
        subject=values["subject"],
        body=values["body"],
    )


class Command(BaseCommand):
    help = "Print the triage decision for JSON lines {channel, brand, subject, body} on stdin."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="one JSON object per line")

    def handle(self, *args, **options):
        as_json = options["json"]
        out = self.stdout
        for number, line in enumerate(sys.stdin, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                facts = _facts(line)
            except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
                message = f"line {number}: {exc}"
                if as_json:
                    out.write(json.dumps({"error": message, "line": number}, ensure_ascii=False))
                else:
                    out.write(f"ERROR {message}")
                continue
            decision = decide_live(facts)
            if as_json:
                out.write(
                    json.dumps(
                        {
                            "level": decision.level,
                            "team": decision.team,
                            "topic": decision.topic,
                            "priority": decision.priority,
                            "explanation": decision.explanation,
                        },
                        ensure_ascii=False,
                    )
                )
            else:
                out.write(
                    f"level {decision.level} · {decision.team} · {decision.topic or '—'} · "
                    f"{decision.priority} — {decision.explanation}"
                )

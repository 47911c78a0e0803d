"""`triage_preview` (the DESIGN.md contract) and `train_classifier`."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from contacts.models import Ticket
from routing.models import TriageClassifier

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parent.parent / "data" / "triage_examples.jsonl"


def _preview(monkeypatch, lines, *args):
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(line + "\n" for line in lines)))
    out = io.StringIO()
    call_command("triage_preview", *args, stdout=out)
    return out.getvalue().splitlines()


def test_triage_preview_prints_one_decision_per_line_and_stores_nothing(monkeypatch):
    lines = [
        json.dumps(
            {
                "channel": "email",
                "brand": "france2",
                "subject": "Rediffusion",
                "body": "Quand sera rediffusé le documentaire sur les abeilles ?",
            }
        ),
        json.dumps(
            {
                "channel": "letter",
                "brand": "unknown",
                "subject": "",
                "body": "Votre réponse ne me satisfait pas : je saisis le médiateur.",
            }
        ),
        json.dumps(
            {
                "channel": "web",
                "brand": "france3-bretagne",
                "subject": "Édition locale",
                "body": "L'édition régionale n'était pas diffusée ce soir.",
            }
        ),
    ]
    before = Ticket.objects.count()
    out = [json.loads(line) for line in _preview(monkeypatch, lines, "--json")]
    assert len(out) == 3
    for decision in out:
        assert set(decision) == {"level", "team", "topic", "priority", "explanation"}
        assert decision["level"] in (1, 2, 3)
        assert decision["priority"] in ("low", "normal", "high", "urgent")
        assert decision["explanation"]
    assert (out[0]["level"], out[0]["team"]) == (1, "n1-call-centre")
    assert out[1]["level"] == 3
    assert Ticket.objects.count() == before


def test_a_malformed_line_gives_an_error_line_and_the_command_goes_on(monkeypatch):
    lines = [
        "{not json",
        json.dumps({"channel": "fax", "brand": "france2", "subject": "", "body": "x"}),
        json.dumps(["a", "list"]),
        json.dumps({"channel": "phone", "brand": "france5", "body": "Merci pour l'émission !"}),
    ]
    out = [json.loads(line) for line in _preview(monkeypatch, lines, "--json")]
    assert [("error" in o) for o in out] == [True, True, True, False]
    assert out[3]["topic"] == "praise"


def test_triage_preview_reads_as_text_without_json(monkeypatch):
    line = json.dumps({"channel": "email", "brand": "france2", "subject": "", "body": "Bravo !"})
    (out,) = _preview(monkeypatch, [line])
    assert out.startswith("level 1 · n1-call-centre")


def test_train_classifier_from_a_jsonl_train_split(tmp_path):
    # A slice of the train split keeps the test fast; the split is chosen by the ids.
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]
    train = [r for r in rows if r["id"][-1] not in "05"][:50]
    test = [r for r in rows if r["id"][-1] in "05"][:5]
    sample = tmp_path / "sample.jsonl"
    sample.write_text("".join(json.dumps(r) + "\n" for r in train + test), encoding="utf-8")
    # Another labelled file (ids of its own, ending in 0 or 5 too) is taken whole.
    extra = tmp_path / "extra.jsonl"
    extra_rows = [dict(r, id=f"dev-{n:04d}") for n, r in enumerate(train[:10], start=1)]
    extra.write_text("".join(json.dumps(r) + "\n" for r in extra_rows), encoding="utf-8")
    out = io.StringIO()
    call_command(
        "train_classifier",
        "--jsonl",
        str(sample),
        "--jsonl",
        str(extra),
        "--folds",
        "2",
        "--min-examples",
        "20",
        stdout=out,
    )
    text = out.getvalue()
    assert "60 examples from sample.jsonl + extra.jsonl" in text
    assert "level accuracy" in text and "topic accuracy" in text
    stored = TriageClassifier.objects.get(is_active=True)
    assert stored.examples == 60
    assert 0.0 < stored.metrics["level_accuracy"] <= 1.0


def test_train_classifier_from_resolved_tickets_needs_enough_of_them():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="at least"):
        call_command("train_classifier", stdout=io.StringIO())

import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reporting.demo import seed_activity


class Command(BaseCommand):
    help = (
        "Add demo activity to the demo tickets: phone calls (waits, handling times, abandoned "
        "calls by half-hour), satisfaction surveys with French comments, escalations and "
        "send-backs. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=3660 * 2, help="Tickets created in the last N days."
        )
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, **opts):
        if opts["days"] <= 0:
            raise CommandError("--days must be a positive number")
        started = time.monotonic()

        def progress(message: str) -> None:
            self.stderr.write(f"  {message} ({time.monotonic() - started:.0f} s)")

        since = timezone.now() - timedelta(days=opts["days"])
        report = seed_activity(since=since, rng_seed=opts["seed"], progress=progress)
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {report.calls} calls ({report.abandoned} abandoned), {report.surveys} "
                f"surveys ({report.answered} answered), {report.events} ticket events in "
                f"{time.monotonic() - started:.1f} s."
            )
        )

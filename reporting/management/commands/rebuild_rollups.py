import time

from django.core.management.base import BaseCommand

from reporting.services.rollups import rollup_rebuild, rollup_reconcile, rollup_refresh


class Command(BaseCommand):
    help = (
        "Recompute the dashboards' rollup tables from the tickets, surveys, calls and contacts "
        "(all of them; --incremental: only the days changed since the last run)."
    )

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--incremental", action="store_true", help="Only the days touched since last run."
        )
        mode.add_argument(
            "--reconcile",
            action="store_true",
            help="Also scan Ticket.updated_at for changes that wrote no event (nightly).",
        )

    def handle(self, *args, **opts):
        started = time.monotonic()

        def progress(message: str) -> None:
            self.stderr.write(f"  {message} ({time.monotonic() - started:.0f} s)")

        if opts["incremental"]:
            report = rollup_refresh()
        elif opts["reconcile"]:
            report = rollup_reconcile()
        else:
            report = rollup_rebuild(progress=progress)
        if report.skipped:
            self.stdout.write("Another refresh holds the lock: nothing done.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Rollups: {report.ticket_days} ticket days, {report.survey_days} survey days, "
                f"{report.call_days} call days, {report.contact_days} contact days "
                f"in {report.seconds:.2f} s."
            )
        )

import time

from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from contacts import demo
from contacts.models import Ticket


class Command(BaseCommand):
    help = (
        "Load realistic French demo data (viewers, tickets, contacts over several years) and one "
        "demo user per role. Fast enough for millions of tickets (bulk inserts)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--viewers", type=int, default=2000)
        parser.add_argument("--tickets", type=int, default=5000)
        parser.add_argument("--years", type=int, default=5)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--batch", type=int, default=5000)
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if tickets already exist."
        )
        parser.add_argument("--no-users", action="store_true", help="Do not create demo users.")
        parser.add_argument(
            "--no-activity",
            action="store_true",
            help="Skip calls, surveys and dashboard rollups (bulk loads for benchmarks).",
        )

    def handle(self, *args, **opts):
        for name in ("viewers", "tickets", "years", "batch"):
            if opts[name] < 0 or (name in {"years", "batch"} and opts[name] == 0):
                raise CommandError(f"--{name} must be a positive number")
        if opts["if_empty"] and Ticket.objects.exists():
            self.stdout.write("Demo data already loaded: nothing to do.")
            if not opts["no_users"]:
                self._print_users(demo.ensure_demo_users())
            return
        started = time.monotonic()
        users = [] if opts["no_users"] else demo.ensure_demo_users()

        def progress(message: str) -> None:
            elapsed = time.monotonic() - started
            self.stderr.write(f"  {message} ({elapsed:.0f} s)")

        report = demo.seed(
            viewers=opts["viewers"],
            tickets=opts["tickets"],
            years=opts["years"],
            seed=opts["seed"],
            batch=opts["batch"],
            progress=progress,
        )
        elapsed = time.monotonic() - started
        rate = report.tickets / elapsed if elapsed else 0
        self._after_load(opts)
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {report.viewers} viewers, {report.tickets} tickets, "
                f"{report.contacts} contacts in {elapsed:.1f} s ({rate:.0f} tickets/s)."
            )
        )
        if users:
            self._print_users(users)

    def _after_load(self, opts):
        # The activity behind the dashboards (calls, surveys, escalations) and their rollups
        # belong to the reporting app; they are loaded by its own commands, named here rather
        # than imported so that contacts does not depend on reporting.
        if opts["tickets"] and not opts["no_activity"] and apps.is_installed("reporting"):
            call_command("seed_activity", days=366 * opts["years"], seed=opts["seed"])
            call_command("rebuild_rollups")
        if connection.vendor == "postgresql":
            # Fresh statistics, or the planner guesses badly on millions of new rows.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

    def _print_users(self, users):
        self.stdout.write("Demo logins (username / password):")
        for username, role, password in users:
            self.stdout.write(f"  {username:<14} {password}   ({role})")
        self.stdout.write(
            "Managers, administrators and mediators also type a code from an authenticator "
            f"app set up with the demo secret {demo.DEMO_TOTP_SECRET} "
            "(or run: python manage.py demo_otp_code)."
        )

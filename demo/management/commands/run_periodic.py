"""Run the periodic tasks of the beat schedule in this process, at their periods, until
interrupted (the embedded default's celery beat; `make run` starts it)."""

import time

from django.core.management.base import BaseCommand

from demo.periodic import Runner


class Command(BaseCommand):
    help = "Run CELERY_BEAT_SCHEDULE's tasks in-process at their periods (no broker needed)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run what is due now, then stop.")

    def handle(self, *args, once=False, **options):
        runner = Runner()
        self.stdout.write(f"Periodic tasks: {', '.join(runner.entries)}")
        try:
            while True:
                called, next_in = runner.run_due()
                if called:
                    self.stdout.write(f"Ran: {', '.join(called)}")
                if once:
                    return
                time.sleep(next_in)
        except KeyboardInterrupt:
            return

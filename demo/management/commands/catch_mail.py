"""A local SMTP server keeping every message it receives as an .eml file (DEMO_MAIL_DIR)."""

import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from demo import mailcatcher


class Command(BaseCommand):
    help = "Accept every SMTP message on HOST:PORT and keep it under DEMO_MAIL_DIR."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.EMAIL_PORT)

    def handle(self, *args, host, port, **options):
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's every SMTP line
        controller = mailcatcher.start(settings.DEMO_MAIL_DIR, host=host, port=port)
        self.stdout.write(
            f"SMTP catcher on {host}:{port}, keeping mail in {settings.DEMO_MAIL_DIR}"
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()

"""`make run`: the SMTP catcher, the periodic tasks and the web server, stopped together.

Each runs as its own `manage.py` process with the same environment, completed so that the
demonstration is the real product: the outbox sends through SMTP to the catcher, links in
emails use the address being served, the caught mail page is on.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


def site_url(addrport: str) -> str:
    host, _, port = addrport.rpartition(":")
    host = host or "127.0.0.1"
    if host in {"0.0.0.0", "::", "[::]"}:
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def child_env(addrport: str, mail_port: int, environ=None) -> dict[str, str]:
    """The children's environment: what is set wins, SITE_URL defaults to the served address."""
    env = dict(os.environ if environ is None else environ)
    env.setdefault("SITE_URL", site_url(addrport))
    env["DEMO_MAIL_CATCHER"] = "1"
    env["EMAIL_BACKEND"] = "django.core.mail.backends.smtp.EmailBackend"
    env["EMAIL_HOST"] = "127.0.0.1"
    env["EMAIL_PORT"] = str(mail_port)
    env.pop("CELERY_BROKER_URL", None)  # the embedded default: tasks run in-process
    return env


class Command(BaseCommand):
    help = "Start the SMTP catcher, the periodic tasks and runserver; Ctrl-C stops them all."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--mail-port", type=int, default=settings.EMAIL_PORT)

    def handle(self, *args, addrport, mail_port, **options):
        env = child_env(addrport, mail_port)
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        commands = [
            [*manage, "catch_mail", "--port", str(mail_port)],
            [*manage, "run_periodic"],
            [*manage, "runserver", addrport],
        ]
        self.stdout.write(
            f"Mail sent by the product: {env['SITE_URL']}/demo/mail/ (managers, administrators)"
        )
        children = []

        def stop(signum, frame):
            raise KeyboardInterrupt

        # Ctrl-C (the terminal sends it to every child too) or a `kill`: all stop together.
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            for command in commands:
                children.append(subprocess.Popen(command, env=env))
                time.sleep(0.5)  # the catcher listens before anything sends
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    child.kill()

"""Print the current second-factor code of the demo users (their shared, published demo
secret). It knows no other secret: it cannot produce a real user's code."""

from django.core.management.base import BaseCommand
from django_otp.oath import TOTP

from contacts import demo


class Command(BaseCommand):
    help = "Print the current two-factor code of the demo managers, administrators and mediators."

    def handle(self, *args, **opts):
        totp = TOTP(bytes.fromhex(demo.DEMO_TOTP_KEY_HEX))
        self.stdout.write(f"{totp.token():06d}")

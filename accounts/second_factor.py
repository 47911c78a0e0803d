"""The second factor (django-otp): an authenticator app (TOTP) and single-use recovery codes.

Required for the roles of `permissions.SECOND_FACTOR_ROLES` (enforced by
`accounts.middleware.SecondFactorMiddleware`), optional for the others ("Ma sécurité").
Writes only here; each is audited.
"""

from __future__ import annotations

import segno
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import permissions
from .models import User
from .services import audit_record

RECOVERY_CODES = 10
TOTP_NAME = "authenticator"
RECOVERY_NAME = "recovery"


def totp_device(user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator, if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_second_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def totp_enrolment_device(user: User) -> TOTPDevice:
    """The not-yet-confirmed authenticator being enrolled (made on first call, then the same
    one until confirmed, so the QR code the user scanned stays valid)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False, name=TOTP_NAME).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def totp_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG QR code, rendered here (no image service)."""
    qr = segno.make(device.config_url, error="m")
    return qr.svg_inline(
        scale=5,
        border=2,
        dark="#000",
        light="#fff",
        title=gettext("QR code for your authenticator app"),
    )


def totp_secret_text(device: TOTPDevice) -> str:
    """The secret as people type it into an app: base32 in groups of four."""
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@transaction.atomic
def totp_enrol_confirm(*, request: HttpRequest, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm the authenticator with a code from it; on success the session is verified,
    any older authenticator is removed, and fresh recovery codes are returned (shown once).
    None when the code is wrong."""
    user = request.user
    if device.user_id != user.pk or device.confirmed:
        raise PermissionDenied
    if not device.verify_token(token.replace(" ", "")):
        audit_record(actor=user, action="user.2fa_enrol_failed", obj=user, request=request)
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    otp_login(request, device)
    audit_record(actor=user, action="user.2fa_enrolled", obj=user, request=request)
    return recovery_codes_regenerate(request=request)


@transaction.atomic
def recovery_codes_regenerate(*, request: HttpRequest) -> list[str]:
    """Replace the user's recovery codes with RECOVERY_CODES new single-use ones (returned,
    to be shown once). Needs a verified session."""
    user = request.user
    if not user.is_verified():
        raise PermissionDenied
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    audit_record(actor=user, action="user.recovery_codes", obj=user, request=request)
    return codes


def second_factor_verify(*, request: HttpRequest, token: str) -> bool:
    """Check a code from the authenticator, or a recovery code (used up by this check);
    on success the session is verified. Failures are audited (and throttled by django-otp)."""
    user = request.user
    token = token.replace(" ", "").strip()
    device = match_token(user, token) if token else None
    if device is None:
        audit_record(actor=user, action="user.2fa_failed", obj=user, request=request)
        return False
    otp_login(request, device)
    audit_record(
        actor=user,
        action="user.2fa_verified",
        obj=user,
        data={"with": "recovery_code" if isinstance(device, StaticDevice) else "totp"},
        request=request,
    )
    return True


@transaction.atomic
def second_factor_reset(*, user: User, by: User, request: HttpRequest | None = None) -> None:
    """Remove a user's authenticator and recovery codes (lost phone), as an administrator: the
    user enrols again at next sign-in. Audited."""
    if not permissions.can(by, "manage_users"):
        raise PermissionDenied
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit_record(actor=by, action="user.2fa_reset", obj=user, request=request)


def demo_totp_device(*, user: User, key_hex: str) -> TOTPDevice:
    """A confirmed authenticator with a known secret, for the demo users only."""
    TOTPDevice.objects.filter(user=user).delete()
    return TOTPDevice.objects.create(user=user, name=TOTP_NAME, key=key_hex, confirmed=True)

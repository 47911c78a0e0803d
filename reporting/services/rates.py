"""The call centre's rates: a new version from a date on, never an edit of an old one."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction

from accounts.models import User
from accounts.services import audit_record

from ..models import CostRate


@transaction.atomic
def cost_rate_create(
    *,
    valid_from: date,
    hourly_rate: Decimal,
    price_per_call: Decimal,
    price_per_written: Decimal,
    service_level: Decimal,
    answer_within_seconds: int,
    shrinkage: Decimal,
    max_occupancy: Decimal,
    written_handling_seconds: int,
    min_agents: int = 1,
    note: str = "",
    by: User | None,
) -> CostRate:
    """Record the rates in force from `valid_from`. A version already starting that day is
    replaced (a correction made the same day); earlier versions stay as they were. Audited."""
    values = {
        "hourly_rate": hourly_rate,
        "price_per_call": price_per_call,
        "price_per_written": price_per_written,
        "service_level": service_level,
        "answer_within_seconds": answer_within_seconds,
        "shrinkage": shrinkage,
        "max_occupancy": max_occupancy,
        "written_handling_seconds": written_handling_seconds,
        "min_agents": min_agents,
        "note": note,
        "created_by": by,
    }
    rate, created = CostRate.objects.update_or_create(valid_from=valid_from, defaults=values)
    audit_record(
        actor=by,
        action="reporting.rates_created" if created else "reporting.rates_corrected",
        obj=rate,
        data={k: str(v) for k, v in values.items() if k != "created_by"},
    )
    return rate

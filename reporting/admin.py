from django.contrib import admin

from frt_crm.admin import PolicyModelAdmin

from .models import CostRate, RollupState


@admin.register(CostRate)
class CostRateAdmin(PolicyModelAdmin):
    # Rates are entered on the cost page (a new version per date); the admin shows history.
    policy_action = "view_cost"
    read_only = True
    list_display = (
        "valid_from",
        "hourly_rate",
        "price_per_call",
        "price_per_written",
        "service_level",
        "answer_within_seconds",
        "shrinkage",
        "max_occupancy",
        "created_by",
    )


@admin.register(RollupState)
class RollupStateAdmin(PolicyModelAdmin):
    read_only = True
    list_display = (
        "name",
        "watermark",
        "last_run_at",
        "last_run_ms",
        "last_run_days",
        "rebuilt_at",
    )

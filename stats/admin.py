"""Tariff plans in the admin: a plan with its rates inline, and the rates on their own for
searching by prefix (a CSV file goes in with `manage.py import_tariffs`)."""

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from stats.models import GatewayTariff, LegCost, TariffPlan, TariffRate

RATE_FIELDS = (
    "prefix",
    "description",
    "price_per_minute",
    "connection_fee",
    "minimum_seconds",
    "first_increment",
    "next_increment",
    "valid_from",
    "valid_until",
)


class TariffRateInline(admin.TabularInline):
    model = TariffRate
    fields = RATE_FIELDS
    extra = 1


@admin.register(TariffPlan)
class TariffPlanAdmin(admin.ModelAdmin):
    list_display = ("name", "currency", "active", "rate_count")
    list_filter = ("active", "currency")
    search_fields = ("name",)
    inlines = [TariffRateInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[TariffPlan]:
        return super().get_queryset(request).annotate(rate_count=Count("rates"))

    @admin.display(description="Rates", ordering="rate_count")
    def rate_count(self, plan: TariffPlan) -> int:
        return plan.rate_count  # annotated by get_queryset


@admin.register(TariffRate)
class TariffRateAdmin(admin.ModelAdmin):
    list_display = (
        "prefix",
        "description",
        "plan",
        "price_per_minute",
        "connection_fee",
        "increments",
        "minimum_seconds",
        "valid_from",
        "valid_until",
    )
    list_filter = ("plan",)
    list_select_related = ("plan",)
    search_fields = ("^prefix", "description")  # ^: the prefix typed is the start of the prefix
    fields = ("plan", *RATE_FIELDS)

    @admin.display(description="Increments")
    def increments(self, rate: TariffRate) -> str:
        return f"{rate.first_increment}/{rate.next_increment}"


@admin.register(GatewayTariff)
class GatewayTariffAdmin(admin.ModelAdmin):
    list_display = ("gateway", "plan")
    list_select_related = ("gateway__switch", "plan")
    autocomplete_fields = ("plan",)


@admin.register(LegCost)
class LegCostAdmin(admin.ModelAdmin):
    """Read only: the rating writes these rows (a wrong one is fixed in the plan, then the
    row deleted to be rated again by the next run)."""

    list_display = (
        "started_at",
        "number",
        "gateway",
        "kind",
        "queue",
        "agent",
        "prefix",
        "billed_seconds",
        "cost",
        "currency",
        "unrated",
    )
    list_filter = ("kind", "unrated", "currency", "gateway")
    search_fields = ("number", "call_uuid", "leg_uuid", "agent", "queue")
    date_hierarchy = "started_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LegCost | None = None) -> bool:
        return False

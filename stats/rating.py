"""Rating against the stored tariff plans: a plan's rows loaded into the pure core
(`stats.tariffs.Tariff`), once per batch of legs."""

from stats.models import TariffPlan
from stats.tariffs import PER_LEG_DECIMALS, Tariff


def load_tariff(plan: TariffPlan | str, decimals: int = PER_LEG_DECIMALS) -> Tariff:
    """The plan (or the plan of that name) ready to rate legs; TariffPlan.DoesNotExist if
    there is no such plan. Rates that overlap in time raise TariffError (the admin and the
    import refuse them, so only rows written around them can)."""
    if isinstance(plan, str):
        plan = TariffPlan.objects.get(name=plan)
    rates = [row.as_rate() for row in plan.rates.order_by("prefix", "valid_from")]
    return Tariff(rates, currency=plan.currency, decimals=decimals)

"""Plans and their monthly limits, defined in one place, and how usage is counted.

A limit caps how many new records of one kind a user creates in a calendar
month (in the app's time zone). Deleting a record does not give the quota back:
the limit is on creation, as the app's plan page states.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from functions.errors import LimitReached
from functions.store.base import Increment, Transaction

__all__ = ["PLANS", "Plan", "Usage", "charge", "month_key", "usage_report"]


class Plan(StrEnum):
    FREE = "free"
    PRO = "pro"
    BUSINESS = "business"


class Usage(StrEnum):
    """The kinds of creation a plan limits; values name the usage counters."""

    EXPENSES = "expenses"
    ORDERS = "orders"
    RECIPES = "recipes"
    DOCUMENTS = "documents"
    ANALYSES = "analyses"


PLANS: dict[Plan, dict[Usage, int]] = {
    Plan.FREE: {
        Usage.EXPENSES: 100,
        Usage.ORDERS: 100,
        Usage.RECIPES: 20,
        Usage.DOCUMENTS: 20,
        Usage.ANALYSES: 10,
    },
    Plan.PRO: {
        Usage.EXPENSES: 1_000,
        Usage.ORDERS: 1_000,
        Usage.RECIPES: 200,
        Usage.DOCUMENTS: 300,
        Usage.ANALYSES: 100,
    },
    Plan.BUSINESS: {
        Usage.EXPENSES: 10_000,
        Usage.ORDERS: 10_000,
        Usage.RECIPES: 2_000,
        Usage.DOCUMENTS: 3_000,
        Usage.ANALYSES: 1_000,
    },
}

_USAGE_MESSAGES = {
    Usage.EXPENSES: "despesas",
    Usage.ORDERS: "pedidos",
    Usage.RECIPES: "receitas",
    Usage.DOCUMENTS: "documentos",
    Usage.ANALYSES: "análises",
}


def month_key(moment: datetime, timezone: str) -> str:
    """The usage month (`YYYY-MM`) of `moment` in the app's time zone."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m")


def plan_of(profile: dict[str, Any] | None) -> Plan:
    """The profile's plan; an unknown or missing plan counts as free."""
    try:
        return Plan((profile or {}).get("plan", Plan.FREE))
    except ValueError:
        return Plan.FREE


def used(profile: dict[str, Any] | None, month: str, kind: Usage) -> int:
    """How many records of `kind` the profile has created in `month`."""
    counters = ((profile or {}).get("usage") or {}).get(month) or {}
    value = counters.get(kind.value, 0)
    return int(value) if isinstance(value, int | float) else 0


def charge(
    txn: Transaction,
    profile_path: str,
    profile: dict[str, Any],
    kind: Usage,
    month: str,
) -> None:
    """Count one new record of `kind` against the plan inside `txn`.

    Raises LimitReached, with the limit and the usage in `details`, when the
    month's quota is spent. The caller has read `profile` in the same
    transaction, so concurrent creates cannot overshoot.
    """
    plan = plan_of(profile)
    limit = PLANS[plan][kind]
    count = used(profile, month, kind)
    if count >= limit:
        raise LimitReached(
            f"Você atingiu o limite de {limit} {_USAGE_MESSAGES[kind]} por mês "
            f"do plano {plan.value}.",
            {"plan": plan.value, "kind": kind.value, "limit": limit, "usage": count},
        )
    txn.update(profile_path, {f"usage.{month}.{kind.value}": Increment(1)})


def usage_report(profile: dict[str, Any] | None, month: str) -> dict[str, Any]:
    """Usage against every limit of the profile's plan for `month`."""
    plan = plan_of(profile)
    return {
        kind.value: {
            "used": used(profile, month, kind),
            "limit": limit,
            "remaining": max(limit - used(profile, month, kind), 0),
        }
        for kind, limit in PLANS[plan].items()
    }

"""User profiles: creation, cached reads, preferences, plans and statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from functions.auth import Caller
from functions.cache import Category
from functions.errors import NotFound
from functions.plans import (
    PLANS,
    Plan,
    Usage,
    charge,
    month_key,
    plan_of,
    usage_report,
)
from functions.services import Services
from functions.store._values import apply_changes
from functions.store.base import Query, Transaction
from functions.validation import Payload
from functions.wire import jsonable, reais

__all__ = [
    "charge_usage",
    "clear_cache",
    "ensure_profile",
    "get_profile",
    "get_stats",
    "profile_path",
    "setup_profile",
    "update_plan",
    "update_preferences",
]

_LANGUAGES = ("pt-br", "en", "es")
_CURRENCIES = ("brl",)
_MAX_STATS_DOCS = 50_000


def profile_path(uid: str) -> str:
    """The store path of the user's profile document."""
    return f"users/{uid}"


def _default_preferences(timezone: str) -> dict[str, Any]:
    return {
        "language": "pt-BR",
        "timezone": timezone,
        "currency": "BRL",
        "notifications": {"email": True, "push": True},
    }


def _new_profile(
    uid: str, caller: Caller, extra: dict[str, Any], now: datetime, tz: str
) -> dict[str, Any]:
    return {
        "uid": uid,
        "email": extra.get("email") or caller.email,
        "displayName": extra.get("displayName") or caller.claims.get("name"),
        "photoURL": extra.get("photoURL") or caller.claims.get("picture"),
        "plan": Plan.FREE.value,
        "preferences": _default_preferences(tz),
        "usage": {},
        "createdAt": now,
        "updatedAt": now,
        "lastLoginAt": now,
        "lastActivityAt": now,
    }


def ensure_profile(
    services: Services, txn: Transaction, caller: Caller
) -> tuple[str, dict[str, Any]]:
    """The caller's profile read inside `txn`, created with defaults if missing.

    Creating it here lets a first record of a brand-new user succeed without a
    separate setup call; the write happens in the same transaction.
    """
    uid = caller.require_user()
    path = profile_path(uid)
    profile = txn.get(path)
    if profile is None:
        now = services.clock()
        profile = _new_profile(uid, caller, {}, now, services.settings.timezone)
        profile["usage"] = _usage_after_erasure(txn, uid)
        txn.set(path, profile)
    return path, profile


def _usage_after_erasure(txn: Transaction, uid: str) -> dict[str, Any]:
    # A user who erased their data this month starts again from the counters
    # the erasure kept, not from zero (see functions.privacy).
    from functions.privacy import erasure_path

    erasure = txn.get(erasure_path(uid))
    usage = (erasure or {}).get("usage")
    return dict(usage) if isinstance(usage, dict) else {}


# Usage and last activity change with every record the user writes; they are
# served by getUserStats, so a write need not evict the cached profile.
_NOT_IN_PROFILE = {"usage", "lastActivityAt"}


def charge_usage(services: Services, caller: Caller, kind: Usage) -> None:
    """Count one use of `kind` against the caller's plan, in its own transaction.

    Raises LimitReached when the month's quota is spent. Usage is served by
    getUserStats from the profile document, so no cache entry goes stale.
    """
    now = services.clock()
    month = month_key(now, services.settings.timezone)

    def run(txn: Transaction) -> None:
        path, profile = ensure_profile(services, txn, caller)
        charge(txn, path, profile, kind, month)
        txn.update(path, {"lastActivityAt": now})

    services.store.run_transaction(run)


def _profile_reply(profile: dict[str, Any]) -> dict[str, Any]:
    public = {k: v for k, v in profile.items() if k not in _NOT_IN_PROFILE}
    return jsonable(public)


def _forget_profile(services: Services, uid: str) -> None:
    # Stats show the plan and the profile's dates, so they go with the profile.
    services.cache.invalidate(uid, (Category.PROFILE, Category.ANALYSIS))


def setup_profile(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Create the caller's profile once; later calls refresh it and return it.

    Fields sent in the payload fill only what the profile lacks, so a repeated
    setup never overwrites what the user changed since.
    """
    uid = caller.require_user()
    payload = Payload(data)
    extra = {
        "email": payload.text("email", max_len=254),
        "displayName": payload.text("displayName", max_len=100),
        "photoURL": payload.text("photoURL", max_len=2048),
    }
    if extra["email"] and "@" not in extra["email"]:
        payload.errors["email"] = "e-mail inválido"
    payload.done()
    now = services.clock()
    path = profile_path(uid)

    def run(txn: Transaction) -> tuple[dict[str, Any], bool]:
        profile = txn.get(path)
        if profile is None:
            profile = _new_profile(uid, caller, extra, now, services.settings.timezone)
            profile["usage"] = _usage_after_erasure(txn, uid)
            txn.set(path, profile)
            return profile, True
        missing = {k: v for k, v in extra.items() if v and not profile.get(k)}
        changes = {**missing, "lastLoginAt": now}
        txn.update(path, changes)
        return {**profile, **changes}, False

    profile, created = services.store.run_transaction(run)
    _forget_profile(services, uid)
    return {"userProfile": _profile_reply(profile), "created": created}


def get_profile(services: Services, caller: Caller, data: Any = None) -> dict[str, Any]:
    """The caller's profile through the cache; NotFound before setup."""
    uid = caller.require_user()

    def load() -> dict[str, Any]:
        # Raising keeps "no profile yet" out of the cache: a first record
        # creates the profile without evicting anything.
        profile = services.store.get(profile_path(uid))
        if profile is None:
            raise NotFound("Perfil não encontrado. Configure sua conta primeiro.")
        return _profile_reply(profile)

    profile, cached = services.cache.get_or_load(uid, Category.PROFILE, "profile", load)
    return {"profile": profile, "cached": cached}


def update_preferences(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Change the caller's preferences; only the fields sent change."""
    uid = caller.require_user()
    payload = Payload(data)
    changes: dict[str, Any] = {}
    language = payload.choice("language", _LANGUAGES)
    if language:
        changes["preferences.language"] = "pt-BR" if language == "pt-br" else language
    timezone = payload.text("timezone", max_len=64)
    if timezone:
        if _valid_timezone(timezone):
            changes["preferences.timezone"] = timezone
        else:
            payload.errors["timezone"] = "fuso horário desconhecido"
    currency = payload.choice("currency", _CURRENCIES)
    if currency:
        changes["preferences.currency"] = currency.upper()
    notifications = payload.raw.get("notifications")
    if notifications is not None:
        notes = Payload(notifications, "notifications")
        for channel in ("email", "push"):
            flag = notes.boolean(channel)
            if flag is not None:
                changes[f"preferences.notifications.{channel}"] = flag
        unknown = set(notes.raw) - {"email", "push"}
        for key in unknown:
            notes.errors[key] = "preferência desconhecida"
        payload.errors.update(
            {f"notifications.{k}": v for k, v in notes.errors.items()}
        )
    unknown_keys = set(payload.raw) - {
        "language",
        "timezone",
        "currency",
        "notifications",
    }
    for key in sorted(unknown_keys):
        payload.errors[key] = "preferência desconhecida"
    if not changes and not payload.errors:
        payload.errors["preferences"] = "nenhuma preferência enviada"
    payload.done()

    def run(txn: Transaction) -> dict[str, Any]:
        path, profile = ensure_profile(services, txn, caller)
        update = {**changes, "updatedAt": services.clock()}
        txn.update(path, update)
        # The profile as committed, built here: a read after the commit could
        # fail and report an error for a change that was saved.
        return apply_changes(profile, update)

    updated = services.store.run_transaction(run)
    _forget_profile(services, uid)
    return {"preferences": jsonable(updated.get("preferences", {}))}


def _valid_timezone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def update_plan(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Set a user's plan; only an admin may, for any user (their own included)."""
    caller.require_admin()
    payload = Payload(data)
    uid = payload.doc_id("uid")
    plan = payload.choice("plan", [p.value for p in Plan], required=True)
    payload.done()
    assert uid is not None and plan is not None
    path = profile_path(uid)

    def run(txn: Transaction) -> None:
        if txn.get(path) is None:
            raise NotFound("Usuário não encontrado.")
        txn.update(path, {"plan": plan, "updatedAt": services.clock()})

    services.store.run_transaction(run)
    _forget_profile(services, uid)
    return {"uid": uid, "plan": plan, "limits": _limits(Plan(plan))}


def _limits(plan: Plan) -> dict[str, int]:
    return {kind.value: limit for kind, limit in PLANS[plan].items()}


def _sum_field(services: Services, collection: str, field: str) -> tuple[int, int]:
    total = 0
    count = 0
    cursor = None
    while True:
        page = services.store.query(Query(collection, limit=1000, cursor=cursor))
        for doc in page.docs:
            value = doc.data.get(field)
            if isinstance(value, int) and doc.data.get("status") != "cancelado":
                total += value
            count += 1
        cursor = page.next_cursor
        if cursor is None or count >= _MAX_STATS_DOCS:
            return count, total


def get_stats(services: Services, caller: Caller, data: Any = None) -> dict[str, Any]:
    """Counts, totals, usage against the plan and last activity of the caller.

    `cached` tells whether the counts and totals came from the cache; the plan,
    usage and activity are read from the profile on every call, since any
    charge (an analysis, a receipt) changes them.
    """
    uid = caller.require_user()
    base = profile_path(uid)

    def load() -> dict[str, Any]:
        expenses, expense_total = _sum_field(services, f"{base}/expenses", "amount")
        orders, order_total = _sum_field(services, f"{base}/orders", "total")
        recipes = services.store.count(Query(f"{base}/recipes"))
        return {
            "counts": {"expenses": expenses, "orders": orders, "recipes": recipes},
            "totals": {
                "expenses": reais(expense_total),
                "orders": reais(order_total),
                "balance": reais(order_total - expense_total),
            },
        }

    # Counts and totals are figures derived from every record, like an
    # analysis: they live in the category every record write invalidates.
    figures, cached = services.cache.get_or_load(uid, Category.ANALYSIS, "stats", load)
    profile = services.store.get(base)
    month = month_key(services.clock(), services.settings.timezone)
    stats = {
        **figures,
        "plan": plan_of(profile).value,
        "month": month,
        "usage": usage_report(profile, month),
        "lastActivityAt": (profile or {}).get("lastActivityAt"),
        "memberSince": (profile or {}).get("createdAt"),
    }
    return {"stats": jsonable(stats), "cached": cached}


def clear_cache(services: Services, caller: Caller, data: Any = None) -> dict:
    """Drop the caller's cache entries (every category, or the one named)."""
    uid = caller.require_user()
    payload = Payload(data)
    name = payload.choice("categoria", [c.value for c in Category])
    payload.done()
    services.cache.invalidate(uid, Category(name) if name else None)
    return {"cleared": name or "all"}

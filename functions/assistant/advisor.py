"""The `gerarAnalise` intent: figures for a period, then a Portuguese answer.

Figures come from the user's records (`functions.analysis`). The text comes
from Gemini when it is configured, given only those figures and the question;
otherwise, or when the model fails, from the deterministic writer
(`functions.analysis_text`). Replies are cached for an hour per user,
normalised question and period; any write to the user's records drops them.
A reply computed now counts against the plan's analysis limit; a cached one
does not.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from functions import analysis, analysis_text, genai
from functions.auth import Caller
from functions.cache import Category
from functions.plans import Usage
from functions.services import Services
from functions.store.base import Filter, Query
from functions.users import charge_usage
from functions.validation import Payload

__all__ = ["DEFAULT_DAYS", "generate_analysis"]

_log = logging.getLogger("functions.assistant.advisor")

DEFAULT_DAYS = 30
MAX_DAYS = 366
MAX_RECORDS = 5_000
_PAGE = 500
SYSTEM_INSTRUCTION = (
    "Você é um consultor financeiro de pequenos negócios de confeitaria e "
    "panificação no Brasil. Responda em português do Brasil, em até 8 frases, "
    "usando somente os números fornecidos em JSON (valores em reais). Não "
    "invente dados que não estão nos números. Termine com uma sugestão prática."
)


def generate_analysis(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Answer `query` about the period `de`..`ate` (default the last 30 days)."""
    uid = caller.require_user()
    payload = Payload(data)
    question = payload.text("query", required=True, max_len=500)
    start = payload.date("de")
    end = payload.date("ate")
    today = services.clock().astimezone(ZoneInfo(services.settings.timezone)).date()
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        payload.errors["ate"] = "a data final deve ser igual ou posterior à inicial"
    elif (end - start).days + 1 > MAX_DAYS:
        payload.errors["de"] = f"o período pode ter no máximo {MAX_DAYS} dias"
    payload.done("Não foi possível gerar a análise: verifique os campos.")
    assert question is not None
    period = analysis.Period(start, end)

    key = json.dumps(
        {
            "q": analysis_text.normalise_question(question),
            "de": start.isoformat(),
            "ate": end.isoformat(),
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )

    def load() -> dict[str, Any]:
        # Charged inside the loader: it runs only on a cache miss, once for
        # all concurrent callers of the same key, and before anything is
        # returned, so a user over the limit never gets an uncharged reply
        # cached. The records are read first: a store failure while reading
        # them must not spend the user's quota on a reply they never get.
        records = _records(services, uid, period, today)
        charge_usage(services, caller, Usage.ANALYSES)
        figures = analysis.compute(period, today, *records)
        text, source = _text(services, figures.summary, question, uid)
        return {"analysis": text, "summary": figures.summary, "source": source}

    value, cached = services.cache.get_or_load(uid, Category.ANALYSIS, key, load)
    return {
        "message": "Análise gerada.",
        "analysis": value["analysis"],
        "summary": value["summary"],
        "source": value["source"],
        "cached": cached,
    }


def _records(
    services: Services, uid: str, period: analysis.Period, today: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    window = analysis.load_window(period, today)
    between = (
        ("date", window),
        ("deliveryDate", window),
    )
    expenses = _all(services, f"users/{uid}/expenses", *between[0])
    orders = _all(services, f"users/{uid}/orders", *between[1])
    recipes = _all(services, f"users/{uid}/recipes", None, None)
    return expenses, orders, recipes


def _all(
    services: Services,
    collection: str,
    field: str | None,
    window: analysis.Period | None,
) -> list[dict[str, Any]]:
    """Every document of `collection` in `window` of `field`, up to a cap."""
    filters: tuple[Filter, ...] = ()
    order: tuple[tuple[str, Any], ...] = ()
    if field is not None and window is not None:
        filters = (
            Filter(field, ">=", window.start.isoformat()),
            Filter(field, "<=", window.end.isoformat()),
        )
        order = ((field, "asc"),)
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    # Limitation: figures cover at most MAX_RECORDS documents of each kind in
    # the window; a business with more would need pre-aggregated counters.
    while len(found) < MAX_RECORDS:
        page = services.store.query(Query(collection, filters, order, _PAGE, cursor))
        found.extend(doc.data for doc in page.docs)
        cursor = page.next_cursor
        if cursor is None:
            break
    return found[:MAX_RECORDS]


def _text(
    services: Services, summary: dict[str, Any], question: str, uid: str
) -> tuple[str, str]:
    """The answer and its source: `gemini` or `deterministico`."""
    settings = services.settings
    if not genai.configured(settings):
        return analysis_text.write(summary, question), "deterministico"
    prompt = (
        "Números do negócio (JSON):\n"
        + json.dumps(summary, ensure_ascii=False, separators=(",", ":"))
        + "\n\nPergunta do usuário:\n"
        + question
    )
    started = time.perf_counter()
    try:
        text = genai.generate(settings, SYSTEM_INSTRUCTION, prompt)
    except genai.GenAIError as err:
        _log.warning(
            "model failed; answering with the deterministic text",
            extra={
                "event": "genai_fallback",
                "user_id": uid,
                "model": settings.gemini_model,
                "error": str(err),
                "duration_ms": round((time.perf_counter() - started) * 1000),
            },
        )
        return analysis_text.write(summary, question), "deterministico"
    _log.info(
        "model answered",
        extra={
            "event": "genai",
            "user_id": uid,
            "model": settings.gemini_model,
            "duration_ms": round((time.perf_counter() - started) * 1000),
        },
    )
    return text, "gemini"

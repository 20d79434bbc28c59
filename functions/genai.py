"""Gemini through the `google-genai` package: one client per configuration.

Configured by `GEMINI_API_KEY` (Gemini API) or `VERTEX_PROJECT` (Vertex AI,
application default credentials). The client is imported and built on first
use, behind a lock, and reused by every request of the instance. Retries are
off: the caller has a deterministic fallback, and a user waiting for an
answer is better served by it than by a second slow attempt.
"""

from __future__ import annotations

import threading
from typing import Any

from functions.config import Settings

__all__ = ["GenAIError", "configured", "generate"]


class GenAIError(Exception):
    """The model gave no usable answer (error, timeout, empty or blocked)."""


_lock = threading.Lock()
_clients: dict[tuple[Any, ...], Any] = {}


def configured(settings: Settings) -> bool:
    """True when an API key or a Vertex project is set."""
    return bool(settings.gemini_api_key or settings.vertex_project)


def _client(settings: Settings) -> Any:
    key = (
        settings.gemini_api_key,
        settings.vertex_project,
        settings.vertex_location,
        settings.gemini_base_url,
        settings.gemini_timeout_seconds,
    )
    with _lock:
        client = _clients.get(key)
        if client is None:
            from google import genai
            from google.genai import types

            options = types.HttpOptions(
                base_url=settings.gemini_base_url,
                timeout=int(settings.gemini_timeout_seconds * 1000),
                retry_options=types.HttpRetryOptions(attempts=1),
            )
            if settings.gemini_api_key:
                client = genai.Client(
                    api_key=settings.gemini_api_key, http_options=options
                )
            else:
                client = genai.Client(
                    vertexai=True,
                    project=settings.vertex_project,
                    location=settings.vertex_location,
                    http_options=options,
                )
            _clients[key] = client
        return client


def generate(settings: Settings, system: str, prompt: str) -> str:
    """The model's text for `prompt` under the `system` instruction.

    Raises GenAIError for any failure, so callers handle one exception.
    """
    if not configured(settings):
        raise GenAIError("no model configured")
    try:
        from google.genai import types

        response = _client(settings).models.generate_content(
            model=settings.gemini_model,
            contents=prompt,
            config=types.GenerateContentConfig(
                system_instruction=system,
                temperature=0.3,
                max_output_tokens=1024,
            ),
        )
        text = response.text
    except Exception as err:  # transport, HTTP status, timeout, parsing
        raise GenAIError(f"{type(err).__name__}: {str(err)[:200]}") from err
    if not text or not text.strip():
        raise GenAIError("empty answer")
    return str(text).strip()

"""Domain errors: what can go wrong, in the app's terms.

Services raise these; the callable edge (`functions.edge`) maps each one to an
`HttpsError` with the matching code. Messages are the Portuguese text the app
shows to its users; `details` carries machine-readable facts.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AppError",
    "InvalidArgument",
    "LimitReached",
    "NotFound",
    "PermissionDenied",
    "Unauthenticated",
    "Unavailable",
]


class AppError(Exception):
    """Base of every error the app is meant to see."""

    code = "INTERNAL"
    default_message = "Erro interno. Tente novamente em instantes."

    def __init__(self, message: str | None = None, details: Any = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.details = details


class InvalidArgument(AppError):
    """The payload is missing a field or a field has the wrong type or value.

    `details` maps each bad field to what was wrong with it.
    """

    code = "INVALID_ARGUMENT"
    default_message = "Dados inválidos."

    def __init__(
        self,
        message: str | None = None,
        fields: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message, {"fields": fields or {}, **extra})
        self.fields = fields or {}


class Unauthenticated(AppError):
    code = "UNAUTHENTICATED"
    default_message = "Faça login para continuar."


class PermissionDenied(AppError):
    code = "PERMISSION_DENIED"
    default_message = "Você não tem permissão para esta ação."


class NotFound(AppError):
    code = "NOT_FOUND"
    default_message = "Registro não encontrado."


class LimitReached(AppError):
    """A plan limit would be passed; `details` holds the limit and the usage."""

    code = "RESOURCE_EXHAUSTED"
    default_message = "Limite do plano atingido."


class Unavailable(AppError):
    """A dependency (store, cache, bucket, OCR, AI) cannot be reached now."""

    code = "UNAVAILABLE"
    default_message = "Serviço temporariamente indisponível. Tente novamente."

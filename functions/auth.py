"""Who is calling: the verified Firebase ID token, reduced to what services need."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from functions.errors import PermissionDenied, Unauthenticated

__all__ = ["Caller", "caller_from_token", "check_token_mode", "usable_uid"]


@dataclass(frozen=True)
class Caller:
    """The signed-in user (or nobody) behind one call."""

    uid: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        """True when the token carries the custom claim `admin: true`."""
        return self.claims.get("admin") is True

    @property
    def email(self) -> str | None:
        value = self.claims.get("email")
        return value if isinstance(value, str) else None

    def require_user(self) -> str:
        """The caller's uid; raises Unauthenticated when nobody is signed in."""
        if not self.uid:
            raise Unauthenticated()
        return self.uid

    def require_admin(self) -> str:
        """The admin's uid; Unauthenticated for nobody, PermissionDenied otherwise."""
        uid = self.require_user()
        if not self.is_admin:
            raise PermissionDenied("Apenas administradores podem fazer isso.")
        return uid

    def require_self_or_admin(self, uid: str) -> str:
        """`uid` when the caller is that user or an admin."""
        caller = self.require_user()
        if caller != uid and not self.is_admin:
            raise PermissionDenied()
        return uid


def caller_from_token(token: Mapping[str, Any] | None, now_epoch: float) -> Caller:
    """The caller described by verified token claims, or an anonymous caller.

    The Auth emulator's tokens are unsigned and firebase-admin does not check
    their expiry in emulator mode, so the expiry is checked here for every token.
    """
    if token is None:
        return Caller()
    expires = token.get("exp")
    if not isinstance(expires, int | float) or expires <= now_epoch:
        raise Unauthenticated("Sessão expirada. Entre novamente.")
    uid = token.get("uid") or token.get("sub")
    if not isinstance(uid, str) or not uid:
        raise Unauthenticated()
    if not usable_uid(uid):
        raise PermissionDenied("Este identificador de usuário não é suportado.")
    return Caller(uid=uid, claims=dict(token))


def usable_uid(uid: str) -> bool:
    """True when `uid` can name the user's own document, `users/{uid}`.

    Firebase accepts almost any uid of up to 128 characters, but a slash would
    reach into another document's path, and `.`, `..` and `__x__` are not
    document ids in Firestore.
    """
    return (
        0 < len(uid) <= 128
        and "/" not in uid
        and uid not in {".", ".."}
        and not (uid.startswith("__") and uid.endswith("__"))
        and uid.isprintable()
    )


def check_token_mode(env: Mapping[str, str]) -> None:
    """Refuse to serve when token signatures would not be checked in production.

    With FIREBASE_AUTH_EMULATOR_HOST set, firebase-admin accepts unsigned tokens,
    so anyone could claim `admin: true`. That is right under the emulator and
    never on Cloud Run (K_SERVICE set, FUNCTIONS_EMULATOR not true).
    """
    emulated_auth = bool(env.get("FIREBASE_AUTH_EMULATOR_HOST"))
    on_cloud_run = bool(env.get("K_SERVICE"))
    in_emulator = env.get("FUNCTIONS_EMULATOR", "").lower() == "true"
    if emulated_auth and on_cloud_run and not in_emulator:
        raise RuntimeError(
            "FIREBASE_AUTH_EMULATOR_HOST is set on a deployed function: ID token "
            "signatures would not be verified. Remove it from the environment."
        )

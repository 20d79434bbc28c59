"""ID tokens minted the way the Firebase Auth emulator mints them (unsigned)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

PROJECT = "demo-assistente"


def _segment(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def mint(
    uid: str,
    *,
    admin: bool = False,
    expires_in: float = 3600,
    project: str = PROJECT,
    **claims: Any,
) -> str:
    """An emulator-style ID token for `uid` (alg none, empty signature)."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": f"https://securetoken.google.com/{project}",
        "aud": project,
        "auth_time": now,
        "user_id": uid,
        "sub": uid,
        "iat": now,
        "exp": int(now + expires_in),
        "email": claims.pop("email", f"{uid}@example.com"),
        "email_verified": True,
        "firebase": {"identities": {}, "sign_in_provider": "password"},
        **claims,
    }
    if admin:
        payload["admin"] = True
    return f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(payload)}."

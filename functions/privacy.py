"""LGPD: a user's export of everything stored about them, and their erasure.

`export_user_data` (callable `exportUserData`) gathers the profile, the
records of every per-user collection and the user's figures from the metrics
rollups into one JSON document. Up to `LGPD_EXPORT_INLINE_MAX_BYTES` it is the
reply itself; a bigger one is written as a file, to the backup bucket under
`lgpd-exports/` (the reply carries a V4 signed URL valid for
`EXPORT_URL_LIFETIME`) or, without a bucket, to `LGPD_EXPORT_DIR` (the reply
carries the local path). Export files older than `EXPORT_FILE_MAX_AGE` are
removed by the next large export.

`delete_user_data` (callable `deleteUserData`) erases the profile and
everything under it, the user's entries in the metrics rollups, every cache
entry of the user and, when `LGPD_DELETE_AUTH_USER` is on, the Firebase Auth
account. It leaves `erasures/{sha256(uid)}` behind: the time, who asked (the
user or an admin) and how much was removed, never the data itself. Backups
taken before the erasure keep the data until retention removes them.

Both are for the signed-in user on their own data; an admin may name any
`uid`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from functions.auth import Caller
from functions.config import Settings
from functions.errors import Unavailable
from functions.plans import month_key
from functions.services import Services
from functions.store.base import DELETE_FIELD, Doc, Filter, Query, Transaction
from functions.validation import Payload
from functions.wire import jsonable

__all__ = [
    "CONFIRMATION",
    "EXPORT_FORMAT",
    "USER_COLLECTIONS",
    "auth_user_deleter",
    "delete_user_data",
    "erasure_path",
    "export_user_data",
    "user_metrics_docs",
]

_log = logging.getLogger("functions.privacy")

CONFIRMATION = "EXCLUIR"
"""The word `deleteUserData` requires in `confirm`."""

EXPORT_FORMAT = "assistente-lgpd-export/1"

USER_COLLECTIONS: tuple[str, ...] = ("expenses", "orders", "recipes")
"""Every subcollection of `users/{uid}`; a new one must be added here so the
export includes it (the erasure removes the whole tree regardless)."""

EXPORT_URL_LIFETIME = timedelta(hours=1)
EXPORT_FILE_MAX_AGE = timedelta(hours=24)
_EXPORT_PREFIX = "lgpd-exports/"
_PAGE = 500
# Ids the app and Firebase Auth generate; they are also safe as one segment of
# a dotted field name (`users.{uid}`) and of a document path.
_SAFE_UID = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
_SIMPLE_FIELD = re.compile(r"^[_A-Za-z][_A-Za-z0-9]{0,127}$")
_METRICS = "metrics"


def carried_usage(profile: dict[str, Any] | None, services: Services) -> dict[str, Any]:
    """The current month's usage counters of `profile`, keyed by month."""
    month = month_key(services.clock(), services.settings.timezone)
    counters = ((profile or {}).get("usage") or {}).get(month)
    return {month: dict(counters)} if isinstance(counters, dict) else {}


def erasure_path(uid: str) -> str:
    """`erasures/{sha256(uid)}`: proof an erasure happened, without the uid."""
    # The collection is `functions.backup.manifest.ERASURES`, spelled out here so
    # the first record of a new user does not import the backup package;
    # tests/test_hardening.py fails if the two disagree.
    return f"erasures/{hashlib.sha256(uid.encode()).hexdigest()}"


def _target_uid(caller: Caller, payload: Payload) -> str:
    """The user whose data the call is about: the caller, or `uid` for an admin.

    The permission check comes before the payload's other fields are judged, so
    a user probing someone else's id learns nothing but PERMISSION_DENIED.
    """
    own = caller.require_user()
    requested = payload.raw.get("uid")
    if requested is None or requested == own:
        return own
    if not caller.is_admin:
        caller.require_self_or_admin(str(requested))
    uid = payload.doc_id("uid")
    payload.done()
    assert uid is not None
    return uid


# -- reading what is stored about a user ---------------------------------------


def _collection_docs(services: Services, collection: str) -> Iterator[Doc]:
    cursor: str | None = None
    while True:
        page = services.store.query(Query(collection, limit=_PAGE, cursor=cursor))
        yield from page.docs
        cursor = page.next_cursor
        if cursor is None:
            return


def user_metrics_docs(services: Services, uid: str) -> Iterator[Doc]:
    """Every metrics rollup that holds figures of `uid`.

    Rollups keep each caller under `users.{uid}` with a `count` that is at least
    one, so a range filter on that field finds exactly them through Firestore's
    automatic single-field index, without reading anyone else's rollups.
    """
    if not _SIMPLE_FIELD.match(uid):
        # Firestore's order_by takes only unquoted names, and the SQLite store
        # no quoted ones: for such a uid (one in six of Firebase's generated
        # ids starts with a digit) read every rollup instead.
        for doc in _collection_docs(services, _METRICS):
            if uid in (doc.data.get("users") or {}):
                yield doc
        return
    field = f"users.{uid}.count"
    cursor: str | None = None
    while True:
        page = services.store.query(
            Query(
                _METRICS,
                filters=(Filter(field, ">=", 0),),
                order_by=((field, "asc"),),
                limit=_PAGE,
                cursor=cursor,
            )
        )
        yield from page.docs
        cursor = page.next_cursor
        if cursor is None:
            return


def _flush_metrics(services: Services) -> None:
    # This instance's unflushed figures of the user must reach the store first,
    # or the export would miss them and the erasure would leave them behind.
    from functions.monitoring.rollups import recorder_for

    recorder_for(services).flush()


def _metrics_entry(doc: Doc, uid: str) -> dict[str, Any]:
    figures = (doc.data.get("users") or {}).get(uid) or {}
    return {
        "document": doc.path,
        "function": doc.data.get("function"),
        "minute": doc.data.get("minute"),
        **figures,
    }


def _collect(services: Services, uid: str) -> dict[str, Any]:
    base = f"users/{uid}"
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exportedAt": services.clock(),
        "uid": uid,
        "units": {
            "money": "inteiros em centavos de real (ex.: 4590 = R$ 45,90)",
            "dates": "ISO 8601",
        },
        "profile": services.store.get(base),
    }
    for name in USER_COLLECTIONS:
        document[name] = [
            {"id": doc.id, **doc.data}
            for doc in _collection_docs(services, f"{base}/{name}")
        ]
    document["metrics"] = [
        _metrics_entry(doc, uid) for doc in user_metrics_docs(services, uid)
    ]
    return jsonable(document)


# -- exportUserData ----------------------------------------------------------------


def export_user_data(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Everything stored about the caller (or, for an admin, about `uid`).

    Reply `{"delivery": "inline", "bytes", "export": {...}}`, or for an export
    above `LGPD_EXPORT_INLINE_MAX_BYTES` `{"delivery": "file", "bytes", "url"
    | "path", "expiresAt"}` with the same document as a JSON file.
    """
    payload = Payload(data)
    uid = _target_uid(caller, payload)
    unknown = sorted(set(payload.raw) - {"uid"})
    for key in unknown:
        payload.errors[key] = "campo desconhecido"
    payload.done()
    settings = services.settings
    _flush_metrics(services)
    document = _collect(services, uid)
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    encoded = body.encode()
    _log.info(
        "personal data exported",
        extra={
            "event": "lgpd_export",
            "bytes": len(encoded),
            "by_admin": uid != caller.uid,
        },
    )
    if len(encoded) <= settings.lgpd_export_inline_max_bytes:
        return {"delivery": "inline", "bytes": len(encoded), "export": document}
    return {
        "delivery": "file",
        "bytes": len(encoded),
        **_write_file(services, settings, uid, encoded),
    }


def _export_name(services: Services, uid: str) -> str:
    # Unguessable: a signed URL or path must not be derivable from the uid.
    stamp = services.clock().strftime("%Y%m%dT%H%M%SZ")
    digest = hashlib.sha256(uid.encode()).hexdigest()[:16]
    return f"{stamp}-{digest}-{secrets.token_hex(8)}.json"


def _write_file(
    services: Services, settings: Settings, uid: str, body: bytes
) -> dict[str, Any]:
    name = _export_name(services, uid)
    expires = services.clock() + EXPORT_URL_LIFETIME
    bucket_url = services.settings.backup_bucket
    if bucket_url:
        url = _write_to_bucket(bucket_url, name, body)
        return {"url": url, "path": None, "expiresAt": expires.isoformat()}
    folder = settings.lgpd_export_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _sweep_local(folder, services.clock())
        target = folder / name
        # Owner-only: the file holds personal data.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(body)
    except OSError as err:
        raise Unavailable(details={"reason": type(err).__name__}) from err
    return {"url": None, "path": str(target), "expiresAt": None}


def _sweep_local(folder: Path, now: datetime) -> None:
    cutoff = (now - EXPORT_FILE_MAX_AGE).timestamp()
    for old in folder.glob("*.json"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            continue  # removed concurrently, or not ours to remove


def _write_to_bucket(bucket_url: str, name: str, body: bytes) -> str:
    """Upload to `gs://bucket/lgpd-exports/` and sign a V4 download URL.

    On Cloud Functions the credentials hold no private key, so the URL is
    signed through the IAM signBlob API with the service account's token
    (the account needs `roles/iam.serviceAccountTokenCreator` on itself).
    """
    from functions.backup.destinations import parse_bucket_url

    bucket_name, _ = parse_bucket_url(bucket_url)
    try:
        import google.auth
        import google.auth.transport.requests
        from google.cloud import storage
        from google.oauth2 import service_account

        credentials, project = google.auth.default()
        client = storage.Client(project=project, credentials=credentials)
        bucket = client.bucket(bucket_name)
        _sweep_bucket(client, bucket_name)
        blob = bucket.blob(_EXPORT_PREFIX + name)
        blob.upload_from_string(body, content_type="application/json")
        sign: dict[str, Any] = {}
        if not isinstance(credentials, service_account.Credentials):
            # No private key here: sign with the account's token via signBlob.
            credentials.refresh(google.auth.transport.requests.Request())
            sign = {
                "service_account_email": getattr(
                    credentials, "service_account_email", None
                ),
                "access_token": credentials.token,
            }
        return str(
            blob.generate_signed_url(
                version="v4", expiration=EXPORT_URL_LIFETIME, method="GET", **sign
            )
        )
    except Unavailable:
        raise
    except Exception as err:
        _log.warning(
            "export upload failed",
            extra={"event": "lgpd_export", "error_type": type(err).__name__},
        )
        raise Unavailable() from err


def _sweep_bucket(client: Any, bucket_name: str) -> None:
    # A bucket lifecycle rule on `lgpd-exports/` is the primary clean-up; this
    # catches buckets without one.
    cutoff = datetime.now(UTC) - EXPORT_FILE_MAX_AGE
    for blob in client.list_blobs(bucket_name, prefix=_EXPORT_PREFIX):
        created = getattr(blob, "time_created", None)
        if created is not None and created < cutoff:
            blob.delete()


# -- deleteUserData ----------------------------------------------------------------


def _delete_auth_user(uid: str) -> bool:
    """Delete the Firebase Auth account; False when it did not exist."""
    from firebase_admin import auth

    try:
        auth.delete_user(uid)
    except auth.UserNotFoundError:
        return False
    return True


auth_user_deleter: Callable[[str], bool] = _delete_auth_user
"""How the Auth account is deleted; tests replace it (no Auth emulator runs)."""


def _forget_metrics(services: Services, uid: str) -> int:
    removed = 0
    for doc in list(user_metrics_docs(services, uid)):
        if _SAFE_UID.match(uid):
            services.store.update(doc.path, {f"users.{uid}": DELETE_FIELD})
        else:
            _rewrite_without(services, doc.path, uid)
        removed += 1
    return removed


def _rewrite_without(services: Services, path: str, uid: str) -> None:
    # A uid that cannot be one segment of a dotted field name: rewrite the
    # `users` map in a transaction, so concurrent increments are not lost.
    def run(txn: Transaction) -> None:
        data = txn.get(path)
        if data is None:
            return
        users = dict(data.get("users") or {})
        users.pop(uid, None)
        txn.set(path, {**data, "users": users})

    services.store.run_transaction(run)


def _anonymize_this_call() -> None:
    # The call that erased a user must not write their id into a fresh rollup
    # (or log line) right after their entries were removed.
    from functions.monitoring.calls import anonymize_current_call

    anonymize_current_call()


def delete_user_data(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Erase every trace of the caller (or, for an admin, of `uid`); idempotent.

    Requires `confirm: "EXCLUIR"`. Replies with the counts of what was removed
    and whether the Auth account went; the same counts are kept in
    `erasures/{sha256(uid)}`.
    """
    payload = Payload(data)
    uid = _target_uid(caller, payload)
    if payload.raw.get("confirm") != CONFIRMATION:
        payload.errors["confirm"] = f'envie "{CONFIRMATION}" para confirmar'
    for key in sorted(set(payload.raw) - {"uid", "confirm"}):
        payload.errors[key] = "campo desconhecido"
    payload.done("A exclusão precisa ser confirmada.")
    settings = services.settings
    started = time.perf_counter()

    _flush_metrics(services)
    base = f"users/{uid}"
    profile = services.store.get(base)
    counts: dict[str, int] = {"profile": int(profile is not None)}
    for name in USER_COLLECTIONS:
        counts[name] = services.store.count(Query(f"{base}/{name}"))
    try:
        removed = services.store.delete_tree(base)
    finally:
        # Even when a later step (or the deletion itself, halfway) fails,
        # nothing already erased may be served from the cache.
        services.cache.invalidate(uid)
    counts["otherDocuments"] = max(0, removed - sum(counts.values()))
    counts["metricsEntries"] = _forget_metrics(services, uid)
    _anonymize_this_call()

    auth_deleted: bool | None = None
    auth_error: BaseException | None = None
    if settings.lgpd_delete_auth_user:
        try:
            auth_deleted = auth_user_deleter(uid)
        except Exception as err:  # the data is gone; the account can be retried
            auth_error = err
            auth_deleted = False
    record = {
        "erasedAt": services.clock(),
        # Only this month's plan counters, so erasing one's data is no way to
        # start the month's quota over; they say nothing about the person.
        "usage": carried_usage(profile, services),
        "requestedBy": "user" if uid == caller.uid else "admin",
        "counts": counts,
        "authUser": (
            "skipped"
            if auth_deleted is None
            else "deleted"
            if auth_deleted
            else "failed"
            if auth_error
            else "absent"
        ),
    }
    services.store.set(erasure_path(uid), record)
    _log.info(
        "personal data erased",
        extra={
            "event": "lgpd_erasure",
            "counts": counts,
            "auth_user": record["authUser"],
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    if auth_error is not None:
        raise Unavailable(
            "Seus dados foram excluídos, mas não foi possível remover a conta "
            "agora. Tente novamente.",
            {"counts": counts},
        ) from auth_error
    return {"erased": True, "counts": counts, "authUser": record["authUser"]}

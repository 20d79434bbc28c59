"""The backup line format: one document per JSON line, values typed.

Plain JSON already keeps strings, booleans, null, lists, maps, and integers
apart from floats (`1` versus `1.0`). What it cannot say is tagged with a
one-key map whose key starts with `$`:

- `{"$ts": "2026-12-01T10:00:00.123456+00:00"}`: a timestamp (UTC, microseconds);
- `{"$float": "NaN"}` (or `Infinity`, `-Infinity`): floats JSON has no text for;
- `{"$bytes": "<base64>"}`: raw bytes (Firestore's bytes type);
- `{"$map": [[key, value], ...]}`: a map with a key that starts with `$`,
  written as pairs so it can never be mistaken for a tag.

Every map with a `$` key is escaped, so a document can hold any key, including
`$ts`, and still come back as it was.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime
from typing import Any

from functions.store.base import Doc

__all__ = ["FormatError", "decode_line", "decode_value", "encode_line", "encode_value"]

_TS = "$ts"
_FLOAT = "$float"
_BYTES = "$bytes"
_MAP = "$map"
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class FormatError(ValueError):
    """A backup line is not valid JSON or not a `{"path", "data"}` record."""


def _float_tag(value: float) -> Any:
    if math.isnan(value):
        return {_FLOAT: "NaN"}
    return {_FLOAT: "Infinity" if value > 0 else "-Infinity"}


def encode_value(value: Any) -> Any:
    """`value` as plain JSON data, with tags for what JSON cannot say.

    Raises TypeError for a value the store port does not hold.
    """
    # Ordered by frequency in business documents: most values are scalars.
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _float_tag(value)
    if isinstance(value, dict):
        if any(str(key).startswith("$") for key in value):
            return {_MAP: [[str(k), encode_value(v)] for k, v in value.items()]}
        return {str(k): encode_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode_value(item) for item in value]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("timestamps must be timezone-aware")
        return {_TS: value.astimezone(UTC).isoformat(timespec="microseconds")}
    if isinstance(value, bytes | bytearray):
        return {_BYTES: base64.b64encode(value).decode("ascii")}
    raise TypeError(f"cannot back up a value of type {type(value).__name__}")


def _tagged(obj: dict[str, Any]) -> Any:
    # json calls this for every object, innermost first; only one-key maps
    # with a known tag are special, and `$map` holds pairs, not a map, so its
    # contents were never seen here as a would-be tag.
    if len(obj) != 1:
        return obj
    key, raw = next(iter(obj.items()))
    if key == _TS:
        return datetime.fromisoformat(raw).astimezone(UTC)
    if key == _MAP:
        return {str(k): v for k, v in raw}
    if key == _FLOAT:
        return _SPECIAL_FLOATS[raw]
    if key == _BYTES:
        return base64.b64decode(raw, validate=True)
    return obj


def decode_value(data: Any) -> Any:
    """The value `encode_value` produced `data` from."""
    return json.loads(json.dumps(data), object_hook=_tagged)


def encode_line(doc: Doc) -> bytes:
    """One JSON line (newline included) holding the document's path and data."""
    record = {"path": doc.path, "data": encode_value(doc.data)}
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8") + b"\n"


def decode_line(line: bytes) -> Doc:
    """The document of one backup line; FormatError when it is not one."""
    try:
        record = json.loads(line, object_hook=_tagged)
    except (ValueError, KeyError, TypeError) as err:
        raise FormatError(f"unreadable line: {err}") from err
    if (
        not isinstance(record, dict)
        or not isinstance(record.get("path"), str)
        or not isinstance(record.get("data"), dict)
    ):
        raise FormatError("a line must be an object with path and data")
    return Doc(record["path"], record["data"])

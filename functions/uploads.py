"""Documents the app uploads as base64: decoded, capped, identified, checked.

The type is decided by the file's first bytes (JPEG, PNG or PDF), not by the
name or the `mimeType` the app sends: a text file renamed `.png` is rejected
here, before any OCR engine sees it.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import re
from dataclasses import dataclass
from typing import Any

from functions.errors import InvalidArgument

__all__ = ["ACCEPTED_MIME_TYPES", "Upload", "read_upload"]

_log = logging.getLogger("functions.uploads")

ACCEPTED_MIME_TYPES = {
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/pjpeg": "jpeg",
    "image/png": "png",
    "application/pdf": "pdf",
}
_MIME_OF = {"jpeg": "image/jpeg", "png": "image/png", "pdf": "application/pdf"}
_DATA_URL = re.compile(r"^data:([\w.+\-/]+)?(?:;[\w=\-]+)*;base64,", re.IGNORECASE)
_MIN_SIDE = 16
_MAX_PIXELS = 60_000_000  # a 60-megapixel photo; larger is a decompression bomb
_EXAMPLE = "envie a foto ou o PDF em base64 (JPEG, PNG ou PDF)"


@dataclass(frozen=True)
class Upload:
    """A decoded document whose content matches its type."""

    data: bytes
    kind: str
    """`jpeg`, `png` or `pdf`."""

    @property
    def mime_type(self) -> str:
        return _MIME_OF[self.kind]


def read_upload(file: Any, mime_type: Any, max_bytes: int) -> Upload:
    """Decode and check the `file` and `mimeType` fields of a payload.

    Raises InvalidArgument naming the field for: a missing or non-text file,
    bad base64, more than `max_bytes` once decoded, an unsupported declared
    type, content that is not JPEG, PNG or PDF, and images that are corrupt,
    tiny, gigantic or blank (a single colour).
    """
    if not isinstance(file, str) or not file.strip():
        raise InvalidArgument(
            "Envie o documento no campo file.",
            {"file": f"campo obrigatório: {_EXAMPLE}"},
        )
    declared = _declared_kind(mime_type, file)
    data = _decode(file, max_bytes)
    kind = _sniff(data)
    if kind is None:
        raise InvalidArgument(
            "O arquivo não é uma imagem JPEG, PNG nem um PDF.",
            {"file": "conteúdo não reconhecido: esperado JPEG, PNG ou PDF"},
        )
    if declared is not None and declared != kind:
        # Phone pickers often label a PNG screenshot as JPEG; the bytes are
        # what the OCR reads, so they win, and the mismatch is only logged.
        _log.info(
            "declared type differs from content",
            extra={"event": "upload_mime_mismatch", "declared": declared, "kind": kind},
        )
    if kind != "pdf":
        _check_image(data)
    return Upload(data, kind)


def _declared_kind(mime_type: Any, file: str) -> str | None:
    declared = mime_type
    if declared is None:
        match = _DATA_URL.match(file[:200].lstrip())
        declared = match.group(1) if match and match.group(1) else None
    if declared is None or declared == "":
        return None
    if not isinstance(declared, str):
        raise InvalidArgument(
            "Tipo de arquivo inválido.", {"mimeType": "esperado um texto"}
        )
    kind = ACCEPTED_MIME_TYPES.get(declared.strip().lower())
    if kind is None:
        accepted = ", ".join(sorted(set(ACCEPTED_MIME_TYPES) - {"image/pjpeg"}))
        raise InvalidArgument(
            "Tipo de arquivo não aceito: envie JPEG, PNG ou PDF.",
            {"mimeType": f"use um destes: {accepted}; recebido {declared[:60]!r}"},
        )
    return kind


def _decode(file: str, max_bytes: int) -> bytes:
    text = _DATA_URL.sub("", file.lstrip(), count=1)
    text = re.sub(r"\s+", "", text)
    # Checked before decoding: a huge payload is refused without copying it.
    if len(text) * 3 // 4 > max_bytes + 3:
        raise _too_big(max_bytes)
    text = text.replace("-", "+").replace("_", "/")  # URL-safe alphabet
    text += "=" * (-len(text) % 4)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument(
            "O arquivo não está em base64 válido.",
            {"file": f"base64 inválido: {_EXAMPLE}"},
        ) from None
    if not data:
        raise InvalidArgument("O arquivo está vazio.", {"file": "arquivo vazio"})
    if len(data) > max_bytes:
        raise _too_big(max_bytes)
    return data


def _too_big(max_bytes: int) -> InvalidArgument:
    megabytes = max_bytes / (1024 * 1024)
    return InvalidArgument(
        f"Arquivo grande demais: o limite é {megabytes:.0f} MB.",
        {"file": f"no máximo {max_bytes} bytes", "maxBytes": str(max_bytes)},
    )


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    # The PDF header may follow a little junk (the spec allows 1 KiB).
    if b"%PDF-" in data[:1024]:
        return "pdf"
    return None


def _check_image(data: bytes) -> None:
    from PIL import Image, UnidentifiedImageError

    bad = InvalidArgument(
        "A imagem está corrompida ou incompleta.", {"file": "imagem ilegível"}
    )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width * height > _MAX_PIXELS:
                raise InvalidArgument(
                    "Imagem grande demais: reduza a resolução da foto.",
                    {"file": f"no máximo {_MAX_PIXELS} pixels"},
                )
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            extrema = image.convert("L").getextrema()
    except InvalidArgument:
        raise
    except Image.DecompressionBombError:
        raise InvalidArgument(
            "Imagem grande demais: reduza a resolução da foto.",
            {"file": f"no máximo {_MAX_PIXELS} pixels"},
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise bad from None
    if min(width, height) < _MIN_SIDE:
        raise InvalidArgument(
            "A imagem é pequena demais para ser lida.",
            {"file": f"no mínimo {_MIN_SIDE}x{_MIN_SIDE} pixels"},
        )
    low, high = extrema if isinstance(extrema, tuple) else (extrema, extrema)
    if low == high:
        raise InvalidArgument(
            "A imagem está vazia: fotografe o cupom inteiro, com boa iluminação.",
            {"file": "imagem sem conteúdo (uma cor só)"},
        )

"""Text out of receipt photos and PDFs: Cloud Vision, Tesseract, poppler.

Engines are tried in order until one answers: Cloud Vision in production
(`OCR_ENGINE=vision`, or `auto` when running on Google Cloud), Tesseract with
Portuguese data as the embedded default. PDFs with a text layer are read
directly with `pdftotext`; scanned PDFs are rendered page by page with
`pdftoppm` and each page goes through the image engines. Every client and
library is imported on first use, so a cold start that never reads a
document never pays for them.

When no engine can answer, `Unavailable` carries a Portuguese message the app
shows. The document's bytes and text are never logged.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from functions.config import Settings
from functions.errors import InvalidArgument, Unavailable
from functions.uploads import Upload

__all__ = ["OcrResult", "engines_for", "read_document"]

_log = logging.getLogger("functions.ocr")

MAX_PDF_PAGES = 5
_PDF_DPI = 300
_MIN_TEXT_LAYER = 20  # characters: fewer means a scanned PDF
UNAVAILABLE_MESSAGE = (
    "A leitura de documentos (OCR) está indisponível no momento. "
    "Tente novamente mais tarde ou registre a despesa manualmente."
)


@dataclass(frozen=True)
class OcrResult:
    """The text read from a document and which engine read it."""

    text: str
    engine: str
    pages: int = 1


class EngineError(Exception):
    """An engine could not answer (missing, misconfigured, down, timed out)."""


class ImageEngine(Protocol):
    name: str

    def image_text(self, data: bytes) -> str:
        """The text of one image (JPEG or PNG bytes)."""
        ...


class TesseractEngine:
    """Tesseract through pytesseract, Portuguese data, local process."""

    name = "tesseract"

    def __init__(self, command: str, timeout_s: float) -> None:
        self._command = command
        self._timeout_s = timeout_s

    def image_text(self, data: bytes) -> str:
        try:
            import pytesseract
            from PIL import Image
        except ImportError as err:
            raise EngineError("pytesseract or Pillow is not installed") from err

        # pytesseract keeps the binary in a module global; every engine of an
        # instance sets the same configured value, so the write is harmless.
        pytesseract.pytesseract.tesseract_cmd = self._command
        with Image.open(io.BytesIO(data)) as opened:
            image = opened.convert("L")
        if image.width < 1000:
            # Tesseract reads small print better at about 300 dpi; phone
            # thumbnails of receipts are far below that.
            factor = 1000 / image.width
            size = (1000, round(image.height * factor))
            image = image.resize(size, Image.Resampling.LANCZOS)
        try:
            text: str = pytesseract.image_to_string(
                image, lang="por", config="--psm 4", timeout=self._timeout_s
            )
        except pytesseract.TesseractNotFoundError as err:
            raise EngineError("tesseract binary not found") from err
        except (pytesseract.TesseractError, RuntimeError, OSError) as err:
            # RuntimeError is pytesseract's timeout; TesseractError covers a
            # missing `por` traineddata.
            raise EngineError(f"tesseract failed: {type(err).__name__}") from err
        return text


class VisionEngine:
    """Google Cloud Vision `DOCUMENT_TEXT_DETECTION`, one client per instance."""

    name = "vision"
    _lock = threading.Lock()
    _client: Any = None

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s

    @classmethod
    def _get_client(cls) -> Any:
        with cls._lock:
            if cls._client is None:
                try:
                    from google.cloud import vision

                    cls._client = vision.ImageAnnotatorClient()
                except Exception as err:  # import, credentials, transport
                    raise EngineError(f"vision client: {type(err).__name__}") from err
            return cls._client

    def image_text(self, data: bytes) -> str:
        client = self._get_client()
        try:
            from google.cloud import vision

            response = client.document_text_detection(
                image=vision.Image(content=data),
                image_context=vision.ImageContext(language_hints=["pt"]),
                timeout=self._timeout_s,
            )
        except Exception as err:  # any transport or API error: try the next one
            raise EngineError(f"vision call: {type(err).__name__}") from err
        if response.error.message:
            raise EngineError(f"vision error: {response.error.message[:200]}")
        text: str = response.full_text_annotation.text
        return text


def engines_for(settings: Settings) -> list[ImageEngine]:
    """The image engines to try, in order, for `settings.ocr_engine`."""
    tesseract = TesseractEngine(settings.tesseract_cmd, settings.ocr_timeout_seconds)
    if settings.ocr_engine == "tesseract":
        return [tesseract]
    vision = VisionEngine(settings.ocr_timeout_seconds)
    if settings.ocr_engine == "vision":
        return [vision]
    return [vision, tesseract] if settings.on_gcp else [tesseract]


def read_document(upload: Upload, settings: Settings) -> OcrResult:
    """The text of an uploaded image or PDF.

    Raises Unavailable when no engine can read it now, InvalidArgument when a
    PDF is corrupt or has no pages.
    """
    engines = engines_for(settings)
    started = time.perf_counter()
    if upload.kind == "pdf":
        result = _read_pdf(upload.data, engines, settings.ocr_timeout_seconds)
    else:
        result = _read_image(upload.data, engines)
    _log.info(
        "document read",
        extra={
            "event": "ocr",
            "engine": result.engine,
            "kind": upload.kind,
            "bytes": len(upload.data),
            "pages": result.pages,
            "chars": len(result.text),
            "duration_ms": round((time.perf_counter() - started) * 1000),
        },
    )
    return result


def _read_image(data: bytes, engines: list[ImageEngine]) -> OcrResult:
    for engine in engines:
        try:
            return OcrResult(engine.image_text(data), engine.name)
        except EngineError as err:
            _log.warning(
                "OCR engine failed; trying the next one",
                extra={
                    "event": "ocr_engine_failed",
                    "engine": engine.name,
                    "error": str(err),
                },
            )
    raise Unavailable(UNAVAILABLE_MESSAGE)


def _read_pdf(data: bytes, engines: list[ImageEngine], timeout_s: float) -> OcrResult:
    if shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None:
        _log.warning(
            "poppler-utils missing: PDFs cannot be read",
            extra={"event": "ocr_engine_failed", "engine": "poppler"},
        )
        raise Unavailable(UNAVAILABLE_MESSAGE)
    with tempfile.TemporaryDirectory(prefix="doc-") as folder:
        source = Path(folder) / "document.pdf"
        source.write_bytes(data)
        pages = ["-f", "1", "-l", str(MAX_PDF_PAGES)]
        text = _poppler(["pdftotext", "-layout", *pages, str(source), "-"], timeout_s)
        if sum(c.isalnum() for c in text) >= _MIN_TEXT_LAYER:
            return OcrResult(text, "pdf-text")
        _poppler(
            ["pdftoppm", "-r", str(_PDF_DPI), "-png", *pages, str(source), str(source)],
            timeout_s,
        )
        images = sorted(Path(folder).glob("document.pdf-*.png"))
        if not images:
            raise InvalidArgument("O PDF não tem páginas.", {"file": "PDF sem páginas"})
        texts, engine = [], ""
        for image in images:
            result = _read_image(image.read_bytes(), engines)
            texts.append(result.text)
            engine = result.engine
    return OcrResult("\n".join(texts), engine, len(images))


def _poppler(command: list[str], timeout_s: float) -> str:
    try:
        done = subprocess.run(
            command, capture_output=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise Unavailable(UNAVAILABLE_MESSAGE) from None
    if done.returncode != 0:
        # poppler exits non-zero for damaged files and files that are no PDF.
        raise InvalidArgument(
            "O PDF está corrompido ou protegido e não pode ser lido.",
            {"file": "PDF ilegível"},
        )
    return done.stdout.decode("utf-8", errors="replace")

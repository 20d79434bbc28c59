"""processarDocumento through the callable protocol: images rendered from the
shared receipt texts go through Tesseract (`por`) and the parser; bad inputs
get INVALID_ARGUMENT; the plan is charged only after a successful read.

Under CI=true a missing tool (tesseract, the `por` data, pdftoppm, the font)
fails the test instead of skipping it.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from functions.plans import month_key
from tests.support import need

RECEIPTS = Path(__file__).resolve().parent / "data" / "receipts"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")


@pytest.fixture()
def tesseract() -> None:
    found = shutil.which("tesseract")
    need(found is not None, "tesseract")
    langs = subprocess.run(
        ["tesseract", "--list-langs"], capture_output=True, text=True, check=False
    ).stdout.split()
    need("por" in langs, "tesseract Portuguese data (tesseract-ocr-por)")
    need(FONT.exists(), "DejaVu Sans Mono (fonts-dejavu-core)")


def render(name: str, fmt: str = "PNG") -> bytes:
    """The receipt text drawn in black monospace on white, as an image file."""
    from PIL import Image, ImageDraw, ImageFont

    lines = (RECEIPTS / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    font = ImageFont.truetype(str(FONT), 28)
    width = max(int(font.getlength(line)) for line in lines) + 80
    image = Image.new("L", (width, 40 * len(lines) + 80), 255)
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((40, 40 + 40 * index), line, font=font, fill=0)
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def documents_used(services: Any, uid: str) -> int:
    profile = services.store.get(f"users/{uid}") or {}
    month = month_key(services.clock(), services.settings.timezone)
    return int(((profile.get("usage") or {}).get(month) or {}).get("documents", 0))


@pytest.mark.parametrize(
    ("name", "valor", "cnpj", "data", "chave"),
    [
        (
            "r06_sp_sat_chocolate_masked_cpf",
            149.94,
            "50.607.080/0001-16",
            "2025-03-19",
            "35250350607080000116590013001230154050067968",
        ),
        (
            "r11_rj_cupom_de_venda_ocr_letters_in_cnpj",
            15.31,
            "80.901.020/0001-72",
            "2025-02-12",
            None,
        ),
        (
            "r09_sp_sat_thousands_negative_discount",
            1581.58,
            "41.526.374/0011-02",
            "2024-10-20",
            "35241041526374001102590001112220988944023979",
        ),
    ],
)
def test_rendered_receipt_is_read_end_to_end(
    client: Any,
    services: Any,
    alice: str,
    tesseract: None,
    name: str,
    valor: float,
    cnpj: str,
    data: str,
    chave: str | None,
) -> None:
    status, body = client.intent(
        "processarDocumento",
        {"file": b64(render(name)), "mimeType": "image/png"},
        alice,
    )

    assert status == 200, body
    result = body["result"]
    extracted = result["extractedData"]
    assert result["success"] is True and result["message"]
    assert extracted["valor"] == valor
    assert extracted["cnpj"] == cnpj
    assert extracted["data"] == data
    assert extracted["chaveAcesso"] == chave
    assert extracted["motorOcr"] == "tesseract"
    assert extracted["textoCompleto"]
    assert {"valor", "fornecedor", "itens"} <= set(extracted)
    proposal = extracted["despesaSugerida"]
    assert proposal["valor"] == valor and proposal["data"] == data
    assert proposal["tipo"]
    assert documents_used(services, "alice") == 1


def test_proposal_is_accepted_by_registrar_despesa(
    client: Any, alice: str, tesseract: None
) -> None:
    image = render("r06_sp_sat_chocolate_masked_cpf", "JPEG")
    extracted = client.ok(
        "assistenteHttp",
        {"intent": "processarDocumento", "payload": {"file": b64(image)}},
        alice,
    )["extractedData"]

    proposal = extracted["despesaSugerida"]
    first = client.ok(
        "assistenteHttp", {"intent": "registrarDespesa", "payload": proposal}, alice
    )
    again = client.ok(
        "assistenteHttp", {"intent": "registrarDespesa", "payload": proposal}, alice
    )
    assert first["expenseId"] == again["expenseId"]  # requestId from the key


def test_scanned_pdf_is_rendered_and_read(
    client: Any, alice: str, tesseract: None
) -> None:
    need(shutil.which("pdftoppm") is not None, "pdftoppm (poppler-utils)")
    from PIL import Image

    image = Image.open(io.BytesIO(render("r11_rj_cupom_de_venda_ocr_letters_in_cnpj")))
    pdf = io.BytesIO()
    image.convert("RGB").save(pdf, "PDF", resolution=150)

    status, body = client.intent(
        "processarDocumento",
        {"file": b64(pdf.getvalue()), "mimeType": "application/pdf"},
        alice,
    )

    assert status == 200, body
    assert body["result"]["extractedData"]["valor"] == 15.31


def blank_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"file": "não é base64!!"}, "file"),
        ({"file": b64(b"TOTAL R$ 10,00\n"), "mimeType": "image/png"}, "file"),
        ({"file": b64(b"")}, "file"),
        ({}, "file"),
        ({"file": b64(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)}, "file"),
        ({"file": b64(b"%PDF-1.4\nnot really a pdf\n")}, "file"),
        ({"file": "AAAA", "mimeType": "text/plain"}, "mimeType"),
        ({"file": "blank"}, "file"),
    ],
    ids=[
        "not-base64",
        "text-renamed-png",
        "empty-file",
        "missing",
        "corrupt-png",
        "corrupt-pdf",
        "bad-mime",
        "blank-image",
    ],
)
def test_bad_inputs_are_invalid_argument_and_not_charged(
    client: Any, services: Any, alice: str, payload: dict[str, Any], field: str
) -> None:
    if payload.get("file") == "blank":
        payload = {"file": b64(blank_png())}
    if payload.get("file", "").startswith("JVBER"):  # base64 of "%PDF"
        need(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils)")

    status, body = client.intent("processarDocumento", payload, alice)

    assert status == 400, body
    error = body["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert field in error["details"]["fields"]
    assert documents_used(services, "alice") == 0


def test_eleven_megabytes_is_refused(client: Any, services: Any, alice: str) -> None:
    big = b"\xff\xd8\xff" + b"\0" * (11 * 1024 * 1024)

    error = client.error(
        "assistenteHttp",
        {"intent": "processarDocumento", "payload": {"file": b64(big)}},
        alice,
    )

    assert error["status"] == "INVALID_ARGUMENT"
    assert "10 MB" in error["message"]


def test_no_ocr_engine_is_unavailable_and_not_charged(
    client: Any, services: Any, alice: str
) -> None:
    services.settings = dataclasses.replace(
        services.settings,
        ocr_engine="tesseract",
        tesseract_cmd="/nonexistent/tesseract",
    )
    image = render("r11_rj_cupom_de_venda_ocr_letters_in_cnpj")

    error = client.error(
        "assistenteHttp",
        {"intent": "processarDocumento", "payload": {"file": b64(image)}},
        alice,
    )

    assert error["status"] == "UNAVAILABLE"
    assert "OCR" in error["message"]
    assert documents_used(services, "alice") == 0


def test_document_limit_is_enforced(
    client: Any, services: Any, alice: str, tesseract: None
) -> None:
    month = month_key(services.clock(), services.settings.timezone)
    services.store.set(
        "users/alice", {"plan": "free", "usage": {month: {"documents": 20}}}
    )
    image = render("r11_rj_cupom_de_venda_ocr_letters_in_cnpj")

    error = client.error(
        "assistenteHttp",
        {"intent": "processarDocumento", "payload": {"file": b64(image)}},
        alice,
    )

    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["details"]["limit"] == 20


def test_needs_a_signed_in_user(client: Any) -> None:
    error = client.error(
        "assistenteHttp",
        {"intent": "processarDocumento", "payload": {"file": "AAAA"}},
    )
    assert error["status"] == "UNAUTHENTICATED"

"""The `processarDocumento` intent: a receipt photo or PDF in, its figures out.

Decode and check the upload, read its text (OCR), parse the receipt, count
the document against the plan, and reply with the extracted fields and an
expense the app can confirm with `registrarDespesa`. The plan is charged only
after the text was read, so an OCR outage never spends the user's quota.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from functions import ocr, receipts, uploads
from functions.auth import Caller
from functions.errors import InvalidArgument, LimitReached
from functions.plans import PLANS, Usage, month_key, plan_of, used
from functions.services import Services
from functions.users import charge_usage, profile_path
from functions.validation import Payload
from functions.wire import jsonable, reais

__all__ = ["guess_expense_type", "process_document"]

_log = logging.getLogger("functions.assistant.documents")

MAX_TEXT_CHARS = 20_000

# Expense types the app offers, guessed from what was bought and where.
_TYPE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "embalagens",
        re.compile(r"EMBALAG|CAIXA|SACOLA|FORMINHA|DESCART|COLHER|BOLSA|PAPEL"),
    ),
    ("combustivel", re.compile(r"POSTO|COMBUST|GASOLINA|ETANOL|DIESEL")),
    ("alimentacao", re.compile(r"RESTAUR|CHURRASC|RODIZ|LANCHONETE|PIZZAR")),
    (
        "ingredientes",
        re.compile(
            r"MERCADO|ATACAD|HORTI|FRUT|PADARIA|ACOUGUE|LEITE|LACT|FARINHA|ACUCAR"
            r"|CHOCOLATE|DOCES|OVO|MANTEIGA|CREME|LEIT\b|COND"
        ),
    ),
    ("equipamentos", re.compile(r"ESPORTE|ELETRO|UTILIDADE|FERRAMENT|BATEDEIRA")),
    ("livros e cursos", re.compile(r"LIVRO|EDITORA|CURSO")),
)


def process_document(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Read a receipt (base64 JPEG, PNG or PDF in `file`); its figures and an
    expense proposal. InvalidArgument for bad files, Unavailable when no OCR
    engine answers, LimitReached when the month's documents are spent."""
    uid = caller.require_user()
    payload = Payload(data)
    unknown = set(payload.raw) - {"file", "mimeType", "fileName", "requestId"}
    for key in sorted(unknown):
        payload.errors[key] = "campo desconhecido"
    payload.done("Não foi possível ler o documento: verifique os campos.")
    _check_quota(services, uid)

    upload = uploads.read_upload(
        payload.raw.get("file"),
        payload.raw.get("mimeType"),
        services.settings.max_document_bytes,
    )
    result = ocr.read_document(upload, services.settings)
    if sum(c.isalnum() for c in result.text) < 10:
        raise InvalidArgument(
            "Não encontramos texto no documento. Fotografe o cupom inteiro, "
            "de perto e com boa iluminação.",
            {"file": "nenhum texto legível"},
        )
    today = services.clock().astimezone(ZoneInfo(services.settings.timezone)).date()
    receipt = receipts.parse_receipt(result.text, today)

    charge_usage(services, caller, Usage.DOCUMENTS)
    _log.info(
        "receipt parsed",
        extra={
            "event": "document_processed",
            "user_id": uid,
            "engine": result.engine,
            "document": receipt.document,
            "found_total": receipt.total is not None,
            "found_cnpj": receipt.cnpj is not None,
            "found_key": receipt.access_key is not None,
            "alerts": sorted(receipt.codes),
        },
    )
    extracted = _extracted(receipt, result)
    message = (
        "Documento lido. Confira os dados antes de registrar a despesa."
        if receipt.needs_review
        else "Documento lido com sucesso."
    )
    return {"message": message, "extractedData": extracted}


def _check_quota(services: Services, uid: str) -> None:
    # A cheap early refusal: a user at the limit should not wait for OCR.
    # The binding check is the transactional charge after the read.
    profile = services.store.get(profile_path(uid))
    month = month_key(services.clock(), services.settings.timezone)
    plan = plan_of(profile)
    limit = PLANS[plan][Usage.DOCUMENTS]
    count = used(profile, month, Usage.DOCUMENTS)
    if count >= limit:
        raise LimitReached(
            f"Você atingiu o limite de {limit} documentos por mês "
            f"do plano {plan.value}.",
            {"plan": plan.value, "kind": "documents", "limit": limit, "usage": count},
        )


def guess_expense_type(receipt: receipts.Receipt) -> str:
    """The expense type most likely for the receipt; `outros` when unsure."""
    words = " ".join(
        [receipt.supplier or "", *(item.description or "" for item in receipt.items)]
    ).upper()
    for name, pattern in _TYPE_RULES:
        if pattern.search(words):
            return name
    return "outros"


def _extracted(receipt: receipts.Receipt, result: ocr.OcrResult) -> dict[str, Any]:
    issued = receipt.issued
    day = issued.date() if isinstance(issued, datetime) else issued
    key = receipt.access_key
    return jsonable(
        {
            "valor": reais(receipt.total),
            "fornecedor": receipt.supplier,
            "cnpj": receipt.cnpj,
            "data": day,
            "dataHora": issued if isinstance(issued, datetime) else None,
            "itens": [
                {
                    "descricao": item.description,
                    "quantidade": item.quantity,
                    "unidade": item.unit,
                    "valorUnitario": reais(item.unit_price),
                    "valorTotal": reais(item.total),
                }
                for item in receipt.items
            ],
            "chaveAcesso": key.digits if key else None,
            "formaPagamento": receipt.payment,
            "tipoDocumento": receipt.document,
            "qrCode": None
            if receipt.qr is None
            else {
                "versao": receipt.qr.version,
                "ambienteTeste": receipt.qr.test_environment,
            },
            "alertas": [
                {"codigo": a.code, "mensagem": a.message} for a in receipt.alerts
            ],
            "precisaRevisao": receipt.needs_review,
            "motorOcr": result.engine,
            "textoCompleto": result.text[:MAX_TEXT_CHARS],
            "despesaSugerida": _proposal(receipt, day),
        }
    )


def _proposal(receipt: receipts.Receipt, day: date | None) -> dict[str, Any] | None:
    """A `registrarDespesa` payload for the receipt; None for test documents."""
    if receipt.test_environment:
        return None
    key = receipt.access_key
    description = "Compra lida de comprovante"
    if key is not None:
        # NF-e/NFC-e keys hold the note number at 25..34; SAT keys the
        # extract number at 31..37.
        number = key.digits[31:37] if key.model == "59" else key.digits[25:34]
        description = f"{key.model_name} nº {number.lstrip('0') or '0'}"
    return {
        "data": day,
        "tipo": guess_expense_type(receipt),
        "valor": reais(receipt.total),
        "fornecedor": receipt.supplier or receipt.cnpj,
        "descricao": description,
        # The same receipt confirmed twice books one expense.
        "requestId": f"doc-{key.digits}" if key else None,
    }

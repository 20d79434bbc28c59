"""Reading Brazilian purchase receipts from OCR text: a pure parser.

`parse_receipt` turns the text of an NFC-e, a SAT extract, an old ECF cupom
fiscal, a sales slip or a card slip into figures: total, supplier, CNPJ, issue
date, items, payment method, access key and QR code data, plus alerts for a
person to review. OCR text is evidence, not a form: a field that cannot be
trusted is `None`, never a guess.

How the total is chosen. OCR reads columns out of order, so labels and their
values are often far apart. Every amount in the text collects evidence: a
total label on its line or right above it (`VALOR A PAGAR`, `VALOR TOTAL`,
`TOTAL R$`), a payment label (`VALOR PAGO`, `DINHEIRO`, a card line), a
repetition (the total is printed again as the amount paid), arithmetic (the
items add up to it, or it is a gross amount less a printed discount); labels
of other sums (gross, discounts, taxes, change, savings) count against it.
The amount with the most evidence wins when it has more than repetition
behind it.

Money, quantity and date readers come from `functions.parsing`; CNPJ, key and
QR code rules from `functions.nfe`.

# Limitation: items are read from `quantity UNIT X price` lines (also split
# over two lines) and the NFC-e consulta layout (`Qtde.: ... Vl. Unit.:`);
# tables whose columns OCR read one cell per line (r11, r13) give no items.
# Limitation: access keys are read as 44 digits; keys that embed an
# alphanumeric CNPJ (from July 2026) are not recognised yet, although
# alphanumeric CNPJs printed on their own are.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from functions import nfe
from functions.parsing import (
    find_receipt_datetime,
    parse_money_text,
    parse_quantity,
    parse_quantity_price,
)

__all__ = ["Alert", "Item", "Receipt", "parse_receipt"]


@dataclass(frozen=True)
class Item:
    """One purchased item as printed; amounts in centavos."""

    description: str | None
    quantity: float
    unit: str
    unit_price: int
    total: int


@dataclass(frozen=True)
class Alert:
    """Something a person should check before booking the receipt."""

    code: str
    message: str


@dataclass(frozen=True)
class Receipt:
    """What a receipt's text states; `None` where it could not be trusted."""

    total: int | None
    """Amount paid for the purchase, in centavos."""
    supplier: str | None
    """The issuer's name (razão social) as printed."""
    cnpj: str | None
    """The issuer's CNPJ, formatted `12.345.678/0001-95`, check digits valid."""
    issued: datetime | date | None
    """Issue date, with the time when one was printed."""
    items: tuple[Item, ...]
    payment: str | None
    """`cartao_credito`, `cartao_debito`, `dinheiro`, `pix` or `vale`."""
    access_key: nfe.AccessKey | None
    qr: nfe.QrCode | None
    document: str
    """`nfce`, `nfe`, `sat`, `ecf`, `nao_fiscal` or `desconhecido`."""
    alerts: tuple[Alert, ...] = field(default=())

    @property
    def codes(self) -> set[str]:
        """The codes of the alerts, for quick checks."""
        return {alert.code for alert in self.alerts}

    @property
    def test_environment(self) -> bool:
        """A homologation document: never to be booked as a real expense."""
        return self.qr is not None and self.qr.test_environment

    @property
    def needs_review(self) -> bool:
        """True when a field is missing or something looked wrong."""
        missing = None in (self.total, self.supplier, self.issued)
        return missing or bool(self.alerts)


def parse_receipt(text: str, today: date | None = None) -> Receipt:
    """Read the figures of a receipt from its OCR text; never raises.

    `today` (in the app's time zone) makes an issue date after it untrusted:
    a receipt cannot be issued in the future, so its date was misread.
    """
    # Blank lines carry nothing and OCR engines scatter them between lines.
    lines = [clean for line in text.splitlines() if (clean := _clean_line(line))]
    folded = [_fold(line) for line in lines]
    alerts: list[Alert] = []

    key, key_alerts = _find_access_key(text)
    alerts += key_alerts
    qr = _find_qr(text, alerts)
    if key is None and qr is not None and qr.key is not None:
        key = qr.key
    if key is not None and key.contingency:
        alerts.append(
            Alert(
                "contingencia", "Nota emitida em contingência: confira a autorização."
            )
        )

    document = _document_kind(key, folded)
    items = _find_items(lines, folded)
    total = _find_total(lines, folded, items, alerts)
    if total is None and qr is not None and qr.total is not None:
        total = qr.total
    card_slip = document == "nao_fiscal" and _is_card_slip(folded)
    if document == "nao_fiscal":
        alerts.append(
            Alert(
                "nao_fiscal",
                "Documento não fiscal: confira os dados na nota fiscal da compra.",
            )
        )
    # A card slip names the merchant as registered with the card company, not
    # the issuer of a fiscal document: its CNPJ is not booked as the supplier.
    cnpj = None if card_slip else _find_cnpj(lines, folded, key, alerts)
    supplier = _find_supplier(lines, folded)
    issued = _find_date(lines, folded, key, qr, today, alerts)
    if qr is not None and qr.test_environment:
        alerts.append(
            Alert(
                "ambiente_teste",
                "QR code de ambiente de testes (tpAmb=2): "
                "não é uma compra real e não deve virar despesa.",
            )
        )
    return Receipt(
        total=total,
        supplier=supplier,
        cnpj=nfe.format_cnpj(cnpj) if cnpj else None,
        issued=issued,
        items=tuple(items),
        payment=_find_payment(folded),
        access_key=key,
        qr=qr,
        document=document,
        alerts=tuple(alerts),
    )


# --- text helpers ------------------------------------------------------------


def _clean_line(line: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", line).split())


def _fold(line: str) -> str:
    """Upper case without accents, for matching labels OCR may have damaged."""
    decomposed = unicodedata.normalize("NFKD", line.upper())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# A money-looking span: optional sign, optional currency mark (OCR reads `R$`
# as `RS` or `R4`), then digits with separators. Each span is read by
# `parse_money_text`, which decides whether it is money at all.
_MONEY_SPAN = re.compile(
    r"(?<![0-9A-Za-z.,])(?:-\s*)?(?:(?<![A-Za-z])R\s?[$S4]\s*)?(?:-\s*)?"
    r"[0-9][0-9.,]*[0-9]"
)
_GROUPED_DOT_DECIMAL = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+\.[0-9]{2}$")


@dataclass(frozen=True)
class _Amount:
    value: int
    raw: str
    end: int


def _amounts(line: str, start: int = 0) -> list[_Amount]:
    """Money amounts on `line` from `start`, skipping rates and tax columns."""
    found = []
    for match in _MONEY_SPAN.finditer(line, start):
        after = line[match.end() : match.end() + 1]
        before = line[match.start() - 1 : match.start()] if match.start() else ""
        # `T17,00%` is a tax rate; `(3,16)` is the per-item tax column.
        if after == "%" or before == "(":
            continue
        value = parse_money_text(match.group())
        if value is not None:
            found.append(_Amount(value, match.group(), match.end()))
    return found


def _only_amounts(line: str) -> bool:
    """True when the line holds amounts and nothing else but currency marks."""
    rest = _MONEY_SPAN.sub("", line)
    return bool(_amounts(line)) and not re.sub(r"R\s?[$S4]|[¢:\s]", "", rest)


def _currency_only(line: str) -> bool:
    return re.fullmatch(r"R\s?[$S4]:?", line) is not None


# --- total ---------------------------------------------------------------------

_TOTAL_LABEL = re.compile(
    r"VALOR\s*A\s*PAGA|VALOR\s*TOTAL|TOTAL\s*A\s*PAGAR|^TOTAL\b(?!\s*(DE|BRUTO))"
)
_PAID_LABEL = re.compile(
    r"VALOR\s*PAGO|^VALOR\s*:|^DINHE|^CART\w*\s*(DE\s*)?(CREDITO|DEBITO)"
    r"|^(CREDITO|DEBITO)\b|^PIX\b"
)
_OTHER_SUM_LABEL = re.compile(
    r"BRUTO|DESCONT|ACRESC|TRIBUT|TROCO|ECONOMIZ|ITENS|\bITEM\b|APROX|IMPOST"
    r"|ICMS|\bLEI\b|SUBTOTAL|^V[LI1]\.?\s*(TOTAL|UNIT)"
)
_W_TOTAL, _W_PAID, _W_OTHER, _W_RELATION = 4, 3, -4, 3


def _find_total(
    lines: list[str], folded: list[str], items: list[Item], alerts: list[Alert]
) -> int | None:
    score: dict[int, int] = defaultdict(int)
    seen: dict[int, int] = defaultdict(int)
    raws: dict[int, list[str]] = defaultdict(list)
    discounts: set[int] = set()

    for index, line in enumerate(lines):
        for amount in _amounts(line):
            if amount.value < 0:
                discounts.add(-amount.value)
            elif amount.value > 0:
                seen[amount.value] += 1
                raws[amount.value].append(amount.raw)
        label = folded[index]
        if _OTHER_SUM_LABEL.search(label):
            weight = _W_OTHER
        elif _TOTAL_LABEL.search(label):
            weight = _W_TOTAL
        elif _PAID_LABEL.search(label):
            weight = _W_PAID
        else:
            _near_card_value(lines, folded, index, score)
            continue
        value = _labelled_value(lines, index)
        if value is not None and value > 0:
            score[value] += weight

    for value, count in seen.items():
        # The total is printed again as the amount paid (and in card slips a
        # third time); more repetitions are item prices, not evidence.
        score[value] += min(count, 3)
    _relations(score, seen, items, discounts)

    ranked = sorted(seen, key=lambda v: (score[v], v), reverse=True)
    strong = [v for v in ranked if score[v] > 2]
    if not strong:
        alerts.append(Alert("valor_nao_encontrado", "Valor total não encontrado."))
        return None
    best = strong[0]
    runner = score[ranked[1]] if len(ranked) > 1 else 0
    if any(_GROUPED_DOT_DECIMAL.search(raw) for raw in raws[best]):
        alerts.append(
            Alert(
                "valor_ambiguo",
                f"Valor impresso como {raws[best][0]}: "
                "confira se o total está correto.",
            )
        )
    elif score[best] - runner < 2:
        alerts.append(Alert("valor_incerto", "Confira o valor total lido."))
    return best


def _labelled_value(lines: list[str], index: int) -> int | None:
    """The amount printed after a label: on its line, or alone on the next one."""
    same = _amounts(lines[index])
    if same:
        return same[-1].value
    for following in lines[index + 1 : index + 4]:
        if not following or _currency_only(following):
            continue
        if _only_amounts(following):
            return _amounts(following)[0].value
        return None
    return None


def _near_card_value(
    lines: list[str], folded: list[str], index: int, score: dict[int, int]
) -> None:
    # Card slips print `R$` then the amount then `VALOR`, one per line.
    if not _only_amounts(lines[index]):
        return
    value = _amounts(lines[index])[0].value
    previous = lines[index - 1] if index else ""
    following = folded[index + 1] if index + 1 < len(folded) else ""
    if _currency_only(previous):
        score[value] += 1
    if following.strip(" :") == "VALOR":
        score[value] += 2


def _relations(
    score: dict[int, int],
    seen: dict[int, int],
    items: list[Item],
    discounts: set[int],
) -> None:
    """Evidence from arithmetic: items add up to it, or gross less a discount."""
    items_sum = sum(item.total for item in items) if items else None
    for value in seen:
        if items_sum is not None and not discounts and value == items_sum:
            score[value] += _W_RELATION
        for discount in discounts:
            gross_printed = seen.get(value + discount, 0) > 0
            gross_items = items_sum is not None and value + discount == items_sum
            if gross_printed or gross_items:
                score[value] += _W_RELATION
                break


# --- items ---------------------------------------------------------------------

_PRICE_AFTER_X = re.compile(
    r"[xX×*]\s*[0-9]{1,3}(?:\.[0-9]{3})*,[0-9]{2,3}(?![0-9])|[xX×*]\s*[0-9]+\.[0-9]{2,3}(?![0-9])"
)
_QTDE_LINE = re.compile(
    r"QTDE?\.?:\s*(?P<q>[0-9]+(?:[.,][0-9]+)?)\s*UN:\s*(?P<u>[A-Z]{1,4})\s*"
    r"V[LI1]\.?\s*UNIT\.?:\s*(?P<p>[0-9.]*[0-9],[0-9]{2})"
)
# Leading product codes and barcodes (`07898215152460`, `1003109#1700700#1`).
_CODE_TOKEN = re.compile(r"^(?:[0-9]{4,}|\S*#\S*|[0-9]+[A-Z]*[0-9]+[A-Z]+)$")
_NOT_DESCRIPTION = re.compile(
    r"COD|DESCRI|QTD|VL\b|V[LI]\.|UNIT|ITEM|R\$|TOTAL|CPF|CNPJ|^#$|CUPOM|EXTRATO"
)


def _find_items(lines: list[str], folded: list[str]) -> list[Item]:
    items: list[Item] = []
    for index in range(len(lines)):
        if match := _QTDE_LINE.search(folded[index]):
            quantity = parse_quantity(match["q"]) or 0.0
            price = parse_money_text(match["p"]) or 0
            description = _description_near(lines, folded, index, "")
            unit = match["u"].lower()
            items.append(
                Item(description, quantity, unit, price, round(quantity * price))
            )
            continue
        joined = _join_split_item(lines, index)
        if joined is None:
            continue
        parsed = parse_quantity_price(joined)
        if parsed is None:
            continue
        quantity, unit, price = parsed
        x_at = _PRICE_AFTER_X.search(joined)
        assert x_at is not None
        later = [a.value for a in _amounts(joined, x_at.end()) if a.value > 0]
        expected = round(quantity * price)
        # A printed line total is trusted when it agrees with quantity x price
        # (to a centavo of rounding); otherwise the product is used.
        total = next((v for v in later if abs(v - expected) <= 1), expected)
        head = joined[: _quantity_start(joined, x_at.start())]
        items.append(
            Item(
                _description_near(lines, folded, index, head),
                quantity,
                unit,
                price,
                total,
            )
        )
    return items


def _join_split_item(lines: list[str], index: int) -> str | None:
    """The item line with its price, when OCR put the price on a later line."""
    line = lines[index]
    if _PRICE_AFTER_X.search(line):
        return line
    if not re.search(r"[0-9]\s*(?:[A-Z]{1,4})?\s*[xX×*]$", line):
        return None
    pieces = [line]
    for following in lines[index + 1 : index + 4]:
        if re.fullmatch(r"[0-9]{3}", following):  # an item number column
            continue
        pieces.append(following)
        candidate = " ".join(pieces)
        if _PRICE_AFTER_X.search(candidate):
            return candidate
        break
    return None


def _quantity_start(text: str, x_position: int) -> int:
    """Where the quantity before the `X` at `x_position` begins."""
    match = re.search(r"[0-9]+(?:[.,][0-9]+)?\s*[A-Z]{0,4}\s*$", text[:x_position])
    return match.start() if match else x_position


def _description_near(
    lines: list[str], folded: list[str], index: int, head: str
) -> str | None:
    """The item's description: the words before its quantity, else a neighbour."""
    text = _strip_codes(head)
    if _looks_like_description(text):
        return text
    for neighbour in (index - 1, index + 1):
        if 0 <= neighbour < len(lines):
            candidate = _strip_codes(lines[neighbour])
            if _looks_like_description(candidate) and not _NOT_DESCRIPTION.search(
                _fold(candidate)
            ):
                return candidate
    return None


def _strip_codes(text: str) -> str:
    """`text` without leading product codes and a trailing `(Código: 123)`."""
    text = re.sub(r"\s*\([^()]*:\s*[0-9]+\)?\s*$", "", text)
    words = text.split()
    while words and _CODE_TOKEN.match(words[0].upper()):
        words.pop(0)
    return " ".join(words)


def _looks_like_description(text: str) -> bool:
    return sum(c.isalpha() for c in text) >= 3 and not _amounts(text)


# --- access key, QR code, document kind ---------------------------------------


def _find_access_key(text: str) -> tuple[nfe.AccessKey | None, list[Alert]]:
    """The first valid 44-digit key; an alert when a printed key fails."""
    groups = list(re.finditer(r"[0-9]+", text))
    runs: list[list[re.Match[str]]] = []
    for group in groups:
        gap = text[runs[-1][-1].end() : group.start()] if runs else None
        if gap is not None and re.fullmatch(r"[\s.\-]{1,3}", gap):
            runs[-1].append(group)
        else:
            runs.append([group])
    invalid = False
    for run in runs:
        sizes = [len(g.group()) for g in run]
        if sum(sizes) < 44:
            continue
        for first in range(len(run)):
            total = 0
            for last in range(first, len(run)):
                total += sizes[last]
                if total >= 44:
                    break
            if total != 44:
                continue
            digits = "".join(g.group() for g in run[first : last + 1])
            key = nfe.parse_access_key(digits)
            if key is not None:
                return key, []
            # Only a key-shaped run (11 groups of 4, or 44 digits in one) is
            # worth an alert; other long runs are barcodes and counters.
            chunk = sizes[first : last + 1]
            invalid = invalid or chunk == [4] * 11 or chunk == [44]
    if invalid:
        return None, [
            Alert(
                "chave_invalida",
                "Chave de acesso impressa com dígito verificador inválido: ignorada.",
            )
        ]
    return None, []


def _find_qr(text: str, alerts: list[Alert]) -> nfe.QrCode | None:
    for url in re.findall(r"https?://\S+", text):
        qr = nfe.parse_qr_url(url)
        if qr is None:
            continue  # a URL without QR parameters says nothing we can use
        if qr.key is None:
            alerts.append(
                Alert("qr_invalido", "QR code com chave de acesso inválida: ignorado.")
            )
            continue
        return qr
    return None


def _document_kind(key: nfe.AccessKey | None, folded: list[str]) -> str:
    if key is not None:
        return {"55": "nfe", "65": "nfce", "59": "sat"}[key.model]
    text = "\n".join(folded)
    if re.search(r"NAO\s*FISCAL|CUPOM\s*DE\s*VENDA|NAO\s*E\s*DOCUMENTO\s*FISCA", text):
        return "nao_fiscal"
    if re.search(r"NFC-?E|CONSUMIDOR\s*ELETR", text):
        return "nfce"
    if "SAT" in re.findall(r"\bSAT\b", text):
        return "sat"
    if "CUPOM FISCAL" in text:
        return "ecf"
    return "desconhecido"


def _is_card_slip(folded: list[str]) -> bool:
    text = "\n".join(folded)
    return bool(
        re.search(r"COMPROVANTE", text)
        and re.search(r"CREDITO|DEBITO|REDE|GETNET|CIELO|STONE|SITEF", text)
    )


# --- CNPJ ----------------------------------------------------------------------

_OCR_DIGITS = str.maketrans("ODQILZSBG", "001112586")


def _find_cnpj(
    lines: list[str],
    folded: list[str],
    key: nfe.AccessKey | None,
    alerts: list[Alert],
) -> str | None:
    printed, printed_bad = _printed_cnpj(lines, folded)
    if key is not None:
        if printed_bad or (printed and printed != key.cnpj):
            alerts.append(
                Alert(
                    "cnpj_da_chave",
                    "CNPJ impresso não confere; usado o CNPJ da chave de acesso.",
                )
            )
        return key.cnpj
    if printed is None and printed_bad:
        alerts.append(
            Alert("cnpj_invalido", "CNPJ impresso com dígitos verificadores inválidos.")
        )
    return printed


def _printed_cnpj(lines: list[str], folded: list[str]) -> tuple[str | None, bool]:
    """The issuer's printed CNPJ when valid, and whether an invalid one was seen.

    Consumer CNPJs (`CPF/CNPJ do Consumidor`) are skipped, and so are masked
    ones. OCR letters (`DD01`) are read as digits only if the result is valid.
    """
    bad = False
    for index, label in enumerate(folded):
        at = label.find("CNPJ")
        if at < 0 or "CONSUMIDOR" in label:
            continue
        if index and "CONSUMIDOR" in folded[index - 1]:
            continue
        window = " ".join([label[at + 4 :], *folded[index + 1 : index + 3]])
        match = re.search(r"[0-9A-Z][0-9A-Z.,/\-\s]{12,30}", window)
        if match is None:
            continue
        chars = re.sub(r"[^0-9A-Z]", "", match.group())[:14]
        if len(chars) < 14 or "X" in chars[:8]:
            continue
        for attempt in (chars, chars.translate(_OCR_DIGITS)):
            if nfe.cnpj_valid(attempt):
                return attempt, bad
        bad = True
    return None, bad


# --- supplier ------------------------------------------------------------------

_COMPANY_SUFFIX = re.compile(r"\b(LTDA|S\.?/?A\.?|EIRELI|EPP|ME|COMERCIO)\b")
_NOT_NAME = re.compile(
    r"CNPJ|CPF|\bI\.?E\b|INSC|CEP|ENDERE|^RUA\b|^R\.? |^AV\b|AVENIDA|RODOVIA|BAIRRO"
    r"|EXTRATO|CUPOM|DOCUMENTO|NFC|\bSAT\b|SECRETARIA|FAZENDA|ABOUT:|HTTP|CONSUMIDOR"
    r"|RAZAO|QUADRA|LOTE|CODI|DESCR|XXX|JPG|^NOTA|FISCAL"
)
_DOC_WORDS = re.compile(r"^(NFC-?E|NF-?E|CUPOM|SAT)\b")
_HEADER_LINES = 10


def _find_supplier(lines: list[str], folded: list[str]) -> str | None:
    """The issuer's name from the header; None when the header is missing."""
    header = [
        (line, label)
        for line, label in zip(
            lines[:_HEADER_LINES], folded[:_HEADER_LINES], strict=True
        )
        if line
    ]
    names = [(line, label) for line, label in header if _is_name(line, label)]
    for line, label in names:
        suffix = _COMPANY_SUFFIX.search(label)
        if suffix and not _DOC_WORDS.match(label):
            return line
    has_cnpj_header = any("CNPJ" in label for _, label in header)
    # Without a CNPJ near the top the header was lost (a photo of the middle
    # of a receipt): any line there would be a guess.
    if has_cnpj_header:
        for line, label in names:
            if not _DOC_WORDS.match(label):
                return line
    return None


def _is_name(line: str, label: str) -> bool:
    letters = sum(c.isalpha() for c in line)
    digits = sum(c.isdigit() for c in line)
    return letters >= 4 and digits <= 2 and not _NOT_NAME.search(label)


# --- date ----------------------------------------------------------------------

_PRINT_HEADER = re.compile(r"^[0-9]{2}/[0-9]{2}/[0-9]{4},\s*[0-9]{1,2}:[0-9]{2}$")
_ISSUE_LABEL = re.compile(r"EMISS|DT\.?\s*EMI|DATA\s*(DE\s*)?EMI")


def _find_date(
    lines: list[str],
    folded: list[str],
    key: nfe.AccessKey | None,
    qr: nfe.QrCode | None,
    today: date | None,
    alerts: list[Alert],
) -> datetime | date | None:
    # A browser's print header (`17/03/2025, 10:31`) is when the page was
    # printed, not when the purchase happened.
    body = [
        line
        for index, line in enumerate(lines)
        if not (index < 2 and _PRINT_HEADER.match(line))
    ]
    found: datetime | date | None = None
    for line, label in zip(lines, folded, strict=True):
        if _ISSUE_LABEL.search(label) and (found := find_receipt_datetime(line)):
            break
    if found is None:
        found = find_receipt_datetime("\n".join(body))
    if found is None and qr is not None:
        found = qr.issued
    if found is None:
        return None

    day = found.date() if isinstance(found, datetime) else found
    if key is not None and nfe.year_month_of(day) != key.year_month:
        alerts.append(
            Alert(
                "data_divergente_chave",
                f"Data impressa ({day.strftime('%d/%m/%Y')}) não confere com o mês "
                f"da chave de acesso ({key.year_month[5:]}/{key.year_month[:4]}): "
                "informe a data da compra.",
            )
        )
        return None
    if today is not None and day > today:
        alerts.append(
            Alert(
                "data_futura",
                f"Data impressa ({day.strftime('%d/%m/%Y')}) está no futuro: "
                "informe a data da compra.",
            )
        )
        return None
    return found


# --- payment -------------------------------------------------------------------

_PAYMENTS = (
    ("pix", re.compile(r"\bPIX\b")),
    ("cartao_credito", re.compile(r"CART\w*\s*(DE\s*)?CREDITO|^CREDITO\b")),
    ("cartao_debito", re.compile(r"CART\w*\s*(DE\s*)?DEBITO|^DEBITO\b")),
    ("dinheiro", re.compile(r"\bDINHE")),
    ("vale", re.compile(r"VALE\s*(REFEICAO|ALIMENTACAO)|\bTICKET\b")),
)


def _find_payment(folded: list[str]) -> str | None:
    for name, pattern in _PAYMENTS:
        if any(pattern.search(label) for label in folded):
            return name
    return None

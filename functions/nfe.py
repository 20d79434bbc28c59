"""Brazilian fiscal identifiers: CNPJ, the 44-digit access key, NFC-e QR URLs.

Pure functions over strings (stdlib only). Everything here validates; nothing
repairs: a CNPJ or key whose check digits fail is rejected, never completed by
guessing digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "AccessKey",
    "QrCode",
    "cnpj_valid",
    "format_cnpj",
    "parse_access_key",
    "parse_qr_url",
    "year_month_of",
]

_CNPJ_BODY = re.compile(r"[0-9A-Z]{12}[0-9]{2}")
_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9)
# IBGE codes of the 27 federative units, the first two digits of a key.
_UF_CODES = {
    11, 12, 13, 14, 15, 16, 17, 21, 22, 23, 24, 25, 26, 27, 28, 29,
    31, 32, 33, 35, 41, 42, 43, 50, 51, 52, 53,
}  # fmt: skip
_MODELS = {"55": "NF-e", "65": "NFC-e", "59": "CF-e SAT"}


def _mod11(chars: str) -> int:
    """The mod-11 check digit used by CNPJs and access keys.

    Characters weigh their code minus 48, so digits weigh themselves and the
    letters of alphanumeric CNPJs (from July 2026) weigh 17 (A) and up.
    """
    total = sum(
        (ord(char) - 48) * _WEIGHTS[index % 8]
        for index, char in enumerate(reversed(chars))
    )
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def cnpj_valid(value: str) -> bool:
    """True when `value` (14 characters, punctuation removed) is a valid CNPJ.

    Accepts numeric CNPJs and the alphanumeric ones (letters in the first
    twelve positions); rejects a run of one repeated digit.
    """
    cnpj = value.upper()
    if not _CNPJ_BODY.fullmatch(cnpj) or len(set(cnpj)) == 1:
        return False
    first = _mod11(cnpj[:12])
    second = _mod11(cnpj[:12] + str(first))
    return cnpj[12:] == f"{first}{second}"


def format_cnpj(value: str) -> str:
    """`12345678000195` as `12.345.678/0001-95`."""
    v = value.upper()
    return f"{v[:2]}.{v[2:5]}.{v[5:8]}/{v[8:12]}-{v[12:]}"


@dataclass(frozen=True)
class AccessKey:
    """A 44-digit access key (chave de acesso) whose check digit holds."""

    digits: str
    uf: int
    year_month: str
    """`YYYY-MM` of emission, from the key's `AAMM`."""
    cnpj: str
    """The issuer's CNPJ (14 characters), valid."""
    model: str
    """`55` NF-e, `65` NFC-e, `59` CF-e SAT."""
    contingency: bool
    """Emitted in contingency (emission type other than 1); NF-e/NFC-e only."""

    @property
    def model_name(self) -> str:
        return _MODELS.get(self.model, self.model)


def parse_access_key(text: str) -> AccessKey | None:
    """The access key in `text` (spaces, dots and dashes ignored), or None.

    None unless there are exactly 44 digits, the mod-11 check digit holds, the
    state code is a real one, the month is 01 to 12, the model is 55, 65 or 59
    and the embedded CNPJ is valid.
    """
    digits = re.sub(r"[\s.\-]", "", text)
    if not re.fullmatch(r"[0-9]{44}", digits):
        return None
    if _mod11(digits[:43]) != int(digits[43]):
        return None
    uf, month, model = int(digits[:2]), int(digits[4:6]), digits[20:22]
    cnpj = digits[6:20]
    if uf not in _UF_CODES or not 1 <= month <= 12 or model not in _MODELS:
        return None
    if not cnpj_valid(cnpj):
        return None
    # SAT keys have no emission-type field; in NF-e/NFC-e it is digit 35.
    contingency = model != "59" and digits[34] != "1"
    return AccessKey(
        digits=digits,
        uf=uf,
        year_month=f"20{digits[2:4]}-{digits[4:6]}",
        cnpj=cnpj,
        model=model,
        contingency=contingency,
    )


@dataclass(frozen=True)
class QrCode:
    """What an NFC-e QR code URL states. Read only; never fetched."""

    url: str
    version: int
    key: AccessKey | None
    """The key in the URL when its check digit holds."""
    test_environment: bool
    """`tpAmb=2`: a homologation (test) document, never a real expense."""
    issued: datetime | None
    """v1 `dhEmi` (hex-encoded ISO text), when present and readable."""
    total: int | None
    """v1 `vNF` in centavos, when present."""


def parse_qr_url(url: str) -> QrCode | None:
    """Read an NFC-e QR code URL, v1 (named parameters) or v2 (`p=` pipes).

    Returns None when the URL has neither form. The key inside is validated;
    an invalid one gives `key=None`, never a repaired key.
    """
    parts = urlsplit(url.strip())
    query = parse_qs(parts.query, keep_blank_values=True)
    if "chNFe" in query:
        return _qr_v1(url, {k: v[0] for k, v in query.items()})
    if "p" in query:
        # parse_qs already decoded %7C; unquote again for doubly encoded URLs.
        return _qr_v2(url, unquote(query["p"][0]))
    return None


def _qr_v1(url: str, fields: dict[str, str]) -> QrCode:
    issued = None
    try:
        text = bytes.fromhex(fields.get("dhEmi", "")).decode("ascii")
        issued = datetime.fromisoformat(text) if text else None
    except ValueError:
        issued = None
    total = None
    if re.fullmatch(r"[0-9]{1,10}(\.[0-9]{1,2})?", fields.get("vNF", "")):
        whole, _, cents = fields["vNF"].partition(".")
        total = int(whole) * 100 + int((cents or "0").ljust(2, "0"))
    return QrCode(
        url=url,
        version=int(fields["nVersao"]) if fields.get("nVersao", "").isdigit() else 1,
        key=parse_access_key(fields["chNFe"]),
        test_environment=fields.get("tpAmb") == "2",
        issued=issued,
        total=total,
    )


def _qr_v2(url: str, value: str) -> QrCode:
    # Online: key|version|environment|token id|hash. Offline (contingency)
    # adds the day, the value and the digest before the token id.
    fields = value.split("|")
    version = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 2
    return QrCode(
        url=url,
        version=version,
        key=parse_access_key(fields[0]),
        test_environment=len(fields) > 2 and fields[2] == "2",
        issued=None,
        total=None,
    )


def year_month_of(day: date) -> str:
    """`YYYY-MM` of `day`, comparable with `AccessKey.year_month`."""
    return f"{day.year:04d}-{day.month:02d}"

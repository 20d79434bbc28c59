"""Readers for the loose text the app and receipts send: money, dates, ingredients.

Everything here is a pure function over strings and numbers (stdlib only, no
I/O), so the assistant's intents, the receipt reader and the recipe importer
share one interpretation of Brazilian formats.

Two families live side by side:

- strict payload readers (`parse_money`, `parse_date`) that raise `ValueError`
  with a short Portuguese message the app can show next to the field;
- lenient readers for OCR'd receipts (`parse_money_text`, `parse_quantity`,
  `parse_quantity_price`, `find_receipt_datetime`) that return `None` when
  nothing trustworthy is found, because a receipt photo is evidence, not a
  form the user filled in.

Ingredient lines from recipes (`parse_ingredients` and friends) are free text
written by people; they are read as well as possible and never raise, except
for absurdly long lines.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

__all__ = [
    "MAX_INGREDIENT_LINE",
    "MAX_MONEY_REAIS",
    "Ingredient",
    "find_receipt_datetime",
    "is_section_header",
    "parse_date",
    "parse_ingredient_line",
    "parse_ingredients",
    "parse_money",
    "parse_money_text",
    "parse_quantity",
    "parse_quantity_price",
    "parse_yield",
    "split_ingredient_text",
]

MAX_MONEY_REAIS = 1_000_000_000
"""Largest absolute amount, in reais, any reader here accepts."""

MAX_INGREDIENT_LINE = 500
"""Longest ingredient line, in characters, `parse_ingredient_line` reads."""

_MAX_DECIMAL = Decimal(MAX_MONEY_REAIS)
_CENT = Decimal(1)
_MIN_YEAR, _MAX_YEAR = 1900, 2100
_MONEY_EXAMPLE = "esperado número ou texto como 1.234,56 ou R$ 45,90"


# --- Money -----------------------------------------------------------------

# Payload text once the sign and the currency mark are removed. Dots before a
# comma, or dots followed by exactly three digits, are thousands marks (the
# Brazilian way); a lone dot followed by one or two digits is a decimal point,
# because the app also sends JavaScript numbers as text ("45.9").
_PAYLOAD_GROUPED = re.compile(r"([0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,([0-9]+))?")
_PAYLOAD_DOT_DECIMAL = re.compile(r"([0-9]+)\.([0-9]+)")
_PAYLOAD_PREFIX = re.compile(r"(-?)\s*(?:R\$)?\s*(-?)\s*", re.IGNORECASE)


def parse_money(value: object) -> int:
    """Read an amount of money sent in a payload and return integer centavos.

    Accepts an `int`, `float` or `Decimal` in reais, or Brazilian text such as
    `1.234,56`, `R$ 45,90`, `R$45,90`, `-R$ 10,00`, `R$ 49` and `45.9`. As
    in Brazilian writing, a dot followed by three digits groups thousands
    (`1.500` is R$ 1.500,00); a dot followed by one or two digits is a
    decimal point.
    Numbers are rounded half-up to the centavo from their shortest decimal
    form, so `0.1 + 0.2` gives 30 and `1.005` gives 101. Negative amounts come
    back negative; callers decide whether they are allowed.

    Raises `ValueError`, with a Portuguese message saying what was expected,
    for booleans, `None` and other types, NaN and infinities, empty or
    unreadable text, text with more than two decimal places, and amounts
    above R$ 1.000.000.000,00 either way.
    """
    if isinstance(value, bool):
        # bool is an int subclass; True must not become R$ 1,00.
        raise ValueError(f"valor inválido: {_MONEY_EXAMPLE}, recebido verdadeiro/falso")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float | Decimal):
        # str() of a float is its shortest round-tripping form, which is the
        # number the user typed; Decimal(float) would expose binary noise.
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        if not amount.is_finite():
            raise ValueError("valor inválido: o número precisa ser finito")
    elif isinstance(value, str):
        amount = _payload_text_to_reais(value)
    else:
        found = "nulo" if value is None else f"tipo {type(value).__name__}"
        raise ValueError(f"valor inválido: {_MONEY_EXAMPLE}, recebido {found}")
    return _reais_to_centavos(amount)


def _payload_text_to_reais(text: str) -> Decimal:
    stripped = text.strip()
    if not stripped:
        raise ValueError(f"valor vazio: {_MONEY_EXAMPLE}")
    prefix = _PAYLOAD_PREFIX.match(stripped)
    assert prefix is not None  # every part of the prefix is optional
    if prefix.group(1) and prefix.group(2):
        raise ValueError(f"valor inválido: {_MONEY_EXAMPLE}, recebido {_show(text)}")
    negative = bool(prefix.group(1) or prefix.group(2))
    digits = stripped[prefix.end() :]

    grouped = _PAYLOAD_GROUPED.fullmatch(digits)
    dotted = _PAYLOAD_DOT_DECIMAL.fullmatch(digits)
    if grouped:
        whole, decimals = grouped.group(1).replace(".", ""), grouped.group(2) or ""
    elif dotted:
        whole, decimals = dotted.group(1), dotted.group(2)
    else:
        raise ValueError(f"valor inválido: {_MONEY_EXAMPLE}, recebido {_show(text)}")
    if len(decimals) > 2:
        raise ValueError(f"valor com mais de duas casas decimais: {_show(text)}")

    amount = Decimal(f"{whole}.{decimals or '0'}")
    return -amount if negative else amount


def _reais_to_centavos(amount: Decimal) -> int:
    # Compare before scaling: a huge Decimal times 100 can trap Overflow.
    if abs(amount) > _MAX_DECIMAL:
        raise ValueError("valor acima do limite de R$ 1.000.000.000,00")
    return int((amount * 100).quantize(_CENT, rounding=ROUND_HALF_UP))


def _show(text: str, limit: int = 30) -> str:
    """Quote user text for an error message without echoing a whole essay."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


# OCR amounts: a sign, a currency mark that OCR often reads as `R4` or `RS`,
# then a number with exactly two decimals. Dot decimals are common in OCR
# (`25.97`), so a final dot before two digits is the decimal point even after
# thousands dots (`1.000.00`).
_OCR_AMOUNT = re.compile(
    r"""
    (?<![0-9.,])
    (?P<sign>-\s*)?
    (?:(?P<currency>(?<![A-Za-z])R\s?[$S4])\s*(?P<sign2>-\s*)?)?
    (?P<number>
        [0-9]{1,3}(?:\.[0-9]{3})+,[0-9]{2}
      | [0-9]+,[0-9]{2}
      | [0-9]{1,3}(?:\.[0-9]{3})*\.[0-9]{2}
      | [0-9]+\.[0-9]{2}
      | [0-9]+
    )
    (?![0-9]|[.,][0-9])
    """,
    re.VERBOSE,
)


def parse_money_text(text: str) -> int | None:
    """Find the first amount of money in OCR'd receipt text, in centavos.

    Reads `1.581,58`, `3.416.346,00`, `- 3,60`, `-R$ 10,00`, `23,80¢`, the
    OCR misreadings `R4 12,50` and `RS 2.753,30` of `R$`, and dot decimals
    such as `VALOR: 25.97` (2597 centavos, never 259700). An amount must have
    exactly two decimals, except a whole number right after a currency mark
    (`R$ 49`): on receipts bare integers are codes, counts and quantities, and
    `2,950` is a weight. Amounts above R$ 1.000.000.000,00 are skipped.

    Returns `None` when no amount is found; never raises.
    """
    for match in _OCR_AMOUNT.finditer(text):
        number = match.group("number")
        if "," not in number and "." not in number and not match.group("currency"):
            continue
        if "," in number:
            plain = number.replace(".", "").replace(",", ".")
        else:
            whole, _, cents = number.rpartition(".")
            plain = f"{whole.replace('.', '')}.{cents}" if whole else number
        amount = Decimal(plain)
        if abs(amount) > _MAX_DECIMAL:
            continue
        if match.group("sign") or match.group("sign2"):
            amount = -amount
        return _reais_to_centavos(amount)
    return None


_RECEIPT_GROUPED = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3}){1,3},[0-9]{1,6}")
_RECEIPT_PLAIN = re.compile(r"[0-9]{1,12}(?:[.,][0-9]{1,6})?")


def _receipt_decimal(text: str) -> Decimal | None:
    """A receipt number where `,` or a lone `.` is the decimal separator.

    At most twelve integer digits: longer runs are barcodes or keys, and
    would not survive the conversion to float.
    """
    if _RECEIPT_GROUPED.fullmatch(text):
        return Decimal(text.replace(".", "").replace(",", "."))
    if _RECEIPT_PLAIN.fullmatch(text):
        return Decimal(text.replace(",", "."))
    return None


def parse_quantity(text: str) -> float | None:
    """Read a quantity printed on a receipt: `3.000` is 3.0, `0,8400` is 0.84.

    Receipts print quantities with three or four decimals and never group
    thousands in them, so a dot is a decimal point here (unlike in money).
    Returns `None` when `text` is not a single number.
    """
    number = _receipt_decimal(text.strip())
    return None if number is None else float(number)


_QUANTITY_PRICE = re.compile(
    r"""
    (?<![0-9.,])
    (?P<quantity>[0-9]+(?:[.,][0-9]+)?)
    \s*(?P<unit>KG|GR|G|ML|LT|L|UNID|UND|UN|PCT|PC|CX|DZ|FD)?
    \s*[xX×*]\s*
    (?P<price>[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]+|[0-9]+(?:[.,][0-9]+)?)
    (?![0-9])
    """,
    re.VERBOSE | re.IGNORECASE,
)
_RECEIPT_UNITS = {"gr": "g", "lt": "l", "unid": "un", "und": "un"}


def parse_quantity_price(text: str) -> tuple[float, str, int] | None:
    """Read a receipt item's `quantity UNIT X unit price`.

    `0,8400 KG X 11,98` gives `(0.84, "kg", 1198)` and `31,210 L X 3,670`
    gives `(31.21, "l", 367)`: the quantity as a float, the unit in lower
    case (`kg`, `g`, `l`, `ml`, `un`, ...; `un` when none is printed) and the
    unit price in centavos. Fuel and bulk prices printed with three decimals
    are rounded half-up to the centavo (`3,675` gives 368), so multiplying
    back may differ from the printed line total by a centavo.

    Returns `None` when the text holds no `quantity X price`.
    """
    match = _QUANTITY_PRICE.search(text)
    if match is None:
        return None
    quantity = _receipt_decimal(match.group("quantity"))
    price = _receipt_decimal(match.group("price"))
    if quantity is None or price is None or price > _MAX_DECIMAL:
        return None
    unit = (match.group("unit") or "un").lower()
    return float(quantity), _RECEIPT_UNITS.get(unit, unit), _reais_to_centavos(price)


# --- Dates -----------------------------------------------------------------

_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_BR_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4}|[0-9]{2})")


def parse_date(value: object) -> date:
    """Read a date sent in a payload.

    Accepts ISO `2026-12-01`, Brazilian `01/12/2026` or `1/12/2026`, a
    two-digit year `01/12/26` (read as 2026), and ISO datetimes such as
    `2026-12-01T10:30:00-03:00` or `...Z`, whose date part is returned as
    written, without converting time zones.

    Raises `ValueError` (Portuguese message) for non-strings, other formats,
    impossible dates such as 31/02/2026, and years outside 1900 to 2100.
    """
    if not isinstance(value, str):
        raise ValueError("data inválida: esperado texto como 2026-12-01 ou 01/12/2026")
    text = value.strip()
    if iso := _ISO_DATE.fullmatch(text):
        year, month, day = (int(part) for part in iso.groups())
    elif brazilian := _BR_DATE.fullmatch(text):
        day, month, year = (int(part) for part in brazilian.groups())
        if len(brazilian.group(3)) == 2:
            year += 2000
    elif _ISO_DATE.match(text) and len(text) > 10 and text[10] in "T ":
        try:
            return _checked_year(datetime.fromisoformat(text).date())
        except ValueError:
            raise ValueError(f"data e hora inválidas: {_show(text)}") from None
    else:
        raise ValueError(
            f"data inválida: esperado 2026-12-01 ou 01/12/2026, recebido {_show(text)}"
        )
    return _checked_year(_make_date(year, month, day, text))


def _make_date(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"data inexistente: {_show(text)}") from None


def _checked_year(day: date) -> date:
    if not _MIN_YEAR <= day.year <= _MAX_YEAR:
        raise ValueError(f"ano fora do intervalo {_MIN_YEAR} a {_MAX_YEAR}")
    return day


# A time after a receipt date. OCR turns `:` into `.` or a space; a time whose
# hour and minute are split only by a space must also show seconds, or any
# pair of numbers after a date would pass for a time.
_RECEIPT_TIME = re.compile(
    r"""
    (?:\s*[-,]\s*|\s+)
    (?P<hour>[0-9]{2})(?P<sep>[:.h]|\s)(?P<minute>[0-9]{2})
    (?:(?:\s*[:.]\s*|\s)(?P<second>[0-9]{2}))?
    (?![0-9])
    """,
    re.VERBOSE,
)
# The second form is `20/0972024`: OCR read the second slash as a 7 (or 1, l,
# I, |); it is accepted only with two-digit day and month and a 4-digit year.
_RECEIPT_BR_DATE = re.compile(
    r"""
    (?<![0-9/])
    (?:
        (?P<day>[0-9]{1,2})/(?P<month>[0-9]{1,2})/(?P<year>[0-9]{4}|[0-9]{2})
      | (?P<ocr_day>[0-9]{2})/(?P<ocr_month>[0-9]{2})[71lI|](?P<ocr_year>[0-9]{4})
    )
    (?![0-9/])
    """,
    re.VERBOSE,
)
# `:2025-01 06T12:40:58 03:00`: OCR dropped the dash before the day and the
# sign of the offset.
_RECEIPT_ISO_DATE = re.compile(
    r"""
    (?<![0-9])
    (?P<year>[0-9]{4})-(?P<month>[0-9]{2})[-\s](?P<day>[0-9]{2})
    (?:[T\s](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2}))?
       (?:\s*(?P<zulu>Z)|\s*(?P<sign>[+-])?\s*(?P<tzh>[0-9]{2}):?(?P<tzm>[0-9]{2}))?
    )?
    (?![0-9])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _DateCandidate:
    position: int
    value: date | datetime
    full_day: bool


def find_receipt_datetime(text: str) -> datetime | date | None:
    """Find the first trustworthy issue date in OCR'd receipt text.

    Reads `dd/mm/yyyy` and `dd/mm/yy` (two-digit years are 20xx), OCR damage
    such as `20/0972024` (2024-09-20) and `28/01/2025 19 14.22`
    (19:14:22), and ISO stamps such as `:2025-01 06T12:40:58 03:00`. Returns
    a naive `datetime` when a time follows a Brazilian date (local time), an
    aware one for an ISO stamp with an offset (a missing sign is read as `-`:
    Brazilian offsets are all west of UTC), and a `date` when no time is
    readable.

    A one-digit day (`1/03/2025`) is often a two-digit day with a digit lost,
    so it is ignored when the text holds another date with a two-digit day.
    Impossible dates, years outside 1900 to 2100 and runs of digits such as
    `676631/2025` are rejected. Returns `None` when nothing is trusted.
    """
    candidates = sorted(
        [*_brazilian_candidates(text), *_iso_candidates(text)],
        key=lambda candidate: candidate.position,
    )
    has_full_day = any(candidate.full_day for candidate in candidates)
    for candidate in candidates:
        if candidate.full_day or not has_full_day:
            return candidate.value
    return None


def _brazilian_candidates(text: str) -> list[_DateCandidate]:
    found = []
    for match in _RECEIPT_BR_DATE.finditer(text):
        day_text = match.group("day") or match.group("ocr_day")
        month_text = match.group("month") or match.group("ocr_month")
        year_text = match.group("year") or match.group("ocr_year")
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        value = _receipt_date(year, int(month_text), int(day_text))
        if value is None:
            continue
        after = _RECEIPT_TIME.match(text, match.end())
        clock = None
        if after is not None:
            clock = _receipt_time(
                after["hour"], after["sep"], after["minute"], after["second"]
            )
        moment = value if clock is None else datetime.combine(value, clock)
        found.append(_DateCandidate(match.start(), moment, len(day_text) == 2))
    return found


def _iso_candidates(text: str) -> list[_DateCandidate]:
    found = []
    for match in _RECEIPT_ISO_DATE.finditer(text):
        groups = match.groupdict()
        value = _receipt_date(
            int(groups["year"]), int(groups["month"]), int(groups["day"])
        )
        if value is None:
            continue
        clock = _receipt_time(groups["hour"], ":", groups["minute"], groups["second"])
        if clock is not None:
            moment = datetime.combine(value, clock)
            zone = _receipt_zone(
                groups["zulu"], groups["sign"], groups["tzh"], groups["tzm"]
            )
            value = moment.replace(tzinfo=zone) if zone else moment
        found.append(_DateCandidate(match.start(), value, True))
    return found


def _receipt_date(year: int, month: int, day: int) -> date | None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _receipt_time(
    hour: str | None, separator: str | None, minute: str | None, second: str | None
) -> time | None:
    if hour is None or minute is None:
        return None
    if separator is not None and separator.isspace() and second is None:
        return None
    h, m, s = int(hour), int(minute), int(second or 0)
    if h > 23 or m > 59 or s > 59:
        return None
    return time(h, m, s)


def _receipt_zone(
    zulu: str | None, sign: str | None, hours: str | None, minutes: str | None
) -> timezone | None:
    if zulu:
        return UTC
    if hours is None or minutes is None:
        return None
    h, m = int(hours), int(minutes)
    if h > 14 or m > 59:
        return None
    offset = timedelta(hours=h, minutes=m)
    return timezone(offset if sign == "+" else -offset)


# --- Ingredients -----------------------------------------------------------


@dataclass(frozen=True)
class Ingredient:
    """One ingredient line of a recipe, as written by its author."""

    quantity: float | None
    """How much of `unit`; `None` when the line states no amount (`a gosto`)."""
    quantity_max: float | None
    """Upper end of a range such as `6 a 8 fatias`; `None` otherwise."""
    unit: str
    """Singular unit: `xícara (chá)`, `colher (sopa)`, `lata`, `g`, `ml`, `l`,
    `unidade` for counted items such as eggs; `""` when there is no quantity."""
    name: str
    """What to buy, as written: `leite condensado`, `ovos`."""
    weight: float | None
    """The stated weight or volume (`395 g`, `180 ml`, `1 l`), if any."""
    weight_unit: str | None
    """`g`, `kg`, `ml` or `l` when `weight` is set."""
    notes: tuple[str, ...]
    """In this order: modifiers (`cheia`, `rasa`) and flags (a stray amount),
    `a gosto`, household measures or remarks in parentheses, preparation
    (`cortada em cubos`)."""
    section: str | None
    """Sub-heading the line sits under (`Recheio`, `Bolo grande`), if any."""


_VULGAR_FRACTIONS = {
    "½": Fraction(1, 2),
    "¼": Fraction(1, 4),
    "¾": Fraction(3, 4),
    "⅓": Fraction(1, 3),
    "⅔": Fraction(2, 3),
    "⅕": Fraction(1, 5),
    "⅛": Fraction(1, 8),
    "⅜": Fraction(3, 8),
    "⅝": Fraction(5, 8),
    "⅞": Fraction(7, 8),
}
_VULGAR = "".join(_VULGAR_FRACTIONS)
_MAX_AMOUNT = 1_000_000
_THOUSANDS_ONLY = re.compile(r"[0-9]+\.[0-9]{3}")
# Not followed by a letter: `g` must not match the start of `gemas`.
_WORD_END = r"(?![^\W\d_])"

_AMOUNT = (
    rf"(?:[0-9]+\s+e\s+(?:[{_VULGAR}]|[0-9]+\s*/\s*[0-9]+)"  # 1 e ½, 1 e 1/2
    r"|mei[ao](?=\s)"  # meia xícara, meio quilo
    rf"|[0-9]+\s*[{_VULGAR}]"  # 1 ½, 1½
    r"|[0-9]+\s+[0-9]+\s*/\s*[0-9]+"  # 1 1/2
    r"|[0-9]+\s*/\s*[0-9]+"  # 3/4
    rf"|[{_VULGAR}]"  # ½
    r"|[0-9]+(?:[.,][0-9]+)?)"  # 2, 2,5, 1.5
)
_QUANTITY = re.compile(
    rf"(?P<low>{_AMOUNT})(?:\s*(?:-|–|\sa\s|\sou\s|\saté\s)\s*(?P<high>{_AMOUNT}))?"
)

# Canonical singular unit and the spellings met in recipes. Plural markers in
# parentheses (`xícara(s)`, `colher(es)`) are part of the spelling.
_UNIT_SPELLINGS: tuple[tuple[str, str], ...] = (
    ("xícara", r"x[íi]caras?(?:\(s\))?|x[íi]c\.?"),
    ("colher", r"colher(?:es|\(es\))?|colh\.?"),
    ("copo", r"copos?(?:\(s\))?"),
    ("lata", r"latas?(?:\(s\))?"),
    ("pitada", r"pitadas?"),
    ("pacotinho", r"pacotinhos?"),
    ("pacote", r"pacotes?|pcts?\.?"),
    ("caixinha", r"caixinhas?"),
    ("caixa", r"caixas?|cx\.?"),
    ("envelope", r"envelopes?"),
    ("sachê", r"sach[êe]s?"),
    ("tablete", r"tabletes?"),
    ("barra", r"barras?"),
    ("dente", r"dentes?"),
    ("fatia", r"fatias?"),
    ("pedaço", r"peda[çc]os?"),
    ("pote", r"potes?"),
    ("vidro", r"vidros?"),
    ("garrafa", r"garrafas?"),
    ("maço", r"ma[çc]os?"),
    ("ramo", r"ramos?"),
    ("folha", r"folhas?"),
    ("gota", r"gotas?"),
    ("fio", r"fios?"),
    ("punhado", r"punhados?"),
    ("cubo", r"cubos?"),
    ("medida", r"medidas?"),
    ("unidade", r"unidades?|unid\.?|und\.?|un\.?"),
    ("kg", r"kg|quilos?|quilogramas?"),
    ("g", r"gramas?|grs?|g"),
    ("ml", r"ml|mililitros?"),
    ("l", r"litros?|lts?|l"),
)
_UNIT_PATTERNS = tuple(
    (unit, re.compile(rf"(?:{spelling}){_WORD_END}", re.IGNORECASE))
    for unit, spelling in _UNIT_SPELLINGS
)
_WEIGHT_UNITS = {"g", "kg", "ml", "l"}
_MEASURE_OF = re.compile(r"\s*\(\s*d[aoe]\s+(?P<what>[^()]{1,30}?)\s*\)")
_MEASURED_UNITS = {"xícara", "colher", "copo"}

_MODIFIER = r"(?:bem\s+)?(?:cheias?|rasas?|niveladas?)"
_KIND = r"ch[áa]|sopa|caf[ée]|sobremesa|americano|requeij[ãa]o"
_KIND_IN_PARENS = re.compile(
    rf"\s*\(\s*(?:de\s+)?(?P<kind>{_KIND})(?:\s+(?P<modifier>{_MODIFIER}))?\s*\)",
    re.IGNORECASE,
)
_KIND_AFTER_DE = re.compile(
    rf"\s+de\s+(?P<kind>ch[áa]|sopa|caf[ée]|sobremesa){_WORD_END}", re.IGNORECASE
)
_MODIFIER_AFTER = re.compile(rf"\s+(?P<modifier>{_MODIFIER}){_WORD_END}", re.IGNORECASE)
_KIND_SPELLING = {"cha": "chá", "cafe": "café", "requeijao": "requeijão"}

_STRAY_AMOUNT = re.compile(rf"\s*(?P<amount>{_AMOUNT})\s+(?=de\s)")
_LEADING_OF = re.compile(r"\s*(?:de|da|do|das|dos)\s+", re.IGNORECASE)
_A_GOSTO = re.compile(r"(?<![^\W\d_])[aà]\s+gosto" + _WORD_END, re.IGNORECASE)
_WEIGHT = re.compile(
    r"(?:aprox(?:imadamente|\.)?\s*|cerca\s+de\s+|~\s*)?"
    r"(?P<number>[0-9]+(?:[.,][0-9]+)?)\s*"
    r"(?P<unit>kg|quilos?|g|gr|gramas?|ml|l|lt|litros?)",
    re.IGNORECASE,
)
_WEIGHT_UNIT_NAMES = {
    "quilo": "kg",
    "quilos": "kg",
    "gr": "g",
    "grama": "g",
    "gramas": "g",
    "lt": "l",
    "litro": "l",
    "litros": "l",
}
_PARENS = re.compile(r"\(([^()]*)\)")
# Preparation starts at one of these participles when more words follow it
# (`gelada cortada em cubos`, `dissolvido em ½ xícara de água`). A lone
# trailing participle (`chocolate picado`, `margarina amolecida`) stays in the
# name: it describes what is weighed, not a step of the recipe.
_PREPARATION = re.compile(
    r"(?<![^\W\d_])(?:cortad|picad|derretid|dissolvid|hidratad|gelad|amolecid"
    r"|peneirad|batid|cozid|descascad|fatiad|triturad|espremid|aquecid"
    r"|temperad|lavad)[oa]s?" + _WORD_END + r"(?=\s+\S)",
    re.IGNORECASE,
)
_NAME_EDGES = " \t,;:-–.·•*"


def parse_ingredient_line(line: str, section: str | None = None) -> Ingredient | None:
    """Read one ingredient line of a Brazilian recipe.

    Understands amounts written `2`, `2,5`, `3/4`, `½`, `1 ½`, `1 1⁄2` (with
    U+2044) and ranges `6 a 8`; units glued to the number (`1pacote`, `270g`,
    `1l`), plural or marked units (`xícaras`, `colher(es)`, `xícara(s)`) with
    their kind (`(chá)`, `(sopa rasa)`, `de sopa`), a repeated unit word
    (`1 lata lata de`), and a weight or volume in parentheses (`(395 g)`).
    When the unit is itself a weight or volume (`100 g de manteiga`), it is
    also the stated weight and a household measure in parentheses is a note.
    Counted items (`3 ovos`) get the unit `unidade`; lines with no amount
    (`Frutas vermelhas a gosto`) get quantity `None` and unit `""`.

    Returns `None` for blank lines and section headers (see
    `is_section_header`); `section` is copied into the result. Raises
    `ValueError` for lines longer than 500 characters. Glued lines must be
    split first with `split_ingredient_text` (`parse_ingredients` does it).
    """
    if len(line) > MAX_INGREDIENT_LINE:
        raise ValueError(
            "linha de ingrediente longa demais "
            f"(máximo {MAX_INGREDIENT_LINE} caracteres)"
        )
    text = _clean_line(line)
    if not text or is_section_header(text):
        return None
    text = text.replace("\u2044", "/").replace("\u2215", "/")

    notes: list[str] = []
    quantity, quantity_max, rest = _read_quantity(text)
    unit = ""
    if quantity is not None:
        unit, rest = _read_unit(rest, notes)

    weight: float | None = None
    weight_unit: str | None = None
    if unit in _WEIGHT_UNITS and quantity is not None:
        weight, weight_unit = quantity, unit

    if _A_GOSTO.search(rest):
        rest = _A_GOSTO.sub(" ", rest)
        notes.append("a gosto")
    name, found_weight, body_notes = _read_body(rest, weight_known=weight is not None)
    if found_weight is not None:
        weight, weight_unit = found_weight
    notes.extend(body_notes)

    return Ingredient(
        quantity=quantity,
        quantity_max=quantity_max,
        unit=unit,
        name=name,
        weight=weight,
        weight_unit=weight_unit,
        notes=tuple(notes),
        section=section,
    )


def _clean_line(line: str) -> str:
    """Compose accents, collapse spaces (NBSP included), drop list bullets."""
    text = " ".join(unicodedata.normalize("NFC", line).split())
    return text.lstrip("-–—•*· ").strip()


def _amount_value(text: str) -> float | None:
    """The value of an amount matched by `_AMOUNT`; `None` when not sane."""
    text = " ".join(text.split())
    if text.lower() in {"meia", "meio"}:
        return 0.5
    text = text.replace(" e ", " ")
    whole, vulgar = text[:-1].strip(), text[-1:]
    value: Fraction | Decimal
    if vulgar in _VULGAR_FRACTIONS:
        value = int(whole or 0) + _VULGAR_FRACTIONS[vulgar]
    elif "/" in text:
        head, _, denominator = text.rpartition("/")
        whole_part, _, numerator = head.strip().rpartition(" ")
        if int(denominator) == 0:
            return None
        value = int(whole_part or 0) + Fraction(int(numerator), int(denominator))
    elif _THOUSANDS_ONLY.fullmatch(text):
        # A dot followed by exactly three digits groups thousands (`1.000 g`).
        value = Decimal(text.replace(".", ""))
    else:
        value = Decimal(text.replace(",", "."))
    # No recipe needs a million of anything; a longer run of digits is a code
    # or garbage, and would overflow float.
    return float(value) if value <= _MAX_AMOUNT else None


def _read_quantity(text: str) -> tuple[float | None, float | None, str]:
    match = _QUANTITY.match(text)
    if match is None:
        return None, None, text
    low = _amount_value(match.group("low"))
    if low is None:
        return None, None, text
    high = _amount_value(match.group("high")) if match.group("high") else None
    if high is None or high <= low:
        # `2-1` is no range; read only the first amount.
        return low, None, text[match.end("low") :]
    return low, high, text[match.end() :]


def _match_unit(text: str) -> tuple[str, int] | None:
    for unit, pattern in _UNIT_PATTERNS:
        found = pattern.match(text)
        if found:
            return unit, found.end()
    return None


def _read_unit(rest: str, notes: list[str]) -> tuple[str, str]:
    """Read the unit after an amount; return it and the text that follows."""
    text = rest.lstrip()
    found = _match_unit(text)
    if found is None:
        # `3/4 de xícara`: a "de" may sit between the amount and the unit.
        of = _LEADING_OF.match(text)
        found = _match_unit(text[of.end() :]) if of else None
        if found is None:
            return "unidade", rest
        text = text[of.end() :] if of else text
    unit, end = found
    text = text[end:]

    if unit in _MEASURED_UNITS:
        kind = _KIND_IN_PARENS.match(text) or _KIND_AFTER_DE.match(text)
        if kind:
            spelled = kind.group("kind").lower()
            unit = f"{unit} ({_KIND_SPELLING.get(spelled, spelled)})"
            text = text[kind.end() :]
            if kind.groupdict().get("modifier"):
                notes.append(_singular_modifier(kind["modifier"]))
    elif unit == "medida":
        # `2 medidas (da lata) de leite`: the measure is the can just emptied.
        measure = _MEASURE_OF.match(text)
        if measure:
            unit = f"medida ({measure.group('what').lower()})"
            text = text[measure.end() :]
    modifier = _MODIFIER_AFTER.match(text)
    if modifier:
        notes.append(_singular_modifier(modifier.group("modifier")))
        text = text[modifier.end() :]

    repeated = _match_unit(text.lstrip())
    if repeated and repeated[0] == unit.split(" ")[0]:
        text = text.lstrip()[repeated[1] :]
    stray = _STRAY_AMOUNT.match(text)
    if stray:
        # `1 1/2 colher (sopa) ½ de corante`: keep it visible for a human.
        notes.append(f"quantidade solta: {stray.group('amount')}")
        text = text[stray.end() :]
    of = _LEADING_OF.match(text)
    return unit, text[of.end() :] if of else text


def _singular_modifier(modifier: str) -> str:
    words = modifier.lower().split()
    return " ".join(word.removesuffix("s") for word in words)


def _read_weight(text: str) -> tuple[float, str] | None:
    found = _WEIGHT.fullmatch(text.strip())
    if found is None:
        return None
    unit = found.group("unit").lower()
    unit = _WEIGHT_UNIT_NAMES.get(unit, unit)
    number = Decimal(found.group("number").replace(",", "."))
    return (float(number), unit) if number <= _MAX_AMOUNT else None


def _read_body(
    rest: str, weight_known: bool
) -> tuple[str, tuple[float, str] | None, list[str]]:
    """Split what follows the unit into name, stated weight and notes.

    Text before the stated weight or a preparation phrase is the name; the
    first weight in parentheses is the weight; other parentheses are notes;
    what follows the weight or starts a preparation is one note, kept as
    written so `dissolvido em ½ xícara (chá) de água` reads as one step.
    """
    name_parts: list[str] = []
    notes: list[str] = []
    trailing: list[str] | None = None
    weight: tuple[float, str] | None = None

    position = 0
    for parens in _PARENS.finditer(rest):
        trailing = _add_text(rest[position : parens.start()], name_parts, trailing)
        inner = " ".join(parens.group(1).split())
        stated = None if weight_known or weight else _read_weight(inner)
        if stated:
            weight = stated
            trailing = [] if trailing is None else trailing
        elif trailing is not None:
            trailing.append(parens.group(0))
        elif inner:
            notes.append(inner)
        position = parens.end()
    trailing = _add_text(rest[position:], name_parts, trailing)

    name = " ".join(" ".join(name_parts).split()).strip(_NAME_EDGES)
    if trailing:
        note = " ".join("".join(trailing).split()).strip(_NAME_EDGES)
        if note:
            notes.append(note)
    return name, weight, notes


def _add_text(
    text: str, name_parts: list[str], trailing: list[str] | None
) -> list[str] | None:
    """Add plain text to the name or, once preparation began, to the trail."""
    if trailing is not None:
        trailing.append(text)
        return trailing
    preparation = _PREPARATION.search(text)
    if preparation is None:
        name_parts.append(text)
        return None
    name_parts.append(text[: preparation.start()])
    return [text[preparation.start() :]]


_MAX_HEADER = 60
_SECTION_WORDS = frozenset(
    [
        "base",
        "bolo",
        "brigadeiro",
        "calda",
        "cobertura",
        "decoração",
        "farofa",
        "finalização",
        "ganache",
        "glacê",
        "ingredientes",
        "massa",
        "merengue",
        "montagem",
        "mousse",
        "palha",
        "para",
        "pudim",
        "recheio",
        "trufa",
    ]
)


def is_section_header(line: str) -> bool:
    """Tell whether a line of an ingredient list is a sub-heading.

    Headers hold no amount, no parentheses and no `a gosto`, have at most
    five words and 60 characters, and either end with `:`, are written in
    capitals (`MASSA`, `BRIGADEIRO MOLE`), or start with a word recipes use
    for parts (`Recheio`, `Bolo grande`, `Para a cobertura`). Blank lines
    are not headers.
    """
    text = " ".join(line.split())
    if not text or any(char.isdigit() or char in _VULGAR_FRACTIONS for char in text):
        return False
    if _A_GOSTO.search(text) or "(" in text:
        return False
    words = text.rstrip(":-– ").split()
    if not words or len(words) > 5 or len(text) > _MAX_HEADER:
        return False
    if text.endswith(":"):
        return True
    letters = [char for char in text if char.isalpha()]
    if len(letters) >= 3 and all(char.isupper() for char in letters):
        return True
    return words[0].lower() in _SECTION_WORDS


# Split points in glued text, checked only outside parentheses:
# `(395 g)3 colheres`, `cm)açúcar` (a closing parenthesis before an amount or
# a word, unless the word continues the phrase), `ovos- 1 lata` (a dash glued
# to the previous item), `ovos1⁄2 xícara` (a letter glued to an amount).
_GLUE = re.compile(
    r"(?<=\))(?=[0-9" + _VULGAR + r"])"
    r"|(?<=\))(?=[^\W\d_])(?!(?:de|da|do|das|dos|e|em|com|ou|a|para)" + _WORD_END + r")"
    r"|(?<=\S)-\s+"
    r"|(?<=[^\W\d_])(?=[0-9" + _VULGAR + r"])",
)


def split_ingredient_text(text: str) -> list[str]:
    """Split an ingredient list into one entry per line of the recipe.

    Splits on line breaks and where a scrape glued items together: after a
    `)` followed by an amount or a new word (`(395 g)3 colheres`,
    `cm)açúcar`), at a `- ` glued to the previous item (`ovos- 1 lata`), and
    where an amount follows a letter (`ovos1⁄2 xícara`, `sal4 ovos`). Nothing
    inside parentheses is split, and an amount after a space (`dissolvido em
    ½ xícara`) stays in its line. Section headers (`Recheio`, `MASSA`) come
    back as entries of their own; blank entries and bullets are dropped.
    """
    entries: list[str] = []
    for raw_line in text.splitlines():
        line = _clean_line(raw_line)
        start = depth = scanned = 0
        for glue in _GLUE.finditer(line):
            depth += line.count("(", scanned, glue.start())
            depth -= line.count(")", scanned, glue.start())
            scanned = glue.start()
            if depth > 0:
                continue
            entries.append(line[start : glue.start()])
            start = glue.end()
        entries.append(line[start:])
    cleaned = (_clean_line(entry) for entry in entries)
    return [entry for entry in cleaned if entry]


def parse_ingredients(text_or_lines: str | list[str]) -> list[Ingredient]:
    """Read a whole ingredient list: one text or the app's list of lines.

    Every line (and every piece of a glued line, see `split_ingredient_text`)
    becomes at most one `Ingredient`, in order. Headers set the `section` of
    the lines below them, without their trailing `:`; blank entries are
    skipped. Lines are never merged or summed, so the same ingredient under
    `Bolo grande` and `Bolo médio` stays twice. Raises `ValueError` for a
    line longer than 500 characters or an item of the list that is not text.
    """
    lines = [text_or_lines] if isinstance(text_or_lines, str) else text_or_lines
    ingredients: list[Ingredient] = []
    section: str | None = None
    for line in lines:
        if not isinstance(line, str):
            raise ValueError("ingrediente inválido: esperado texto")
        for entry in split_ingredient_text(line):
            if is_section_header(entry):
                section = entry.rstrip(":-– ")
                continue
            parsed = parse_ingredient_line(entry, section)
            if parsed is not None:
                ingredients.append(parsed)
    return ingredients


_YIELD = re.compile(
    # Seven digits at most: longer runs are codes, and int() of a huge run
    # would raise instead of returning None.
    r"(?<![0-9.,/])(?P<count>[0-9]{1,3}(?:\.[0-9]{3}){1,2}|[0-9]{1,7})(?![0-9])"
    r"(?:\s*(?:-|–|\sa\s|\sou\s)\s*[0-9]+)?"
    r"(?:\s+(?P<word>[^\W\d_]+))?"
)
# Words after a number that are not a yield at all.
_NOT_YIELD = frozenset(
    {"min", "minuto", "minutos", "hora", "horas", "h", "cm", "mm", "graus"}
)
_DOZEN = frozenset({"dúzia", "dúzias", "duzia", "duzias"})
# Vessels and bulk measures: a yield, but a worse one to cost a recipe by than
# pieces (`4 taças de mousse / 15 trufas` is costed per truffle).
_BULK_YIELD = frozenset(
    [
        "taça",
        "taças",
        "forma",
        "formas",
        "pote",
        "potes",
        "copo",
        "copos",
        "travessa",
        "travessas",
        "assadeira",
        "assadeiras",
        "tigela",
        "tigelas",
        "litro",
        "litros",
        "l",
        "kg",
        "g",
        "ml",
        "bolo",
        "bolos",
        "receita",
        "receitas",
        "torta",
        "tortas",
        "pudim",
        "pudins",
    ]
)


def parse_yield(text: str) -> int | None:
    """Read how many pieces or portions a recipe makes.

    `Rendimento: 30 trufas médias` gives 30, `Rende 12 porções` 12 and
    `20 unidades` 20, `3 dúzias` 36. When several yields are listed, pieces win over
    vessels (`4 taças de mousse / 15 trufas` gives 15); a range gives its
    lower end (`10 a 12 fatias` gives 10), which errs towards a higher cost
    per piece. Times and sizes (`40 minutos`, `20 cm`) are not yields.
    Returns `None` when no positive count is found.
    """
    bulk: int | None = None
    for match in _YIELD.finditer(text):
        count = int(match.group("count").replace(".", ""))
        word = (match.group("word") or "").lower()
        if count <= 0 or word in _NOT_YIELD:
            continue
        if word in _DOZEN:
            return count * 12
        if word not in _BULK_YIELD:
            return count
        bulk = bulk if bulk is not None else count
    return bulk

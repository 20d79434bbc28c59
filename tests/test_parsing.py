"""Tests for functions.parsing.

Every money, date and ingredient case listed in the shared data/inputs.md and
every I01..I15 case of data/ingredient-lines.md appears below with
the value those files state; the case id is in the test parameters.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.parsing import (
    Ingredient,
    find_receipt_datetime,
    is_section_header,
    parse_date,
    parse_ingredient_line,
    parse_ingredients,
    parse_money,
    parse_money_text,
    parse_quantity,
    parse_quantity_price,
    parse_yield,
    split_ingredient_text,
)

FRACTION_SLASH = "\u2044"
NBSP = "\xa0"
BRT = timezone(timedelta(hours=-3))


def ing(
    quantity: float | None,
    unit: str,
    name: str,
    weight: float | None = None,
    weight_unit: str | None = None,
    notes: tuple[str, ...] = (),
    *,
    quantity_max: float | None = None,
    section: str | None = None,
) -> Ingredient:
    """Shorthand in the order the data files write a parse."""
    return Ingredient(
        quantity=quantity,
        quantity_max=quantity_max,
        unit=unit,
        name=name,
        weight=weight,
        weight_unit=weight_unit,
        notes=notes,
        section=section,
    )


def brl(centavos: int) -> str:
    """Centavos written the Brazilian way: -1.234,56."""
    sign = "-" if centavos < 0 else ""
    reais, cents = divmod(abs(centavos), 100)
    return f"{sign}{reais:,}".replace(",", ".") + f",{cents:02d}"


# --- Money: payload values -------------------------------------------------


@pytest.mark.parametrize(
    ("value", "centavos"),
    [
        # inputs.md, Money
        ("1.581,58", 158158),
        ("2.259,40", 225940),
        ("3.416.346,00", 341634600),
        ("-677,82", -67782),
        ("- 3,60", -360),
        ("R$ 49", 4900),
        ("R$45,90", 4590),
        ("-R$ 10,00", -1000),
        ("190.13", 19013),
        ("1.234.567,00", 123456700),
        # ARCHITECTURE.md: what the app sends
        ("1.234,56", 123456),
        ("R$ 45,90", 4590),
        ("45.9", 4590),
        # Intl.NumberFormat('pt-BR') puts a non-breaking space after R$
        (f"R${NBSP}45,90", 4590),
        (f"-R${NBSP}10,00", -1000),
        ("R$ -10,00", -1000),
        ("  12,5  ", 1250),
        ("0,01", 1),
        ("-0,00", 0),
        ("1.500", 150000),
        ("1.000.000.000,00", 100000000000),
    ],
)
def test_parse_money_text_values(value: str, centavos: int) -> None:
    assert parse_money(value) == centavos


@pytest.mark.parametrize(
    ("value", "centavos"),
    [
        (45.9, 4590),
        (49, 4900),
        (0, 0),
        (-10, -1000),
        (0.1 + 0.2, 30),
        (1.005, 101),
        (2.675, 268),
        (19.99, 1999),
        (Decimal("12.345"), 1235),
        (1_000_000_000, 100_000_000_000),
        (-1_000_000_000.0, -100_000_000_000),
    ],
)
def test_parse_money_numbers(value: object, centavos: int) -> None:
    assert parse_money(value) == centavos


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        None,
        math.nan,
        math.inf,
        -math.inf,
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        "",
        "   ",
        "abc",
        "12abc",
        "R$",
        "-",
        "45,999",
        "1.2345,00",
        "1.234.56",
        "12.34.56",
        "1,234.56",
        ",50",
        "1 234,56",
        "١٢٣",
        [],
        {},
        b"12,00",
        1_000_000_000.01,
        -1_000_000_001,
        "1.000.000.000,01",
        "9" * 5000,
    ],
)
def test_parse_money_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        parse_money(value)


def test_parse_money_messages_are_portuguese_and_say_what_was_expected() -> None:
    with pytest.raises(ValueError, match="esperado"):
        parse_money("abc")
    with pytest.raises(ValueError, match="casas decimais"):
        parse_money("45,999")
    with pytest.raises(ValueError, match="limite"):
        parse_money(2_000_000_000)


_anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.text(),
    st.from_regex(r"-? ?(R\$)? ?-?[0-9.,]{0,14}", fullmatch=True),
    st.binary(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
)


@given(_anything)
def test_parse_money_raises_only_value_error(value: object) -> None:
    try:
        result = parse_money(value)
    except ValueError:
        return
    assert isinstance(result, int)
    assert abs(result) <= 100_000_000_000


@given(st.integers(min_value=-100_000_000_000, max_value=100_000_000_000))
def test_parse_money_round_trips_brazilian_text(centavos: int) -> None:
    assert parse_money(brl(centavos)) == centavos
    if centavos >= 0:
        assert parse_money("R$ " + brl(centavos)) == centavos


# --- Money: OCR text -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "centavos"),
    [
        # inputs.md, Money
        ("1.581,58", 158158),
        ("2.259,40", 225940),
        ("3.416.346,00", 341634600),
        ("-677,82", -67782),
        ("- 3,60", -360),
        ("R$ 49", 4900),
        ("R$45,90", 4590),
        ("-R$ 10,00", -1000),
        ("190.13", 19013),
        ("VALOR: 25.97", 2597),
        ("23,80¢", 2380),
        ("R4 12,50", 1250),
        ("RS 2.753,30", 275330),
        ("1.234.567,00", 123456700),
        # receipts/README.md: `1.000.00` on a card slip
        ("VALOR 1.000.00", 100000),
        ("TOTAL R$ 24,95", 2495),
        ("Tributos (Lei Federal 12.741/2012) R$6,00", 600),
    ],
)
def test_parse_money_text(text: str, centavos: int) -> None:
    assert parse_money_text(text) == centavos


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sem valor",
        "Lei Federal 12.741/2012",
        "3 UN",
        "490, 1",
        # receipts/README.md: `2,950` is a weight, not money
        "2,950",
        "CNPJ 10.203.040/0001-94",
    ],
)
def test_parse_money_text_finds_nothing(text: str) -> None:
    assert parse_money_text(text) is None


@given(st.text())
def test_parse_money_text_never_raises(text: str) -> None:
    result = parse_money_text(text)
    assert result is None or isinstance(result, int)


# --- Quantities on receipts ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.000", 3.0),  # inputs.md: `3.000` items is 3
        ("0,8400", 0.84),
        ("2,950", 2.95),
        ("12", 12.0),
        (" 1,5 ", 1.5),
    ],
)
def test_parse_quantity(text: str, expected: float) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "1,2,3", "-"])
def test_parse_quantity_rejects(text: str) -> None:
    assert parse_quantity(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0,8400 KG X 11,98", (0.84, "kg", 1198)),
        ("31,210 L X 3,670", (31.21, "l", 367)),
        ("001 PAO FRANCES 0,452 kg x 14,99", (0.452, "kg", 1499)),
        ("2 UN X 3,50", (2.0, "un", 350)),
        ("1,000 L X 3,675", (1.0, "l", 368)),
    ],
)
def test_parse_quantity_price(text: str, expected: tuple[float, str, int]) -> None:
    assert parse_quantity_price(text) == expected


def test_parse_quantity_price_none_without_quantity_times_price() -> None:
    assert parse_quantity_price("TOTAL R$ 25,97") is None


# --- Dates: payload --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-01", date(2026, 12, 1)),
        ("01/12/2026", date(2026, 12, 1)),
        ("01/12/26", date(2026, 12, 1)),
        ("1/2/2026", date(2026, 2, 1)),
        ("2026-12-01T10:30:00", date(2026, 12, 1)),
        ("2026-12-01T23:30:00-03:00", date(2026, 12, 1)),
        ("2026-12-01T02:00:00.000Z", date(2026, 12, 1)),
        ("  01/12/2026 ", date(2026, 12, 1)),
        ("29/02/2028", date(2028, 2, 29)),
    ],
)
def test_parse_date(value: str, expected: date) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "31/02/2026",
        "29/02/2026",
        "2026-02-30",
        "2026-13-01",
        "00/12/2026",
        "01/01/1899",
        "01/01/2101",
        "2026-12-01T25:00:00",
        "",
        "amanhã",
        "2026/12/01",
        "01-12-2026",
        "1/12/2026 10:00",
        None,
        20261201,
        True,
        date(2026, 12, 1),
    ],
)
def test_parse_date_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        parse_date(value)


def test_parse_date_message_is_portuguese() -> None:
    with pytest.raises(ValueError, match="data inexistente"):
        parse_date("31/02/2026")


@given(st.one_of(st.text(), st.integers(), st.none(), st.floats()))
def test_parse_date_raises_only_value_error(value: object) -> None:
    try:
        result = parse_date(value)
    except ValueError:
        return
    assert 1900 <= result.year <= 2100


# --- Dates: OCR text -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # inputs.md, Dates
        ("20/0972024", date(2024, 9, 20)),
        ("28/01/2025 19 14.22", datetime(2025, 1, 28, 19, 14, 22)),
        ("16/03/25 15:45:45", datetime(2025, 3, 16, 15, 45, 45)),
        # receipt lines from data/receipts
        ("20/0972024 15:24:51 CCF: 000326656", datetime(2024, 9, 20, 15, 24, 51)),
        ("Dt. Emi.:06/01/2025 12.40", datetime(2025, 1, 6, 12, 40)),
        ("15/03/2025 - 20:51:35", datetime(2025, 3, 15, 20, 51, 35)),
        ("15/12/24 17:11 : 06", datetime(2024, 12, 15, 17, 11, 6)),
        ("Emissão: 12/02/2025", date(2025, 2, 12)),
        ("2025-03-21", date(2025, 3, 21)),
    ],
)
def test_find_receipt_datetime(text: str, expected: date) -> None:
    found = find_receipt_datetime(text)
    assert found == expected
    assert type(found) is type(expected)


def test_find_receipt_datetime_iso_with_mangled_separators_is_aware() -> None:
    found = find_receipt_datetime(":2025-01 06T12:40:58 03:00")
    assert found == datetime(2025, 1, 6, 12, 40, 58, tzinfo=BRT)
    assert isinstance(found, datetime)
    assert found.utcoffset() == timedelta(hours=-3)


@pytest.mark.parametrize(
    "text",
    [
        "676631/2025",  # inputs.md: rejected
        "",
        "Lei Federal 12.741/2012",
        "1/1",
        "CONV ECF 01/98,",
        "31/02/2025",
        "20/09/1850",
    ],
)
def test_find_receipt_datetime_rejects(text: str) -> None:
    assert find_receipt_datetime(text) is None


def test_one_digit_day_not_trusted_when_a_full_date_exists() -> None:
    text = "Via 1/03/2025\nItens...\n21/03/2025 12:32:45"
    assert find_receipt_datetime(text) == datetime(2025, 3, 21, 12, 32, 45)


def test_one_digit_day_used_when_it_is_the_only_date() -> None:
    assert find_receipt_datetime("Emissão 5/03/2025") == date(2025, 3, 5)


def test_find_receipt_datetime_returns_the_first_date() -> None:
    text = "Emissão: 28/02/2025 09:47:00\nProtocolo 141250300012345 01/03/2025"
    assert find_receipt_datetime(text) == datetime(2025, 2, 28, 9, 47)


@given(st.text())
def test_find_receipt_datetime_never_raises(text: str) -> None:
    find_receipt_datetime(text)


# --- Ingredient lines ------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(
            "1 lata de leite condensado (395 g)",
            ing(1, "lata", "leite condensado", 395, "g"),
            id="I01",
        ),
        pytest.param(
            "1 xícara (chá cheia) de chocolate meio amargo picado (180 g)",
            ing(
                1, "xícara (chá)", "chocolate meio amargo picado", 180, "g", ("cheia",)
            ),
            id="I03",
        ),
        pytest.param("1 ½ ovo", ing(1.5, "unidade", "ovo"), id="inputs-1½-ovo"),
        pytest.param(
            f"1 1{FRACTION_SLASH}2 colher (sopa)",
            ing(1.5, "colher (sopa)", ""),
            id="inputs-fraction-slash",
        ),
        pytest.param(
            "8 colheres (sopa rasa) de creme de avelã (170g)",
            ing(8, "colher (sopa)", "creme de avelã", 170, "g", ("rasa",)),
            id="inputs-sopa-rasa",
        ),
        pytest.param(
            "3/4 de xícara (chá) de açúcar (150g)",
            ing(0.75, "xícara (chá)", "açúcar", 150, "g"),
            id="inputs-3/4",
        ),
        pytest.param(
            "2,5 xícaras de manteiga gelada cortada em cubos",
            ing(2.5, "xícara", "manteiga", notes=("gelada cortada em cubos",)),
            id="inputs-I18-comma-decimal",
        ),
        pytest.param(
            "2 xícara(s) (chá) de vinho tinto",
            ing(2, "xícara (chá)", "vinho tinto"),
            id="inputs-xícara(s)",
        ),
        pytest.param(
            "1pacote de gelatina em pó sem sabor (12 g)",
            ing(1, "pacote", "gelatina em pó sem sabor", 12, "g"),
            id="inputs-1pacote",
        ),
        pytest.param(
            "Frutas vermelhas a gosto",
            ing(None, "", "Frutas vermelhas", notes=("a gosto",)),
            id="I13-frutas",
        ),
        pytest.param(
            "Açúcar de confeiteiro a gosto (para decorar)",
            ing(None, "", "Açúcar de confeiteiro", notes=("a gosto", "para decorar")),
            id="I13-confeiteiro",
        ),
        pytest.param(
            "6 a 8 fatias de pão de forma",
            ing(6, "fatia", "pão de forma", quantity_max=8),
            id="inputs-range",
        ),
        pytest.param(
            f"1 1{FRACTION_SLASH}2 colher (sopa) ½ de corante vermelho em gel (30 g)",
            ing(
                1.5,
                "colher (sopa)",
                "corante vermelho em gel",
                30,
                "g",
                ("quantidade solta: ½",),
            ),
            id="I07",
        ),
        pytest.param(
            "270g de açúcar (1 + ¼ de xícara de chá cheia)",
            ing(270, "g", "açúcar", 270, "g", ("1 + ¼ de xícara de chá cheia",)),
            id="I08",
        ),
        pytest.param(
            f"1{FRACTION_SLASH}2colher (sopa) de fermento em pó peneirado",
            ing(0.5, "colher (sopa)", "fermento em pó peneirado"),
            id="I09-half-no-space",
        ),
        pytest.param(
            "1pacote de gelatina em pó sem sabor (12 g) hidratada e dissolvida "
            "em 4 colheres (sopa) de água",
            ing(
                1,
                "pacote",
                "gelatina em pó sem sabor",
                12,
                "g",
                ("hidratada e dissolvida em 4 colheres (sopa) de água",),
            ),
            id="I09-preparation-not-ingredient",
        ),
        pytest.param(
            f"1 colher (chá) de bicarbonato dissolvido em{NBSP}½ xícara (chá) de água",
            ing(
                1,
                "colher (chá)",
                "bicarbonato",
                notes=("dissolvido em ½ xícara (chá) de água",),
            ),
            id="I12-second-measure-after-nbsp",
        ),
        pytest.param(
            "1 colher (sopa rasa) de margarina amolecida (15g)",
            ing(1, "colher (sopa)", "margarina amolecida", 15, "g", ("rasa",)),
            id="I14",
        ),
        pytest.param(
            "150g de goiabada cortada em cubinhos (1 cm X 1,5 cm)",
            ing(
                150,
                "g",
                "goiabada",
                150,
                "g",
                ("cortada em cubinhos (1 cm X 1,5 cm)",),
            ),
            id="I15-dimensions-are-not-weight",
        ),
        pytest.param(
            "açúcar de confeiteiro peneirado a gosto",
            ing(None, "", "açúcar de confeiteiro peneirado", notes=("a gosto",)),
            id="I15-second",
        ),
        pytest.param(
            "- 3/4 de xícara (chá) de açúcar (150g)",
            ing(0.75, "xícara (chá)", "açúcar", 150, "g"),
            id="I16",
        ),
        pytest.param("4 claras", ing(4, "unidade", "claras"), id="I16-claras"),
        pytest.param(
            "6 a 8 fatias de pão de forma sem casca",
            ing(6, "fatia", "pão de forma sem casca", quantity_max=8),
            id="I17-a",
        ),
        pytest.param(
            "5 a 6 colheres de sopa de açúcar",
            ing(5, "colher (sopa)", "açúcar", quantity_max=6),
            id="I17-b",
        ),
        pytest.param(
            "- 2 xícara(s) (chá) de vinho tinto quente",
            ing(2, "xícara (chá)", "vinho tinto quente"),
            id="I19",
        ),
        pytest.param(
            "2 xícaras (chá) de farinha de trigo",
            ing(2, "xícara (chá)", "farinha de trigo"),
            id="I22-farinha",
        ),
        pytest.param("3 ovos", ing(3, "unidade", "ovos"), id="I22-ovos"),
        pytest.param(
            "1 colher (sopa) de fermento em pó",
            ing(1, "colher (sopa)", "fermento em pó"),
            id="I22-fermento",
        ),
        pytest.param(
            "1 lata de creme de leite",
            ing(1, "lata", "creme de leite"),
            id="I22-creme",
        ),
        pytest.param(
            "1 caixinha de creme de leite",
            ing(1, "caixinha", "creme de leite"),
            id="I22-caixinha",
        ),
        pytest.param(
            "1 kg de farinha", ing(1, "kg", "farinha", 1, "kg"), id="kg-is-weight"
        ),
        pytest.param(
            "1 colher (sopa) cheia de açúcar",
            ing(1, "colher (sopa)", "açúcar", notes=("cheia",)),
            id="modifier-after-unit",
        ),
        pytest.param(
            "1 copo (americano) de leite (200 ml)",
            ing(1, "copo (americano)", "leite", 200, "ml"),
            id="copo-americano",
        ),
        pytest.param("2 dentes de alho", ing(2, "dente", "alho"), id="dente-is-a-unit"),
        pytest.param(
            "2 gemas", ing(2, "unidade", "gemas"), id="g-inside-word-is-not-a-unit"
        ),
        pytest.param("Sal", ing(None, "", "Sal"), id="bare-ingredient"),
    ],
)
def test_parse_ingredient_line(line: str, expected: Ingredient) -> None:
    assert parse_ingredient_line(line) == expected


def test_parse_ingredient_line_keeps_the_section_given() -> None:
    parsed = parse_ingredient_line("3 ovos", section="MASSA")
    assert parsed is not None
    assert parsed.section == "MASSA"


@pytest.mark.parametrize(
    "line",
    [
        "",
        " ",
        NBSP,
        "MASSA",
        "RECHEIO",
        "CALDA",
        "PUDIM",
        "BRIGADEIRO MOLE",
        "PALHA ITALIANA",
        "Recheio",
        "Bolo grande",
        "Bolo médio",
        "Cobertura:",
    ],
)
def test_parse_ingredient_line_skips_blanks_and_headers(line: str) -> None:
    assert parse_ingredient_line(line) is None


def test_parse_ingredient_line_rejects_long_lines() -> None:
    with pytest.raises(ValueError, match="500"):
        parse_ingredient_line("1 xícara de " + "a" * 500)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("MASSA", True),
        ("RECHEIO", True),
        ("CALDA", True),
        ("Recheio", True),
        ("Bolo grande", True),
        ("Bolo médio", True),
        ("BRIGADEIRO MOLE", True),
        ("Para a cobertura:", True),
        ("Frutas vermelhas a gosto", False),
        ("SAL A GOSTO", False),
        ("3 ovos", False),
        ("Sal", False),
        ("Óleo para untar", False),
        ("", False),
        (NBSP, False),
    ],
)
def test_is_section_header(line: str, expected: bool) -> None:
    assert is_section_header(line) is expected


# --- Splitting glued text --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "1 lata de leite condensado (395 g)3 colheres (sopa) de chocolate em pó "
            "(20 g)2 colheres (sopa) de margarina (30 g)",
            [
                "1 lata de leite condensado (395 g)",
                "3 colheres (sopa) de chocolate em pó (20 g)",
                "2 colheres (sopa) de margarina (30 g)",
            ],
            id="I02",
        ),
        pytest.param(
            "- 3 ovos- 1 lata de leite condensado (395 g)- 1 lata de creme de leite "
            "com soro (300 g)- 1 colher (sopa) de margarina",
            [
                "3 ovos",
                "1 lata de leite condensado (395 g)",
                "1 lata de creme de leite com soro (300 g)",
                "1 colher (sopa) de margarina",
            ],
            id="I04",
        ),
        pytest.param(
            "Recheio- 1 lata de leite condensado (395g)- 1 ½ ovo- 2 colheres (sopa) "
            "de chocolate em pó- 8 colheres (sopa rasa) de creme de chocolate com "
            "avelã (170g)",
            [
                "Recheio",
                "1 lata de leite condensado (395g)",
                "1 ½ ovo",
                "2 colheres (sopa) de chocolate em pó",
                "8 colheres (sopa rasa) de creme de chocolate com avelã (170g)",
            ],
            id="I05",
        ),
        pytest.param(
            "100 g de manteiga (6 colheres de sopa)200 g de leite condensado "
            "(1/2 lata)200 g de chocolate meio amargo derretido (1 xícara de chá)",
            [
                "100 g de manteiga (6 colheres de sopa)",
                "200 g de leite condensado (1/2 lata)",
                "200 g de chocolate meio amargo derretido (1 xícara de chá)",
            ],
            id="I06",
        ),
        pytest.param(
            f"3 ovos1{FRACTION_SLASH}2 xícara (chá) de açúcar (100 g)"
            f"1{FRACTION_SLASH}2 xícara (chá) de leite (180 ml)",
            [
                "3 ovos",
                f"1{FRACTION_SLASH}2 xícara (chá) de açúcar (100 g)",
                f"1{FRACTION_SLASH}2 xícara (chá) de leite (180 ml)",
            ],
            id="I10",
        ),
        pytest.param(
            "1l de leite fervente1 lata lata de leite condensado1 pitada de sal4 ovos",
            [
                "1l de leite fervente",
                "1 lata lata de leite condensado",
                "1 pitada de sal",
                "4 ovos",
            ],
            id="I11",
        ),
        pytest.param(
            "150g de goiabada cortada em cubinhos (1 cm X 1,5 cm)açúcar de "
            "confeiteiro peneirado a gosto",
            [
                "150g de goiabada cortada em cubinhos (1 cm X 1,5 cm)",
                "açúcar de confeiteiro peneirado a gosto",
            ],
            id="I15",
        ),
        pytest.param(
            "1pacote de gelatina em pó sem sabor (12 g) hidratada e dissolvida em "
            "4 colheres (sopa) de água",
            [
                "1pacote de gelatina em pó sem sabor (12 g) hidratada e dissolvida em "
                "4 colheres (sopa) de água"
            ],
            id="I09-not-split",
        ),
        pytest.param(
            f"1 colher (chá) de bicarbonato dissolvido em{NBSP}½ xícara (chá) de água",
            ["1 colher (chá) de bicarbonato dissolvido em ½ xícara (chá) de água"],
            id="I12-not-split",
        ),
        pytest.param(
            f"1 1{FRACTION_SLASH}2 colher (sopa) ½ de corante vermelho em gel (30 g)",
            [f"1 1{FRACTION_SLASH}2 colher (sopa) ½ de corante vermelho em gel (30 g)"],
            id="I07-not-split",
        ),
        pytest.param(
            "- 3/4 de xícara (chá) de açúcar (150g)- 4 claras",
            ["3/4 de xícara (chá) de açúcar (150g)", "4 claras"],
            id="I16",
        ),
        pytest.param(
            "MASSA\n3 ovos\n \n\xa0\nCALDA\n1 xícara (chá) de açúcar",
            ["MASSA", "3 ovos", "CALDA", "1 xícara (chá) de açúcar"],
            id="I20-lines",
        ),
        pytest.param("", [], id="empty"),
    ],
)
def test_split_ingredient_text(text: str, expected: list[str]) -> None:
    assert split_ingredient_text(text) == expected


# --- Whole ingredient lists ------------------------------------------------


def test_I02_three_glued_ingredients() -> None:
    text = (
        "1 lata de leite condensado (395 g)3 colheres (sopa) de chocolate em pó "
        "(20 g)2 colheres (sopa) de margarina (30 g)"
    )
    assert parse_ingredients(text) == [
        ing(1, "lata", "leite condensado", 395, "g"),
        ing(3, "colher (sopa)", "chocolate em pó", 20, "g"),
        ing(2, "colher (sopa)", "margarina", 30, "g"),
    ]


def test_I04_dash_glued_list_and_eggs_are_units() -> None:
    text = (
        "- 3 ovos- 1 lata de leite condensado (395 g)- 1 lata de creme de leite "
        "com soro (300 g)- 1 colher (sopa) de margarina"
    )
    assert parse_ingredients(text) == [
        ing(3, "unidade", "ovos"),
        ing(1, "lata", "leite condensado", 395, "g"),
        ing(1, "lata", "creme de leite com soro", 300, "g"),
        ing(1, "colher (sopa)", "margarina"),
    ]


def test_I05_section_fraction_and_rasa() -> None:
    text = (
        "Recheio- 1 lata de leite condensado (395g)- 1 ½ ovo- 2 colheres (sopa) "
        "de chocolate em pó- 8 colheres (sopa rasa) de creme de chocolate com "
        "avelã (170g)"
    )
    assert parse_ingredients(text) == [
        ing(1, "lata", "leite condensado", 395, "g", section="Recheio"),
        ing(1.5, "unidade", "ovo", section="Recheio"),
        ing(2, "colher (sopa)", "chocolate em pó", section="Recheio"),
        ing(
            8,
            "colher (sopa)",
            "creme de chocolate com avelã",
            170,
            "g",
            ("rasa",),
            section="Recheio",
        ),
    ]


def test_I06_weight_first_household_measure_in_notes() -> None:
    text = (
        "100 g de manteiga (6 colheres de sopa)200 g de leite condensado "
        "(1/2 lata)200 g de chocolate meio amargo derretido (1 xícara de chá)"
    )
    assert parse_ingredients(text) == [
        ing(100, "g", "manteiga", 100, "g", ("6 colheres de sopa",)),
        ing(200, "g", "leite condensado", 200, "g", ("1/2 lata",)),
        ing(
            200,
            "g",
            "chocolate meio amargo derretido",
            200,
            "g",
            ("1 xícara de chá",),
        ),
    ]


def test_I10_glued_eggs_and_halves() -> None:
    text = (
        f"3 ovos1{FRACTION_SLASH}2 xícara (chá) de açúcar (100 g)"
        f"1{FRACTION_SLASH}2 xícara (chá) de leite (180 ml)"
    )
    assert parse_ingredients(text) == [
        ing(3, "unidade", "ovos"),
        ing(0.5, "xícara (chá)", "açúcar", 100, "g"),
        ing(0.5, "xícara (chá)", "leite", 180, "ml"),
    ]


def test_I11_litre_repeated_word_and_pinch() -> None:
    text = "1l de leite fervente1 lata lata de leite condensado1 pitada de sal4 ovos"
    assert parse_ingredients(text) == [
        ing(1, "l", "leite fervente", 1, "l"),
        ing(1, "lata", "leite condensado"),
        ing(1, "pitada", "sal"),
        ing(4, "unidade", "ovos"),
    ]


def test_I12_size_variants_stay_in_their_sections() -> None:
    lines = [
        "Bolo grande",
        "2 xícaras (chá) de açúcar",
        "Bolo médio",
        "2 xícaras (chá) de açúcar",
    ]
    assert parse_ingredients(lines) == [
        ing(2, "xícara (chá)", "açúcar", section="Bolo grande"),
        ing(2, "xícara (chá)", "açúcar", section="Bolo médio"),
    ]


def test_I15_dimensions_then_unquantified_ingredient() -> None:
    text = (
        "150g de goiabada cortada em cubinhos (1 cm X 1,5 cm)açúcar de "
        "confeiteiro peneirado a gosto"
    )
    assert parse_ingredients(text) == [
        ing(150, "g", "goiabada", 150, "g", ("cortada em cubinhos (1 cm X 1,5 cm)",)),
        ing(None, "", "açúcar de confeiteiro peneirado", notes=("a gosto",)),
    ]


def test_I20_headers_and_blank_entries_are_never_ingredients() -> None:
    lines = [
        "BRIGADEIRO MOLE",
        "1 lata de leite condensado",
        " ",
        "\xa0",
        "PALHA ITALIANA",
        "MASSA",
        "3 ovos",
        "RECHEIO",
        "CALDA",
        "PUDIM",
        "4 ovos",
    ]
    assert parse_ingredients(lines) == [
        ing(1, "lata", "leite condensado", section="BRIGADEIRO MOLE"),
        ing(3, "unidade", "ovos", section="MASSA"),
        ing(4, "unidade", "ovos", section="PUDIM"),
    ]


def test_parse_ingredients_strips_header_punctuation() -> None:
    parsed = parse_ingredients("Cobertura:\n1 pitada de sal")
    assert parsed == [ing(1, "pitada", "sal", section="Cobertura")]


def test_parse_ingredients_rejects_a_long_line() -> None:
    with pytest.raises(ValueError):
        parse_ingredients(["3 ovos", "x" * 501])


@given(st.text(max_size=500))
def test_parse_ingredients_never_raises_on_short_text(text: str) -> None:
    for parsed in parse_ingredients(text):
        assert isinstance(parsed, Ingredient)


@given(st.lists(st.text(max_size=200), max_size=5))
def test_parse_ingredients_never_raises_on_lists(lines: list[str]) -> None:
    parse_ingredients(lines)


# --- Yields ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rendimento: 30 trufas médias", 30),
        ("Rende 12 porções", 12),
        ("Rendimento: 4 taças de mousse / 15 trufas", 15),
        ("20 unidades", 20),
        ("Rende 10 a 12 fatias", 10),
        ("Rendimento: 1 bolo de 20 cm", 1),
        ("Tempo de preparo: 40 minutos", None),
        ("", None),
        ("Rende bastante", None),
    ],
)
def test_parse_yield(text: str, expected: int | None) -> None:
    assert parse_yield(text) == expected


@pytest.mark.parametrize(
    ("line", "quantity", "unit", "name"),
    [
        ("1 e 1/2 xícara (chá) de açúcar", 1.5, "xícara (chá)", "açúcar"),
        ("1 e ½ xícara de leite", 1.5, "xícara", "leite"),
        ("meia xícara de óleo", 0.5, "xícara", "óleo"),
        ("meio quilo de farinha de trigo", 0.5, "kg", "farinha de trigo"),
        ("2 medidas (da lata) de leite", 2.0, "medida (lata)", "leite"),
    ],
)
def test_spoken_amounts_and_can_measures(
    line: str, quantity: float, unit: str, name: str
) -> None:
    parsed = parse_ingredient_line(line)
    assert parsed is not None
    assert (parsed.quantity, parsed.unit, parsed.name) == (quantity, unit, name)

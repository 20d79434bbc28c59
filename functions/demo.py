"""A confectioner's last 90 days, as the app sends them, generated from a seed.

`generate(seed, today)` returns the payloads of the `criarNovaReceita`,
`registrarDespesa` and `registrarPedido` calls a small confectionery business
would have made: Brazilian products and prices, customers, suppliers and
ingredient lines, with money as numbers or Brazilian text, dates ISO or
dd/mm/yyyy, products as text or objects and ingredients as free lines or
objects with a cost. The same seed and day always give the same payloads.

Every payload carries a `requestId` made of the seed and the record's place in
the full set, so loading a set twice stores it once, and a scaled-down set is a
subset of the full one (loading 10 % and then everything adds only the rest).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "DAYS",
    "EXPENSES",
    "ORDERS",
    "RECIPES",
    "DemoData",
    "brl",
    "generate",
    "today_in",
]

DAYS = 90
ORDERS = 200
EXPENSES = 150
RECIPES = 20
# Orders are taken up to two weeks ahead of their delivery.
_AHEAD_DAYS = 14


@dataclass(frozen=True)
class DemoData:
    """The payloads of one demo set, each list in date order."""

    seed: int
    start: date
    end: date
    recipes: list[dict[str, Any]]
    expenses: list[dict[str, Any]]
    orders: list[dict[str, Any]]

    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """(intent, payload) of every record: recipes, then expenses, then orders."""
        return [
            *(("criarNovaReceita", p) for p in self.recipes),
            *(("registrarDespesa", p) for p in self.expenses),
            *(("registrarPedido", p) for p in self.orders),
        ]

    def counts(self) -> dict[str, int]:
        """How many records of each kind the set holds (getUserStats' names)."""
        return {
            "expenses": len(self.expenses),
            "orders": len(self.orders),
            "recipes": len(self.recipes),
        }


# --- formats the app sends ----------------------------------------------------


def brl(cents: int, symbol: bool = True, grouped: bool = True) -> str:
    """Centavos as Brazilian text: `R$ 1.234,56`, `1.234,56` or `1234,56`."""
    whole, part = divmod(cents, 100)
    digits = f"{whole:,}".replace(",", ".") if grouped else str(whole)
    text = f"{digits},{part:02d}"
    return f"R$ {text}" if symbol else text


def _money(rng: random.Random, cents: int) -> str | float | int:
    """An amount in one of the app's formats (number, or text with or without R$)."""
    style = rng.random()
    if style < 0.3:
        return cents // 100 if cents % 100 == 0 else cents / 100
    if style < 0.6:
        return brl(cents)
    if style < 0.9:
        return brl(cents, symbol=False)
    return brl(cents, symbol=False, grouped=False)


def _day(rng: random.Random, day: date) -> str:
    """A date as ISO or as dd/mm/yyyy, as different app screens send them."""
    return day.isoformat() if rng.random() < 0.5 else day.strftime("%d/%m/%Y")


def _price(rng: random.Random, low: int, high: int, step: int = 50) -> int:
    """A price in centavos between `low` and `high`, on round steps (R$ 3,50)."""
    return rng.randrange(low, high + 1, step)


# --- recipes ------------------------------------------------------------------

# One ingredient: the app's free line, then the same as the object form's
# nome, quantidade and unidade, and what that amount costs in centavos.
_Ingredient = tuple[str, str, float, str, int]
# A recipe: name, yield (count, and how the app's text form says it), unit sale
# price range in centavos, and ingredient sections (None: no header).
_Recipe = tuple[
    str, int, str, tuple[int, int], list[tuple[str | None, list[_Ingredient]]]
]

_LEITE_CONDENSADO: _Ingredient = (
    "1 lata de leite condensado (395 g)",
    "leite condensado",
    1,
    "lata",
    749,
)
_CREME_DE_LEITE: _Ingredient = (
    "1 caixinha de creme de leite (200 g)",
    "creme de leite",
    1,
    "caixinha",
    399,
)
_MANTEIGA: _Ingredient = (
    "1 colher (sopa) de manteiga",
    "manteiga",
    1,
    "colher (sopa)",
    80,
)
_CHOCOLATE_PO: _Ingredient = (
    "2 colheres (sopa) de chocolate em pó 50%",
    "chocolate em pó 50%",
    2,
    "colher (sopa)",
    120,
)
_OVOS3: _Ingredient = ("3 ovos", "ovos", 3, "unidade", 210)
_OVOS4: _Ingredient = ("4 ovos", "ovos", 4, "unidade", 280)
_FARINHA2: _Ingredient = (
    "2 xícaras (chá) de farinha de trigo",
    "farinha de trigo",
    2,
    "xícara (chá)",
    150,
)
_ACUCAR2: _Ingredient = (
    "2 xícaras (chá) de açúcar",
    "açúcar",
    2,
    "xícara (chá)",
    130,
)
_FERMENTO: _Ingredient = (
    "1 colher (sopa) de fermento químico em pó",
    "fermento químico em pó",
    1,
    "colher (sopa)",
    40,
)
_OLEO: _Ingredient = ("1/2 xícara (chá) de óleo", "óleo", 0.5, "xícara (chá)", 90)
_LEITE: _Ingredient = ("1 xícara (chá) de leite", "leite", 1, "xícara (chá)", 110)
_GRANULADO: _Ingredient = (
    "100 g de chocolate granulado",
    "chocolate granulado",
    100,
    "g",
    350,
)

_BRIGADEIRO_MASSA = [_LEITE_CONDENSADO, _MANTEIGA, _CHOCOLATE_PO]

_RECIPES: list[_Recipe] = [
    (
        "Brigadeiro tradicional",
        25,
        "rende 25 unidades",
        (250, 350),
        [(None, [*_BRIGADEIRO_MASSA, _GRANULADO])],
    ),
    (
        "Brigadeiro gourmet de chocolate belga",
        30,
        "30 unidades de 15 g",
        (350, 450),
        [
            (
                None,
                [
                    _LEITE_CONDENSADO,
                    _CREME_DE_LEITE,
                    (
                        "150 g de chocolate belga 54% picado",
                        "chocolate belga 54%",
                        150,
                        "g",
                        1350,
                    ),
                    _MANTEIGA,
                    (
                        "100 g de chocolate belga granulado",
                        "chocolate belga granulado",
                        100,
                        "g",
                        990,
                    ),
                ],
            )
        ],
    ),
    (
        "Beijinho",
        25,
        "rende 25 docinhos",
        (250, 350),
        [
            (
                None,
                [
                    _LEITE_CONDENSADO,
                    _MANTEIGA,
                    (
                        "50 g de coco ralado",
                        "coco ralado",
                        50,
                        "g",
                        300,
                    ),
                    (
                        "Cravo-da-índia para decorar",
                        "cravo-da-índia",
                        25,
                        "unidade",
                        90,
                    ),
                ],
            )
        ],
    ),
    (
        "Cajuzinho",
        30,
        "30 unidades",
        (250, 350),
        [
            (
                None,
                [
                    _LEITE_CONDENSADO,
                    (
                        "1 xícara (chá) de amendoim torrado e moído",
                        "amendoim torrado",
                        1,
                        "xícara (chá)",
                        450,
                    ),
                    _MANTEIGA,
                    (
                        "30 amendoins inteiros para decorar",
                        "amendoim inteiro",
                        30,
                        "unidade",
                        120,
                    ),
                ],
            )
        ],
    ),
    (
        "Bolo de pote de ninho com Nutella",
        8,
        "8 potes de 250 ml",
        (1200, 1600),
        [
            (
                "Massa",
                [_OVOS4, _ACUCAR2, _FARINHA2, _LEITE, _OLEO, _FERMENTO],
            ),
            (
                "Recheio",
                [
                    _LEITE_CONDENSADO,
                    _CREME_DE_LEITE,
                    (
                        "1 xícara (chá) de leite em pó",
                        "leite em pó",
                        1,
                        "xícara (chá)",
                        600,
                    ),
                    ("200 g de Nutella", "Nutella", 200, "g", 1400),
                ],
            ),
        ],
    ),
    (
        "Bolo de pote de brigadeiro",
        8,
        "rende 8 potes",
        (1100, 1500),
        [
            (
                "Massa",
                [_OVOS4, _ACUCAR2, _FARINHA2, _LEITE, _OLEO, _CHOCOLATE_PO, _FERMENTO],
            ),
            ("Recheio", [*_BRIGADEIRO_MASSA, _CREME_DE_LEITE]),
        ],
    ),
    (
        "Torta de limão",
        12,
        "1 torta (12 fatias)",
        (700, 1000),
        [
            (
                "Massa",
                [
                    (
                        "1 pacote de biscoito de maisena (200 g)",
                        "biscoito de maisena",
                        1,
                        "pacote",
                        450,
                    ),
                    (
                        "100 g de manteiga derretida",
                        "manteiga",
                        100,
                        "g",
                        600,
                    ),
                ],
            ),
            (
                "Recheio",
                [
                    _LEITE_CONDENSADO,
                    _CREME_DE_LEITE,
                    (
                        "1/2 xícara (chá) de suco de limão",
                        "suco de limão",
                        0.5,
                        "xícara (chá)",
                        250,
                    ),
                    ("Raspas de 2 limões", "raspas de limão", 2, "unidade", 100),
                ],
            ),
            (
                "Cobertura",
                [
                    ("3 claras", "claras", 3, "unidade", 210),
                    (
                        "6 colheres (sopa) de açúcar",
                        "açúcar",
                        6,
                        "colher (sopa)",
                        60,
                    ),
                ],
            ),
        ],
    ),
    (
        "Bolo de cenoura com cobertura de chocolate",
        16,
        "16 fatias",
        (450, 650),
        [
            (
                "Massa",
                [
                    (
                        "3 cenouras médias picadas",
                        "cenoura",
                        3,
                        "unidade",
                        300,
                    ),
                    _OVOS4,
                    ("1 xícara (chá) de óleo", "óleo", 1, "xícara (chá)", 180),
                    _ACUCAR2,
                    _FARINHA2,
                    _FERMENTO,
                ],
            ),
            (
                "Cobertura",
                [
                    (
                        "1 xícara (chá) de chocolate em pó 50%",
                        "chocolate em pó 50%",
                        1,
                        "xícara (chá)",
                        700,
                    ),
                    (
                        "1 xícara (chá) de açúcar",
                        "açúcar",
                        1,
                        "xícara (chá)",
                        65,
                    ),
                    _MANTEIGA,
                    _LEITE,
                ],
            ),
        ],
    ),
    (
        "Pão de mel",
        20,
        "rende 20 unidades",
        (600, 900),
        [
            (
                "Massa",
                [
                    (
                        "1 xícara (chá) de mel",
                        "mel",
                        1,
                        "xícara (chá)",
                        1200,
                    ),
                    _LEITE,
                    _ACUCAR2,
                    (
                        "3 xícaras (chá) de farinha de trigo",
                        "farinha de trigo",
                        3,
                        "xícara (chá)",
                        225,
                    ),
                    _CHOCOLATE_PO,
                    (
                        "1 colher (chá) de canela em pó",
                        "canela em pó",
                        1,
                        "colher (chá)",
                        60,
                    ),
                    (
                        "1 colher (chá) de bicarbonato de sódio",
                        "bicarbonato de sódio",
                        1,
                        "colher (chá)",
                        20,
                    ),
                ],
            ),
            (
                "Cobertura",
                [
                    (
                        "500 g de chocolate ao leite para cobertura",
                        "chocolate ao leite para cobertura",
                        500,
                        "g",
                        2490,
                    ),
                ],
            ),
            (
                "Recheio",
                [
                    (
                        "400 g de doce de leite",
                        "doce de leite",
                        400,
                        "g",
                        1190,
                    ),
                ],
            ),
        ],
    ),
    (
        "Coxinha de frango com catupiry",
        50,
        "50 coxinhas de festa",
        (100, 150),
        [
            (
                "Recheio",
                [
                    (
                        "500 g de peito de frango cozido e desfiado",
                        "peito de frango",
                        500,
                        "g",
                        1100,
                    ),
                    ("1 cebola picada", "cebola", 1, "unidade", 70),
                    (
                        "200 g de requeijão tipo catupiry",
                        "requeijão tipo catupiry",
                        200,
                        "g",
                        990,
                    ),
                ],
            ),
            (
                "Massa",
                [
                    (
                        "2 xícaras (chá) de caldo de frango",
                        "caldo de frango",
                        2,
                        "xícara (chá)",
                        150,
                    ),
                    _FARINHA2,
                    _MANTEIGA,
                ],
            ),
            (
                "Empanar",
                [
                    (
                        "2 xícaras (chá) de farinha de rosca",
                        "farinha de rosca",
                        2,
                        "xícara (chá)",
                        400,
                    ),
                    ("Óleo para fritar", "óleo para fritura", 1, "litro", 1000),
                ],
            ),
        ],
    ),
    (
        "Empada de frango",
        20,
        "20 empadinhas",
        (350, 500),
        [
            (
                "Massa",
                [
                    (
                        "3 xícaras (chá) de farinha de trigo",
                        "farinha de trigo",
                        3,
                        "xícara (chá)",
                        225,
                    ),
                    (
                        "200 g de manteiga gelada",
                        "manteiga",
                        200,
                        "g",
                        1200,
                    ),
                    ("1 gema", "gema", 1, "unidade", 70),
                ],
            ),
            (
                "Recheio",
                [
                    (
                        "300 g de frango cozido e desfiado",
                        "frango",
                        300,
                        "g",
                        700,
                    ),
                    (
                        "1/2 xícara (chá) de azeitonas picadas",
                        "azeitonas",
                        0.5,
                        "xícara (chá)",
                        500,
                    ),
                    ("Sal a gosto", "sal", 1, "pitada", 5),
                ],
            ),
        ],
    ),
    (
        "Brownie de chocolate",
        12,
        "12 quadrados",
        (800, 1200),
        [
            (
                None,
                [
                    (
                        "200 g de chocolate meio amargo picado",
                        "chocolate meio amargo",
                        200,
                        "g",
                        1400,
                    ),
                    ("150 g de manteiga", "manteiga", 150, "g", 900),
                    _OVOS3,
                    (
                        "1 e 1/2 xícara (chá) de açúcar",
                        "açúcar",
                        1.5,
                        "xícara (chá)",
                        100,
                    ),
                    (
                        "1 xícara (chá) de farinha de trigo",
                        "farinha de trigo",
                        1,
                        "xícara (chá)",
                        75,
                    ),
                    (
                        "1 xícara (chá) de nozes picadas",
                        "nozes",
                        1,
                        "xícara (chá)",
                        1500,
                    ),
                ],
            )
        ],
    ),
    (
        "Palha italiana",
        15,
        "15 pedaços",
        (500, 800),
        [
            (
                None,
                [
                    *_BRIGADEIRO_MASSA,
                    (
                        "200 g de biscoito de maisena quebrado",
                        "biscoito de maisena",
                        200,
                        "g",
                        450,
                    ),
                    (
                        "Açúcar de confeiteiro para polvilhar",
                        "açúcar de confeiteiro",
                        50,
                        "g",
                        150,
                    ),
                ],
            )
        ],
    ),
    (
        "Bombom de morango",
        10,
        "10 bombons",
        (900, 1300),
        [
            (
                None,
                [
                    ("10 morangos grandes", "morango", 10, "unidade", 800),
                    _LEITE_CONDENSADO,
                    _MANTEIGA,
                    (
                        "300 g de chocolate ao leite derretido",
                        "chocolate ao leite",
                        300,
                        "g",
                        1500,
                    ),
                ],
            )
        ],
    ),
    (
        "Pudim de leite condensado",
        10,
        "1 pudim (10 fatias)",
        (700, 900),
        [
            (
                "Pudim",
                [
                    _LEITE_CONDENSADO,
                    (
                        "2 medidas (da lata) de leite",
                        "leite",
                        2,
                        "medida (da lata)",
                        450,
                    ),
                    _OVOS3,
                ],
            ),
            (
                "Calda",
                [
                    ("1 xícara (chá) de açúcar", "açúcar", 1, "xícara (chá)", 65),
                    ("1/2 xícara (chá) de água", "água", 0.5, "xícara (chá)", 0),
                ],
            ),
        ],
    ),
    (
        "Quindim",
        12,
        "12 quindins",
        (600, 900),
        [
            (
                None,
                [
                    ("12 gemas peneiradas", "gemas", 12, "unidade", 840),
                    ("250 g de açúcar", "açúcar", 250, "g", 130),
                    ("100 g de coco ralado", "coco ralado", 100, "g", 600),
                    (
                        "1 colher (sopa) de manteiga derretida",
                        "manteiga",
                        1,
                        "colher (sopa)",
                        80,
                    ),
                ],
            )
        ],
    ),
    (
        "Cheesecake de frutas vermelhas",
        12,
        "1 torta de 22 cm (12 fatias)",
        (1000, 1400),
        [
            (
                "Base",
                [
                    (
                        "200 g de biscoito maisena triturado",
                        "biscoito de maisena",
                        200,
                        "g",
                        450,
                    ),
                    ("80 g de manteiga derretida", "manteiga", 80, "g", 480),
                ],
            ),
            (
                "Creme",
                [
                    (
                        "600 g de cream cheese",
                        "cream cheese",
                        600,
                        "g",
                        3600,
                    ),
                    _LEITE_CONDENSADO,
                    _OVOS3,
                ],
            ),
            (
                "Calda",
                [
                    (
                        "300 g de frutas vermelhas congeladas",
                        "frutas vermelhas congeladas",
                        300,
                        "g",
                        1800,
                    ),
                    (
                        "1/2 xícara (chá) de açúcar",
                        "açúcar",
                        0.5,
                        "xícara (chá)",
                        35,
                    ),
                ],
            ),
        ],
    ),
    (
        "Bolo de chocolate com brigadeiro",
        20,
        "20 fatias",
        (600, 900),
        [
            (
                "Massa",
                [_OVOS4, _ACUCAR2, _FARINHA2, _LEITE, _OLEO, _CHOCOLATE_PO, _FERMENTO],
            ),
            (
                "Recheio e cobertura",
                [
                    _LEITE_CONDENSADO,
                    _LEITE_CONDENSADO,
                    _CREME_DE_LEITE,
                    _CHOCOLATE_PO,
                    _MANTEIGA,
                    _GRANULADO,
                ],
            ),
        ],
    ),
    (
        "Trufa de maracujá",
        25,
        "25 trufas",
        (350, 500),
        [
            (
                "Recheio",
                [
                    _LEITE_CONDENSADO,
                    _CREME_DE_LEITE,
                    (
                        "1/2 xícara (chá) de suco concentrado de maracujá",
                        "suco concentrado de maracujá",
                        0.5,
                        "xícara (chá)",
                        300,
                    ),
                ],
            ),
            (
                "Casquinha",
                [
                    (
                        "400 g de chocolate branco nobre",
                        "chocolate branco",
                        400,
                        "g",
                        2200,
                    ),
                ],
            ),
        ],
    ),
    (
        "Pão de queijo",
        40,
        "40 pães de queijo pequenos",
        (100, 150),
        [
            (
                None,
                [
                    ("500 g de polvilho azedo", "polvilho azedo", 500, "g", 700),
                    ("1 xícara (chá) de leite", "leite", 1, "xícara (chá)", 110),
                    _OLEO,
                    (
                        "2 xícaras (chá) de queijo minas meia cura ralado",
                        "queijo minas meia cura",
                        2,
                        "xícara (chá)",
                        1800,
                    ),
                    _OVOS3,
                    ("1 colher (chá) de sal", "sal", 1, "colher (chá)", 5),
                ],
            )
        ],
    ),
]


# How the recipes' ingredients travel: typed line by line, as costed objects
# from the costing screen, or pasted as one block of text.
_INGREDIENT_STYLES = ["lines"] * 12 + ["objects"] * 6 + ["text"] * 2


def _recipe(rng: random.Random, recipe: _Recipe, style: str) -> dict[str, Any]:
    """The app's payload for one recipe, its ingredients in `style`."""
    name, servings, servings_text, price_range, sections = recipe
    ingredients: list[Any] | str
    if style == "objects":
        # The costing screen sends objects, each with what its amount costs.
        ingredients = [
            {
                "nome": item[1],
                "quantidade": item[2],
                "unidade": item[3],
                "custo": _money(rng, item[4]),
                **({"secao": section} if section else {}),
            }
            for section, items in sections
            for item in items
        ]
    else:
        lines: list[str] = []
        for section, items in sections:
            if section:
                lines.append(f"{section}:")
            lines.extend(item[0] for item in items)
        ingredients = "\n".join(lines) if style == "text" else lines
    payload: dict[str, Any] = {
        "recipeName": name,
        "ingredients": ingredients,
        "rendimento": servings if rng.random() < 0.5 else servings_text,
        "precoVenda": _money(rng, _price(rng, *price_range)),
    }
    return payload


# --- orders -------------------------------------------------------------------

# Product, price range per unit in centavos, and usual quantities.
_PRODUCTS: list[tuple[str, int, int, tuple[float, ...]]] = [
    ("Brigadeiro gourmet", 250, 400, (20, 25, 30, 50, 100)),
    ("Beijinho", 250, 350, (20, 25, 50)),
    ("Cajuzinho", 250, 350, (20, 25, 50)),
    ("Bolo de pote de ninho com Nutella", 1200, 1600, (1, 2, 3, 4, 6, 10)),
    ("Bolo de pote de brigadeiro", 1100, 1500, (1, 2, 3, 5, 10)),
    ("Torta de limão", 6000, 9000, (1, 1, 2)),
    ("Bolo de cenoura com cobertura", 4500, 7000, (1, 1, 2)),
    ("Pão de mel", 600, 900, (5, 10, 12, 20, 30)),
    ("Coxinha de frango", 100, 150, (25, 50, 100)),
    ("Empada de frango", 350, 500, (10, 20, 30)),
    ("Brownie", 800, 1200, (4, 6, 10, 12)),
    ("Palha italiana", 500, 800, (5, 10, 15)),
    ("Bombom de morango", 900, 1300, (6, 10, 12)),
    ("Pudim de leite condensado", 5500, 7500, (1,)),
    ("Quindim", 600, 900, (6, 10, 12)),
    ("Cheesecake de frutas vermelhas", 7500, 11000, (1,)),
    ("Trufa de maracujá", 350, 500, (10, 20, 30)),
    ("Bolo de aniversário (kg)", 9000, 13000, (1, 1.5, 2, 2.5, 3)),
    ("Cento de salgados sortidos", 8000, 12000, (1, 2, 3)),
    ("Pão de queijo", 100, 150, (20, 30, 50)),
]

_CUSTOMERS = [
    "Mariana Souza",
    "Juliana Oliveira",
    "Carla Mendes",
    "Fernanda Lima",
    "Buffet Sabor & Arte",
    "Patrícia Rocha",
    "Ana Beatriz Costa",
    "Cafeteria Grão Mineiro",
    "Luciana Ferreira",
    "Roberta Almeida",
    "Camila Ribeiro",
    "Tatiane dos Santos",
    "Padaria Pão Dourado",
    "Renata Carvalho",
    "Débora Martins",
    "Aline Gomes",
    "Vanessa Barbosa",
    "Priscila Araújo",
    "Empório Bom Gosto",
    "Letícia Cardoso",
    "Gabriela Teixeira",
    "Marcos Pereira",
    "João Paulo Nunes",
    "Rafael Moreira",
    "Escola Pequeno Príncipe",
    "Eduardo Dias",
    "Thiago Castro",
    "Bruno Correia",
    "Sônia Ramos",
    "Cláudia Pinto",
    "Dona Lourdes",
    "Maria José da Silva",
    "Clínica Sorriso Feliz",
    "Helena Cavalcanti",
    "Isabela Monteiro",
]

_ORDER_NOTES = [
    "Entregar na portaria",
    "Retirada no local",
    "Tema: Frozen",
    "Tema: futebol, cores do time",
    "Festa de 1 ano, caixinhas individuais",
    "Sem granulado colorido",
    "Pagamento via Pix na entrega",
    "Metade no cartão, metade no Pix",
    "Embalar para presente",
    "Chá de bebê, tons de azul",
    "Casamento civil, entregar até 10h",
]

# Friday and Saturday deliveries dominate (parties), Sunday next; index = weekday().
_WEEKDAY_WEIGHT = (1.0, 0.8, 1.0, 1.2, 2.5, 3.0, 1.5)


def _product_line(
    rng: random.Random, name: str, price: int, quantity: float
) -> str | dict[str, Any]:
    """A product as text (`50 Brigadeiro gourmet`, `2x Torta`) or an object."""
    if quantity == int(quantity) and rng.random() < 0.4:
        separator = "x " if rng.random() < 0.5 else " "
        return f"{int(quantity)}{separator}{name}"
    return {
        "produto": name,
        "quantidade": int(quantity) if quantity == int(quantity) else quantity,
        "precoUnitario": _money(rng, price),
    }


def _status(rng: random.Random, delivery: date, today: date) -> str:
    if delivery < today:
        return "cancelado" if rng.random() < 0.06 else "entregue"
    if delivery == today:
        return rng.choice(("pronto", "em_producao", "entregue"))
    if (delivery - today).days <= 2:
        return rng.choice(("confirmado", "confirmado", "em_producao"))
    return rng.choice(("pendente", "pendente", "confirmado"))


def _orders(rng: random.Random, start: date, today: date) -> list[dict[str, Any]]:
    prices = {name: _price(rng, low, high) for name, low, high, _ in _PRODUCTS}
    days = [start + timedelta(days=n) for n in range((today - start).days + 1)]
    days += [today + timedelta(days=n) for n in range(1, _AHEAD_DAYS + 1)]
    # Fewer orders are already booked the further the day lies ahead.
    weights = [
        _WEEKDAY_WEIGHT[d.weekday()]
        * (1.0 if d <= today else max(0.1, 1 - (d - today).days / (_AHEAD_DAYS + 1)))
        for d in days
    ]
    customer_weights = [1 / (rank + 2) for rank in range(len(_CUSTOMERS))]
    deliveries = sorted(rng.choices(days, weights, k=ORDERS))

    orders = []
    for delivery in deliveries:
        picks = rng.sample(_PRODUCTS, k=rng.choice((1, 1, 1, 2, 2, 3)))
        products = []
        total = 0
        for name, _, _, quantities in picks:
            quantity = rng.choice(quantities)
            total += round(prices[name] * quantity)
            products.append(_product_line(rng, name, prices[name], quantity))
        status = _status(rng, delivery, today)
        order: dict[str, Any] = {
            "cliente": rng.choices(_CUSTOMERS, customer_weights)[0],
            "produtos": products,
            "dataEntrega": _day(rng, delivery),
            "status": status,
        }
        note = None
        if rng.random() < 0.2:
            fee = _price(rng, 1000, 2500, 500)
            total += fee
            note = f"Taxa de entrega {brl(fee)} inclusa"
        elif rng.random() < 0.25:
            note = rng.choice(_ORDER_NOTES)
        if status == "cancelado":
            note = "Cliente cancelou"
        order["valor"] = _money(rng, total)
        if note:
            order["observacoes"] = note
        orders.append(order)
    return orders


# --- expenses -----------------------------------------------------------------

# type: (weight among the day-to-day expenses, suppliers, descriptions, range)
_EXPENSE_KINDS: dict[
    str, tuple[float, Sequence[str], Sequence[str | None], tuple[int, int]]
] = {
    "ingredientes": (
        0.6,
        (
            "Atacadão",
            "Assaí Atacadista",
            "Casa do Confeiteiro",
            "Sam's Club",
            "Hortifruti Boa Safra",
            "Mercado Municipal",
        ),
        (
            "Leite condensado (caixa com 27), creme de leite e manteiga",
            "Chocolate em pó 50%, granulado e chocolate belga",
            "Farinha de trigo, açúcar, ovos e óleo",
            "Morangos, limões e cenouras",
            "Leite em pó, Nutella e coco ralado",
            "Frango, requeijão e farinha de rosca para os salgados",
            "Cream cheese e frutas vermelhas congeladas",
            None,
        ),
        (3000, 60000),
    ),
    "embalagens": (
        0.2,
        (
            "Casa do Confeiteiro",
            "Distribuidora de Embalagens Rio Claro",
            "Embalagens Mil",
        ),
        (
            "Potes de 250 ml com tampa (100 un)",
            "Forminhas nº 4 para docinhos (1.000 un)",
            "Caixas para bolo e torta",
            "Sacos de celofane e fitas de cetim",
            "Etiquetas adesivas com a logo",
            None,
        ),
        (3000, 35000),
    ),
    "transporte": (
        0.15,
        ("Uber", "99", "Posto Ipiranga", "Lalamove"),
        (
            "Entrega de encomendas",
            "Gasolina para as entregas da semana",
            "Frete de compra no atacado",
            None,
        ),
        (1500, 12000),
    ),
    "marketing": (
        0.03,
        ("Gráfica Rápida Express", "Meta Ads (Instagram)"),
        ("Cartões de visita e panfletos", "Impulsionamento de publicação", None),
        (5000, 30000),
    ),
    "equipamentos": (
        0.02,
        ("Magazine Luiza", "Casa do Confeiteiro", "Mercado Livre"),
        (
            "Batedeira planetária",
            "Formas de alumínio e assadeiras",
            "Termômetro culinário",
            "Bicos de confeitar e sacos",
        ),
        (4000, 150000),
    ),
}


def _recurring(
    rng: random.Random, start: date, today: date
) -> list[tuple[date, str, str, str | None, int]]:
    """Bills that come every month or so: light, water, gas, ads."""
    bills: list[tuple[date, str, str, str | None, int]] = []
    first_month = date(start.year, start.month, 1)
    month = first_month
    while month <= today:
        label = month.strftime("%m/%Y")
        for kind, supplier, text, low, high, due in (
            ("energia", "Enel", f"Conta de luz {label}", 18000, 42000, 10),
            ("água", "Sabesp", f"Conta de água {label}", 6000, 14000, 15),
            ("marketing", "Meta Ads (Instagram)", "Anúncios do mês", 8000, 25000, 5),
        ):
            day = month.replace(day=due)
            if start <= day <= today:
                bills.append((day, kind, supplier, text, _price(rng, low, high, 1)))
        month = (month + timedelta(days=32)).replace(day=1)
    day = start + timedelta(days=rng.randrange(0, 10))
    while day <= today:
        supplier = rng.choice(("Ultragaz", "Liquigás"))
        bills.append((day, "gás", supplier, "Botijão P13", _price(rng, 11000, 13500)))
        day += timedelta(days=rng.randrange(18, 26))
    return bills


def _expenses(rng: random.Random, start: date, today: date) -> list[dict[str, Any]]:
    entries = _recurring(rng, start, today)
    kinds = list(_EXPENSE_KINDS)
    kind_weights = [_EXPENSE_KINDS[k][0] for k in kinds]
    span = (today - start).days
    while len(entries) < EXPENSES:
        kind = rng.choices(kinds, kind_weights)[0]
        _, suppliers, descriptions, (low, high) = _EXPENSE_KINDS[kind]
        day = start + timedelta(days=rng.randrange(span + 1))
        # Most purchases are small; a few restocks are big.
        amount = min(
            high, max(low, round(rng.lognormvariate(0, 0.6) * (low + high) / 4))
        )
        entries.append(
            (day, kind, rng.choice(suppliers), rng.choice(descriptions), amount)
        )
    entries.sort(key=lambda e: (e[0], e[1], e[2]))

    expenses = []
    for day, kind, supplier, description, amount in entries:
        expense: dict[str, Any] = {
            "data": _day(rng, day),
            # Users type the category; some capitalise it.
            "tipo": kind.capitalize() if rng.random() < 0.2 else kind,
            "valor": _money(rng, amount),
            "fornecedor": supplier,
        }
        if description:
            expense["descricao"] = description
        expenses.append(expense)
    return expenses


# --- the set ------------------------------------------------------------------


def today_in(timezone: str = "America/Sao_Paulo") -> date:
    """Today's date where the business is."""
    return datetime.now(ZoneInfo(timezone)).date()


def _subset(items: list[dict[str, Any]], scale: float) -> list[dict[str, Any]]:
    """`scale` of `items`, spread evenly over the list (so over the period)."""
    if scale >= 1:
        return items
    count = max(1, round(len(items) * scale))
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def generate(seed: int = 42, today: date | None = None, scale: float = 1.0) -> DemoData:
    """The demo set of `seed` for the 90 days ending `today` (São Paulo's today).

    `scale` in (0, 1] keeps that share of each kind (at least one), for quick
    demos and tests. Raises ValueError for a scale outside that range.
    """
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    end = today or today_in()
    start = end - timedelta(days=DAYS - 1)
    # One generator per kind: changing how orders are drawn leaves the
    # recipes and expenses of a seed as they were.
    styles = list(_INGREDIENT_STYLES)
    random.Random(f"{seed}:styles").shuffle(styles)
    recipes = [
        _recipe(random.Random(f"{seed}:recipe:{i}"), recipe, style)
        for i, (recipe, style) in enumerate(zip(_RECIPES, styles, strict=True))
    ]
    expenses = _expenses(random.Random(f"{seed}:expenses"), start, end)
    orders = _orders(random.Random(f"{seed}:orders"), start, end)
    for kind, items in (
        ("receita", recipes),
        ("despesa", expenses),
        ("pedido", orders),
    ):
        for index, item in enumerate(items):
            item["requestId"] = f"demo-{seed}-{kind}-{index:03d}"
    return DemoData(
        seed=seed,
        start=start,
        end=end,
        recipes=_subset(recipes, scale),
        expenses=_subset(expenses, scale),
        orders=_subset(orders, scale),
    )

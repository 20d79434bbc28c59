"""gerarAnalise: figures checked against hand-computed values on a small data
set created through the intents; the model path through a local fake of the
Gemini REST API (generateContent), including errors that fall back to the
deterministic text; cache hits that do not count against the plan.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from functions.analysis_text import brl, normalise_question
from functions.plans import month_key

TODAY = datetime(2026, 5, 28, 15, 0, tzinfo=UTC)
MAY = {"de": "2026-05-01", "ate": "2026-05-31"}


def intent(client: Any, token: str, name: str, payload: Any) -> dict[str, Any]:
    return dict(
        client.ok("assistenteHttp", {"intent": name, "payload": payload}, token)
    )


def analyses_used(services: Any, uid: str) -> int:
    profile = services.store.get(f"users/{uid}") or {}
    month = month_key(services.clock(), services.settings.timezone)
    return int(((profile.get("usage") or {}).get(month) or {}).get("analyses", 0))


@pytest.fixture()
def business(client: Any, services: Any, alice: str) -> None:
    """A month of a small bakery, plus a month before and a day after."""
    services.clock = lambda: TODAY
    for day, kind, value in [
        ("2026-05-03", "ingredientes", "200,00"),
        ("10/05/2026", "Embalagens", 50),
        ("2026-05-20", "ingredientes", "R$ 100,00"),
        ("2026-04-15", "ingredientes", 80),
        ("2026-06-02", "gás", 30),
    ]:
        intent(
            client,
            alice,
            "registrarDespesa",
            {"data": day, "tipo": kind, "valor": value, "fornecedor": "Atacado"},
        )
    bolo = {"produto": "Bolo de pote", "quantidade": 2, "precoUnitario": 12}
    torta = {"produto": "Torta", "quantidade": 1, "precoUnitario": 26}
    for customer, day, products, value, status in [
        ("Ana", "2026-05-05", [bolo, torta], 50, "entregue"),
        ("Bruno", "2026-05-12", ["3x Brigadeiro"], 30, "entregue"),
        ("Ana", "2026-05-25", [{**bolo, "quantidade": 5}], 60, "confirmado"),
        ("Carla", "2026-05-15", [torta], 40, "cancelado"),
        ("Bruno", "2026-05-30", [{**bolo, "quantidade": 1}], 12, "pendente"),
        ("Dani", "2026-04-20", [torta], 100, "entregue"),
    ]:
        intent(
            client,
            alice,
            "registrarPedido",
            {
                "cliente": customer,
                "produtos": products,
                "dataEntrega": day,
                "valor": value,
                "status": status,
            },
        )
    intent(
        client,
        alice,
        "criarNovaReceita",
        {
            "recipeName": "Bolo de pote",
            "ingredients": [
                {"nome": "farinha", "quantidade": 1, "unidade": "xícara", "custo": 2},
                {"nome": "ovos", "quantidade": 3, "unidade": "unidade", "custo": 3},
            ],
            "rendimento": 10,
            "precoVenda": 2,
        },
    )
    intent(
        client,
        alice,
        "criarNovaReceita",
        {"recipeName": "Brigadeiro", "ingredients": ["1 lata de leite condensado"]},
    )


def test_figures_match_hand_computed_values(
    client: Any, services: Any, alice: str, business: None
) -> None:
    reply = intent(
        client, alice, "gerarAnalise", {"query": "Qual foi meu lucro?", **MAY}
    )
    s = reply["summary"]

    assert reply["success"] is True and reply["cached"] is False
    assert reply["source"] == "deterministico"
    assert s["periodo"] == {"de": "2026-05-01", "ate": "2026-05-31", "dias": 31}
    assert s["receita"] == 152.00  # 50 + 30 + 60 + 12; the cancelled 40 is out
    assert s["despesas"] == 350.00  # 200 + 50 + 100
    assert s["lucro"] == -198.00
    assert s["margem"] == -130.3  # -198 / 152
    assert s["pedidos"] == 4 and s["ticketMedio"] == 38.00
    assert s["despesasPorTipo"] == [
        {"tipo": "ingredientes", "valor": 300.0, "percentual": 85.7},
        {"tipo": "embalagens", "valor": 50.0, "percentual": 14.3},
    ]
    assert s["principaisClientes"] == [
        {"cliente": "Ana", "pedidos": 2, "valor": 110.0},
        {"cliente": "Bruno", "pedidos": 2, "valor": 42.0},
    ]
    assert s["principaisProdutos"] == [
        {"produto": "Bolo de pote", "quantidade": 8.0, "valor": 96.0},
        {"produto": "Brigadeiro", "quantidade": 3.0, "valor": None},
        {"produto": "Torta", "quantidade": 1.0, "valor": 26.0},
    ]
    assert s["pedidosPorStatus"] == {
        "cancelado": 1,
        "confirmado": 1,
        "entregue": 2,
        "pendente": 1,
    }
    assert s["proximasEntregas"] == [
        {
            "cliente": "Bruno",
            "dataEntrega": "2026-05-30",
            "valor": 12.0,
            "status": "pendente",
        }
    ]
    assert s["mesAMes"] == {
        "mesAtual": "2026-05",
        "mesAnterior": "2026-04",
        "diaFinal": 31,
        "receitaAtual": 152.0,
        "receitaAnterior": 100.0,
        "variacaoReceita": 52.0,
        "despesasAtual": 350.0,
        "despesasAnterior": 80.0,
        "variacaoDespesas": 337.5,
    }
    assert s["receitas"] == [
        {
            "nome": "Bolo de pote",
            "custoTotal": 5.0,
            "rendimento": 10,
            "custoPorUnidade": 0.5,
            "precoVenda": 2.0,
            "margem": 75.0,
        }
    ]
    text = reply["analysis"]
    assert "prejuízo de R$ 198,00" in text and "R$ 152,00" in text


def test_default_period_is_the_last_30_days(
    client: Any, alice: str, business: None
) -> None:
    reply = intent(client, alice, "gerarAnalise", {"query": "Como estou?"})
    assert reply["summary"]["periodo"] == {
        "de": "2026-04-29",
        "ate": "2026-05-28",
        "dias": 30,
    }
    assert reply["summary"]["receita"] == 140.0  # without the 30/05 delivery


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Quais produtos vendem mais?", "Produtos mais vendidos: Bolo de pote"),
        ("Onde estou gastando?", "ingredientes: R$ 300,00"),
        ("O que posso melhorar?", "Sugestões:"),
        ("Quem são meus melhores clientes?", "Principais clientes: Ana"),
        ("Quanto custa cada receitas?", "Bolo de pote: custo R$ 5,00"),
    ],
)
def test_deterministic_text_answers_common_questions(
    client: Any, alice: str, business: None, question: str, expected: str
) -> None:
    reply = intent(client, alice, "gerarAnalise", {"query": question, **MAY})
    assert expected in reply["analysis"]


def test_cached_reply_is_not_charged_and_writes_invalidate_it(
    client: Any, services: Any, alice: str, business: None
) -> None:
    first = intent(client, alice, "gerarAnalise", {"query": "Meu lucro?", **MAY})
    again = intent(client, alice, "gerarAnalise", {"query": "  meu LUCRO ", **MAY})

    assert first["cached"] is False and again["cached"] is True
    assert analyses_used(services, "alice") == 1

    intent(
        client,
        alice,
        "registrarDespesa",
        {"data": "2026-05-21", "tipo": "gás", "valor": 10, "fornecedor": "Gás"},
    )
    fresh = intent(client, alice, "gerarAnalise", {"query": "Meu lucro?", **MAY})
    assert fresh["cached"] is False and fresh["summary"]["despesas"] == 360.0
    assert analyses_used(services, "alice") == 2


def test_analysis_limit(client: Any, services: Any, alice: str) -> None:
    services.clock = lambda: TODAY
    month = month_key(TODAY, services.settings.timezone)
    services.store.set(
        "users/alice", {"plan": "free", "usage": {month: {"analyses": 10}}}
    )

    error = client.error(
        "assistenteHttp",
        {"intent": "gerarAnalise", "payload": {"query": "lucro"}},
        alice,
    )

    assert error["status"] == "RESOURCE_EXHAUSTED"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "query"),
        ({"query": "lucro", "de": "2026-05-10", "ate": "2026-05-01"}, "ate"),
        ({"query": "lucro", "de": "31/02/2026"}, "de"),
        ({"query": "lucro", "de": "2024-01-01", "ate": "2026-01-01"}, "de"),
    ],
)
def test_bad_analysis_payloads(
    client: Any, alice: str, payload: dict[str, Any], field: str
) -> None:
    error = client.error(
        "assistenteHttp", {"intent": "gerarAnalise", "payload": payload}, alice
    )
    assert error["status"] == "INVALID_ARGUMENT"
    assert field in error["details"]["fields"]


def test_normalised_question_and_money() -> None:
    assert normalise_question("  Qual é o MEU lucro?! ") == "qual e o meu lucro"
    assert brl(1234.5) == "R$ 1.234,50" and brl(-3.6) == "-R$ 3,60"


# --- the model, through a local fake of the Gemini REST API --------------------


class FakeGemini:
    """Answers `POST /v1beta/models/{model}:generateContent` like the API."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(
                    {
                        "path": self.path,
                        "body": body,
                        "key": self.headers.get("x-goog-api-key"),
                    }
                )
                if fake.mode == "hang":
                    fake.release.wait(10)  # longer than the client's timeout
                    return
                if fake.mode == "500":
                    self._send(
                        500,
                        {
                            "error": {
                                "code": 500,
                                "message": "boom",
                                "status": "INTERNAL",
                            }
                        },
                    )
                    return
                self._send(
                    200,
                    {
                        "candidates": [
                            {
                                "content": {
                                    "role": "model",
                                    "parts": [
                                        {"text": "Resposta do modelo: lucro negativo."}
                                    ],
                                },
                                "finishReason": "STOP",
                            }
                        ]
                    },
                )

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture()
def gemini(services: Any) -> Iterator[FakeGemini]:
    fake = FakeGemini()
    services.settings = dataclasses.replace(
        services.settings,
        gemini_api_key="test-key",
        gemini_base_url=fake.url,
        gemini_timeout_seconds=1.0,
        gemini_model="gemini-test",
    )
    yield fake
    fake.close()


def test_model_answers_from_the_figures_and_the_question(
    client: Any, alice: str, business: None, gemini: FakeGemini
) -> None:
    reply = intent(client, alice, "gerarAnalise", {"query": "Estou lucrando?", **MAY})

    assert reply["source"] == "gemini"
    assert reply["analysis"] == "Resposta do modelo: lucro negativo."
    (request,) = gemini.requests
    assert request["path"].endswith("/models/gemini-test:generateContent")
    assert request["key"] == "test-key"
    prompt = request["body"]["contents"][0]["parts"][0]["text"]
    assert "Estou lucrando?" in prompt
    figures = json.loads(prompt.split("\n", 1)[1].split("\n\nPergunta")[0])
    assert figures["receita"] == 152.0 and figures["lucro"] == -198.0
    assert "Atacado" not in prompt  # records themselves never reach the model
    system = request["body"]["systemInstruction"]["parts"][0]["text"]
    assert "português" in system


@pytest.mark.parametrize("mode", ["500", "hang"])
def test_model_failure_falls_back_to_the_deterministic_text(
    client: Any,
    alice: str,
    business: None,
    gemini: FakeGemini,
    mode: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gemini.mode = mode

    reply = intent(client, alice, "gerarAnalise", {"query": "Meu lucro?", **MAY})

    assert reply["source"] == "deterministico"
    assert "prejuízo de R$ 198,00" in reply["analysis"]
    assert len(gemini.requests) == 1  # no retries
    assert any(getattr(r, "event", None) == "genai_fallback" for r in caplog.records)


def test_a_month_so_far_is_compared_with_the_same_days_before() -> None:
    from datetime import date

    from functions.analysis import _month_over_month

    orders = [
        {"deliveryDate": "2026-11-02", "total": 1000, "status": "entregue"},
        {"deliveryDate": "2026-11-20", "total": 9000, "status": "entregue"},
        {"deliveryDate": "2026-12-02", "total": 1500, "status": "entregue"},
    ]
    mom = _month_over_month(date(2026, 12, 3), [], orders)

    assert (mom["receitaAtual"], mom["receitaAnterior"]) == (15.0, 10.0)
    assert mom["variacaoReceita"] == 50.0
    assert mom["diaFinal"] == 3

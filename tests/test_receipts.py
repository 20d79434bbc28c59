"""Tests for functions.receipts and functions.nfe on the shared receipt texts.

Every file of tests/data/receipts/ (a copy of the shared receipt texts) is
parsed; the expected values are the README's table there (total, issue date,
supplier CNPJ, access key) and its notes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from functions import nfe
from functions.receipts import parse_receipt

RECEIPTS = Path(__file__).resolve().parent / "data" / "receipts"
TODAY = date(2026, 12, 3)

# file: (total centavos, issued, CNPJ, access key or None, alert codes)
EXPECTED = {
    "r01_pr_nfce_consulta_labels_apart": (
        2495,
        datetime(2025, 2, 28, 9, 47),
        "10.203.040/0001-94",
        "41250210203040000194651330003978831060018400",
        set(),
    ),
    "r02_sc_ecf_cupom_fiscal_no_chave": (
        11525,
        datetime(2024, 9, 20, 15, 24, 51),
        "20.304.050/0095-50",
        None,
        set(),
    ),
    "r03_pe_nfce_restaurant_no_cnpj_no_chave": (
        19013,
        datetime(2025, 1, 6, 12, 40),
        None,
        None,
        set(),
    ),
    "r04_sp_sat_webprint_discounts": (
        35204,
        datetime(2025, 3, 15, 20, 51, 35),
        "30.405.060/0013-99",
        "35250330405060001399590007123453032840117308",
        set(),
    ),
    "r06_sp_sat_chocolate_masked_cpf": (
        14994,
        datetime(2025, 3, 19, 8, 41, 12),
        "50.607.080/0001-16",
        "35250350607080000116590013001230154050067968",
        set(),
    ),
    "r07_rs_nfce_split_cnpj_broken_total": (
        2597,
        datetime(2025, 3, 21, 12, 32, 45),
        "60.708.090/0161-03",
        "43250360708090016103655100000770731139695725",
        {"cnpj_da_chave"},
    ),
    "r09_sp_sat_thousands_negative_discount": (
        158158,
        datetime(2024, 10, 20, 10, 32, 55),
        "41.526.374/0011-02",
        "35241041526374001102590001112220988944023979",
        set(),
    ),
    "r11_rj_cupom_de_venda_ocr_letters_in_cnpj": (
        1531,
        datetime(2025, 2, 12, 14, 49, 4),
        "80.901.020/0001-72",
        None,
        {"nao_fiscal"},
    ),
    "r13_ba_nfce_contingencia_mismatches": (
        4900,
        None,
        "90.102.030/0001-00",
        "29250390102030000100650050001534809238329152",
        {"cnpj_da_chave", "contingencia", "data_divergente_chave"},
    ),
    "r15_pr_card_slip_not_fiscal": (
        100000,
        datetime(2024, 12, 15, 17, 11, 21),
        None,
        None,
        {"nao_fiscal", "valor_ambiguo"},
    ),
}


def read(name: str) -> str:
    return (RECEIPTS / f"{name}.txt").read_text(encoding="utf-8")


def test_every_receipt_file_has_an_expectation() -> None:
    assert {p.stem for p in RECEIPTS.glob("*.txt")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_receipt_figures_match_the_readme(name: str) -> None:
    total, issued, cnpj, key, alerts = EXPECTED[name]

    receipt = parse_receipt(read(name), TODAY)

    assert receipt.total == total
    assert receipt.issued == issued
    assert receipt.cnpj == cnpj
    assert (receipt.access_key.digits if receipt.access_key else None) == key
    assert receipt.codes == alerts


def test_labels_and_values_far_apart_ignore_the_tax_line() -> None:
    receipt = parse_receipt(read("r01_pr_nfce_consulta_labels_apart"), TODAY)
    assert receipt.total == 2495 != 1170
    assert [i.total for i in receipt.items] == [499] * 5
    assert receipt.items[0].description == "PURITY SOJA 1LT MARACU"
    assert receipt.payment == "cartao_credito"
    assert receipt.document == "nfce"


def test_ecf_barcodes_are_not_cnpjs_and_items_add_up() -> None:
    receipt = parse_receipt(read("r02_sc_ecf_cupom_fiscal_no_chave"), TODAY)
    assert receipt.document == "ecf"
    assert receipt.supplier == "ATACADO EXEMPLO COMERCIO DE ALIMENTOS LTDA"
    assert sum(i.total for i in receipt.items) == 11525
    assert receipt.items[1].quantity == 3.0 and receipt.items[1].unit_price == 479


def test_lost_header_needs_review_without_inventing_a_supplier() -> None:
    receipt = parse_receipt(read("r03_pe_nfce_restaurant_no_cnpj_no_chave"), TODAY)
    assert receipt.supplier is None
    assert receipt.needs_review


def test_print_header_date_and_gross_are_not_the_purchase() -> None:
    receipt = parse_receipt(read("r04_sp_sat_webprint_discounts"), TODAY)
    assert receipt.issued != datetime(2025, 3, 17, 10, 31)
    assert receipt.total != 35564
    assert receipt.supplier == "SUPERMERCADOS MODELO LTDA"
    assert receipt.document == "sat"


def test_masked_consumer_cpf_never_becomes_the_supplier() -> None:
    receipt = parse_receipt(read("r06_sp_sat_chocolate_masked_cpf"), TODAY)
    assert receipt.supplier == "DOCES EXEMPLO COMERCIO DE DOCES LTDA"
    assert "X" not in (receipt.cnpj or "")
    assert receipt.total != 2600  # "Você economizou R$ 26,00"
    assert receipt.items[0].quantity == 6.0 and receipt.items[0].total == 14994


def test_key_wins_over_a_printed_cnpj_that_fails_its_check_digits() -> None:
    text = read("r07_rs_nfce_split_cnpj_broken_total")
    receipt = parse_receipt(text, TODAY)
    assert not nfe.cnpj_valid("60708090016108")
    assert receipt.cnpj == "60.708.090/0161-03"
    assert receipt.qr is None  # the garbled URL is not trusted


def test_a_discount_is_never_the_total() -> None:
    receipt = parse_receipt(read("r09_sp_sat_thousands_negative_discount"), TODAY)
    assert receipt.total == 158158
    assert receipt.total not in (225940, 67782)
    assert receipt.cnpj != "11.444.777/0001-61"  # the consumer's
    assert receipt.payment == "dinheiro"


def test_weight_is_not_an_item_count_and_ocr_letters_are_read_as_digits() -> None:
    receipt = parse_receipt(read("r11_rj_cupom_de_venda_ocr_letters_in_cnpj"), TODAY)
    assert receipt.total == 1531 != 295
    assert receipt.cnpj == "80.901.020/0001-72"
    assert receipt.supplier == "HORTIFRUTI EXEMPLO"


def test_contingency_note_dated_a_year_after_its_key_gets_no_date() -> None:
    receipt = parse_receipt(read("r13_ba_nfce_contingencia_mismatches"), TODAY)
    assert receipt.access_key is not None and receipt.access_key.contingency
    assert receipt.access_key.year_month == "2025-03"
    assert receipt.issued is None  # never an expense dated a year ahead
    assert receipt.needs_review


def test_card_slip_is_flagged_and_its_total_marked_ambiguous() -> None:
    receipt = parse_receipt(read("r15_pr_card_slip_not_fiscal"), TODAY)
    assert receipt.document == "nao_fiscal"
    assert {"nao_fiscal", "valor_ambiguo"} <= receipt.codes


def test_future_dated_receipt_is_flagged_and_undated() -> None:
    text = read("r11_rj_cupom_de_venda_ocr_letters_in_cnpj")
    receipt = parse_receipt(text, date(2025, 2, 1))
    assert receipt.issued is None
    assert "data_futura" in receipt.codes


def test_key_with_a_wrong_check_digit_is_rejected_not_repaired() -> None:
    good = "4125 0210 2030 4000 0194 6513 3000 3978 8310 6001 8400"
    bad = good[:-1] + "1"
    receipt = parse_receipt(f"MERCADO LTDA\nChave de acesso:\n{bad}\n", TODAY)
    assert receipt.access_key is None
    assert "chave_invalida" in receipt.codes
    assert nfe.parse_access_key(good) is not None


# --- identifiers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("cnpj", "valid"),
    [
        ("11444777000161", True),
        ("11444777000162", False),
        ("00000000000000", False),
        ("12ABC34501DE35", True),  # alphanumeric (from July 2026)
        ("12ABC34501DE36", False),
    ],
)
def test_cnpj_check_digits(cnpj: str, valid: bool) -> None:
    assert nfe.cnpj_valid(cnpj) is valid


def test_access_key_fields() -> None:
    key = nfe.parse_access_key("35241041526374001102590001112220988944023979")
    assert key is not None
    assert (key.uf, key.year_month, key.model) == (35, "2024-10", "59")
    assert key.cnpj == "41526374001102" and not key.contingency


QR_KEY = "41250210203040000194651330003978831060018400"
DH_EMI = "323031372d30342d31325431373a31343a30372d30333a3030"


def test_qr_v1_named_parameters_with_hex_date_and_test_environment() -> None:
    url = (
        "http://www.fazenda.pr.gov.br/nfce/qrcode?chNFe="
        f"{QR_KEY}&nVersao=100&tpAmb=2&dhEmi={DH_EMI}&vNF=1500.00&vICMS=0.00"
    )
    qr = nfe.parse_qr_url(url)
    assert qr is not None and qr.key is not None
    assert qr.version == 100 and qr.test_environment
    assert qr.issued == datetime(
        2017, 4, 12, 17, 14, 7, tzinfo=timezone(timedelta(hours=-3))
    )
    assert qr.total == 150000


def test_qr_v2_pipes_are_url_decoded() -> None:
    url = f"https://www.sefaz.rs.gov.br/NFCE/NFCE-COM.aspx?p={QR_KEY}%7C2%7C1%7C1%7CABCDEF"
    qr = nfe.parse_qr_url(url)
    assert qr is not None and qr.version == 2
    assert qr.key is not None and qr.key.digits == QR_KEY
    assert not qr.test_environment


def test_test_environment_qr_flags_the_receipt() -> None:
    text = (
        "PADARIA EXEMPLO LTDA\nCNPJ: 10.203.040/0001-94\nValor a pagar R$ 15,00\n"
        f"https://nfce.sefaz.pe.gov.br/nfce/consulta?p={QR_KEY}|2|2|1|ABC\n"
    )
    receipt = parse_receipt(text, TODAY)
    assert receipt.test_environment
    assert "ambiente_teste" in receipt.codes
    assert receipt.access_key is not None and receipt.total == 1500


def test_qr_with_a_bad_key_is_not_trusted() -> None:
    bad = QR_KEY[:-1] + "9"
    receipt = parse_receipt(f"LOJA LTDA\nhttps://x.gov.br/q?p={bad}|2|1|1|A\n", TODAY)
    assert receipt.access_key is None
    assert "qr_invalido" in receipt.codes

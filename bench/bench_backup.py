"""Benchmark: streaming backup of 100,000 and 1,000,000 documents.

Generates realistic users with expenses, orders and recipes in a SQLite store
in a temporary folder (100 documents per user), then backs it up to a local
folder and to a fake-gcs-server, each case in a fresh subprocess so its peak
resident memory (ru_maxrss) is its own. Prints one JSON line per case and a
Markdown table.

    venv/bin/python bench/bench_backup.py                  # both sizes, both targets
    venv/bin/python bench/bench_backup.py --sizes 100000 --targets local
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DOCS_PER_USER = 100  # 1 profile, 60 expenses, 30 orders, 9 recipes
_SUPPLIERS = ["Atacadão", "Assaí", "Padaria Central", "Casa do Confeiteiro", "Makro"]
_PRODUCTS = ["bolo de cenoura", "brigadeiro", "pão de mel", "torta de limão", "coxinha"]


def _user_docs(rng: random.Random, uid: str, base: datetime) -> list[tuple[str, dict]]:
    docs: list[tuple[str, dict]] = [
        (
            f"users/{uid}",
            {
                "uid": uid,
                "email": f"{uid}@exemplo.com.br",
                "displayName": f"Confeitaria {uid}",
                "plan": rng.choice(["free", "pro", "business"]),
                "preferences": {
                    "language": "pt-BR",
                    "timezone": "America/Sao_Paulo",
                    "currency": "BRL",
                    "notifications": {"email": True, "push": False},
                },
                "usage": {"2026-11": {"expenses": 60, "orders": 30}},
                "createdAt": base,
                "lastLoginAt": base + timedelta(days=30),
            },
        )
    ]
    for index in range(60):
        when = base + timedelta(hours=index * 7)
        docs.append(
            (
                f"users/{uid}/expenses/e{index:04d}",
                {
                    "data": when,
                    "tipo": rng.choice(["ingrediente", "embalagem", "gás", "aluguel"]),
                    "valor": rng.randint(500, 90_000),
                    "fornecedor": rng.choice(_SUPPLIERS),
                    "descricao": "Compra semanal de insumos",
                    "createdAt": when,
                    "updatedAt": when,
                },
            )
        )
    for index in range(30):
        when = base + timedelta(hours=index * 13)
        docs.append(
            (
                f"users/{uid}/orders/o{index:04d}",
                {
                    "cliente": f"Cliente {rng.randint(1, 500)}",
                    "produtos": [
                        {
                            "produto": rng.choice(_PRODUCTS),
                            "quantidade": rng.randint(1, 50),
                            "precoUnitario": rng.randint(150, 9000),
                        }
                        for _ in range(rng.randint(1, 4))
                    ],
                    "dataEntrega": when + timedelta(days=2),
                    "valor": rng.randint(2000, 200_000),
                    "status": rng.choice(["pendente", "entregue", "cancelado"]),
                    "createdAt": when,
                    "updatedAt": when,
                },
            )
        )
    for index in range(9):
        docs.append(
            (
                f"users/{uid}/recipes/r{index:04d}",
                {
                    "recipeName": f"{rng.choice(_PRODUCTS)} {index}",
                    "ingredients": [
                        {
                            "nome": "farinha de trigo",
                            "quantidade": 0.5,
                            "unidade": "kg",
                        },
                        {"nome": "açúcar", "quantidade": 0.3, "unidade": "kg"},
                        {"nome": "ovos", "quantidade": 4, "unidade": "un"},
                    ],
                    "rendimento": rng.randint(8, 40),
                    "precoVenda": rng.randint(1000, 15_000),
                    "createdAt": base,
                },
            )
        )
    return docs


def generate(path: Path, documents: int) -> float:
    """Fill a SQLite store with `documents` documents; seconds taken."""
    from functions.store.sqlite import SqliteStore

    started = time.perf_counter()
    store = SqliteStore(path)
    rng = random.Random(5)
    base = datetime(2026, 1, 1, 12, tzinfo=UTC)
    batch = store.batch()
    pending = 0
    for user in range(documents // DOCS_PER_USER):
        for doc_path, data in _user_docs(rng, f"user{user:07d}", base):
            batch.set(doc_path, data)
            pending += 1
        if pending >= 5000:
            batch.commit()
            batch, pending = store.batch(), 0
    batch.commit()
    store.close()
    return time.perf_counter() - started


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(db: Path, target: str, gcs_url: str | None, out_dir: Path) -> dict[str, Any]:
    """One backup in this (fresh) process; its figures."""
    from functions.backup.destinations import GcsDestination, LocalDestination
    from functions.backup.export import take_backup
    from functions.backup.manifest import Trigger
    from functions.cache import Cache
    from functions.config import load_settings
    from functions.services import Services
    from functions.store.sqlite import SqliteStore

    settings = load_settings({"DATA_DIR": str(out_dir), "CACHE_ENABLED": "false"})
    services = Services(settings, SqliteStore(db), Cache.from_settings(settings))
    if target == "gcs":
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        client = storage.Client(
            project="bench",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": gcs_url},
        )
        bucket = f"bench-{os.getpid()}"
        client.create_bucket(bucket)
        destination: Any = GcsDestination(client, bucket, "backups/")
    else:
        destination = LocalDestination(out_dir / "backups")

    baseline = _maxrss_mib()
    started = time.perf_counter()
    outcome = take_backup(services, destination, Trigger.MANUAL)
    seconds = time.perf_counter() - started
    assert outcome.manifest is not None
    if target == "gcs":
        destination.delete(outcome.backup_id)  # free the fake server's memory
    return {
        "target": target,
        "documents": outcome.manifest.documents,
        "seconds": round(seconds, 1),
        "docsPerSecond": round(outcome.manifest.documents / seconds),
        "compressedMiB": round(outcome.manifest.total_bytes / 2**20, 1),
        "files": len(outcome.manifest.files),
        "baselineRssMiB": round(baseline, 1),
        "peakRssMiB": round(_maxrss_mib(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--targets", nargs="+", default=["local", "gcs"])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--target")
    parser.add_argument("--gcs-url")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(child(args.db, args.target, args.gcs_url, args.out)))
        return

    from tests.fake_gcs import FakeGcsServer

    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp,
        FakeGcsServer() as gcs,
    ):
        for size in args.sizes:
            db = Path(tmp) / f"store-{size}.sqlite3"
            generated = generate(db, size)
            print(f"# generated {size} documents in {generated:.0f} s", flush=True)
            for target in args.targets:
                out = Path(tmp) / f"out-{size}-{target}"
                result = subprocess.run(
                    [
                        sys.executable, __file__, "--child",
                        "--db", str(db), "--target", target,
                        "--gcs-url", gcs.url, "--out", str(out),
                    ],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
                row = json.loads(result.stdout.strip().splitlines()[-1])
                print(json.dumps(row), flush=True)
                rows.append(row)
            db.unlink()

    print(
        "\n| target | documents | seconds | docs/s | compressed MiB | peak RSS MiB "
        "| RSS before backup MiB |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['target']} | {row['documents']:,} | {row['seconds']} "
            f"| {row['docsPerSecond']:,} | {row['compressedMiB']} "
            f"| {row['peakRssMiB']} | {row['baselineRssMiB']} |"
        )


if __name__ == "__main__":
    main()

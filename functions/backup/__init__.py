"""Backups: streamed, verified, retained and restorable copies of the
business data (profiles, expenses, orders, recipes).

One concept per module: `codec` (the line format), `destinations` (local
folder, Cloud Storage), `manifest` (what a backup is), `status` (status
documents and the run lock), `export` (taking one), `verify`, `restore`,
`retention`, `managed` (Firestore's own export) and `api` (the jobs and the
admin callables that `main.py` and `functions.jobs` call).

Operational collections (`backups`, `metrics`, `alerts`, `locks`) and the
LGPD `erasures` records are not business data and are left out (see
`manifest.EXCLUDED_COLLECTIONS`).
"""

from functions.backup.api import (
    CONFIRMATION,
    create_backup,
    delete_backup,
    get_backup_stats,
    list_backups,
    restore_backup,
    run_daily_backup,
    run_weekly_verification,
    simulate_restore,
    verify_backup_integrity,
)

__all__ = [
    "CONFIRMATION",
    "create_backup",
    "delete_backup",
    "get_backup_stats",
    "list_backups",
    "restore_backup",
    "run_daily_backup",
    "run_weekly_verification",
    "simulate_restore",
    "verify_backup_integrity",
]

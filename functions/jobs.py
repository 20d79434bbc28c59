"""Scheduled jobs by name, for Cloud Scheduler triggers and the command line.

Each entry names a function `job(services) -> dict` by module path, imported
only when the job runs. Scheduled functions in `main.py` run these jobs
(`cleanupOldMetricsDaily` runs `cleanupOldMetrics`: a callable holds that name).
"""

from __future__ import annotations

import importlib
from typing import Any

from functions.services import Services

__all__ = ["JOBS", "run_job"]

JOBS: dict[str, str] = {
    "dailyBackup": "functions.backup:run_daily_backup",
    "weeklyBackupVerification": "functions.backup:run_weekly_verification",
    "cleanupOldMetrics": "functions.monitoring:cleanup_old_metrics",
    "evaluateAlerts": "functions.monitoring:evaluate_alerts",
}


def run_job(name: str, services: Services) -> dict[str, Any]:
    """Run the job called `name` now; KeyError for an unknown name."""
    module_name, function_name = JOBS[name].split(":")
    job = getattr(importlib.import_module(module_name), function_name)
    result: dict[str, Any] = job(services)
    return result

"""Cloud Functions entry point: thin triggers, one service call each.

Firebase deploys every function defined here under its Python name, so the
names are the app's. Services are imported inside each trigger: a cold start
pays only for this file and the SDK.
"""

from __future__ import annotations

import os
from typing import Any

import firebase_admin
from firebase_functions import https_fn, options, scheduler_fn

from functions import edge
from functions.auth import check_token_mode

check_token_mode(os.environ)

# The SDK verifies ID tokens with firebase-admin before our code runs, so the
# default app must exist at import; credentials are resolved on first use.
if not firebase_admin._apps:
    firebase_admin.initialize_app()


@edge.on_call()
def assistenteHttp(req: https_fn.CallableRequest[Any]) -> Any:
    from functions.assistant.router import handle

    return edge.run("assistenteHttp", req, handle)


@edge.on_call()
def setupUserProfile(req: https_fn.CallableRequest[Any]) -> Any:
    from functions import users

    return edge.run("setupUserProfile", req, users.setup_profile)


@edge.on_call()
def getUserProfileOptimized(req: https_fn.CallableRequest[Any]) -> Any:
    from functions import users

    return edge.run("getUserProfileOptimized", req, users.get_profile)


@edge.on_call()
def updatePreferences(req: https_fn.CallableRequest[Any]) -> Any:
    from functions import users

    return edge.run("updatePreferences", req, users.update_preferences)


@edge.on_call()
def getUserStats(req: https_fn.CallableRequest[Any]) -> Any:
    from functions import users

    return edge.run("getUserStats", req, users.get_stats)


@edge.on_call()
def clearUserCache(req: https_fn.CallableRequest[Any]) -> Any:
    from functions import users

    return edge.run("clearUserCache", req, users.clear_cache)


@edge.on_call()
def updateUserPlan(req: https_fn.CallableRequest[Any]) -> Any:
    from functions import users

    return edge.run("updateUserPlan", req, users.update_plan)


# --- LGPD (privacy) triggers -----------------------------------------------------


@edge.on_call()
def exportUserData(req: https_fn.CallableRequest[Any]) -> Any:
    from functions import privacy

    return edge.run("exportUserData", req, privacy.export_user_data)


@edge.on_call()
def deleteUserData(req: https_fn.CallableRequest[Any]) -> Any:
    from functions import privacy

    return edge.run("deleteUserData", req, privacy.delete_user_data)


# --- monitoring triggers -----------------------------------------------------


@edge.on_call()
def getSystemMetrics(req: https_fn.CallableRequest[Any]) -> Any:
    from functions.monitoring import api

    return edge.run("getSystemMetrics", req, api.get_system_metrics)


@edge.on_call()
def getUserMetrics(req: https_fn.CallableRequest[Any]) -> Any:
    from functions.monitoring import api

    return edge.run("getUserMetrics", req, api.get_user_metrics)


@edge.on_call()
def cleanupOldMetrics(req: https_fn.CallableRequest[Any]) -> Any:
    from functions.monitoring import api

    return edge.run("cleanupOldMetrics", req, api.cleanup_metrics)


# A callable and a scheduled function cannot share a deployed name, hence
# the `Daily` suffix; both run the job `cleanupOldMetrics`.
@scheduler_fn.on_schedule(
    schedule="every day 03:00", timezone=scheduler_fn.Timezone("America/Sao_Paulo")
)
def cleanupOldMetricsDaily(event: scheduler_fn.ScheduledEvent) -> None:
    from functions.monitoring import run_scheduled

    run_scheduled("cleanupOldMetricsDaily", "cleanupOldMetrics")


@scheduler_fn.on_schedule(schedule="every 5 minutes")
def evaluateAlerts(event: scheduler_fn.ScheduledEvent) -> None:
    from functions.monitoring import run_scheduled

    run_scheduled("evaluateAlerts", "evaluateAlerts")


# The dashboard (Firebase Hosting, another origin) calls it with fetch().
@https_fn.on_request(
    cors=options.CorsOptions(cors_origins="*", cors_methods=["get", "head"])
)
def checkSystemHealth(req: https_fn.Request) -> https_fn.Response:
    from functions.monitoring import api

    return api.health_response(req)


# --- backup triggers ---------------------------------------------------------

# Backups stream the whole database: the longest timeout scheduled functions
# allow (functions.backup.status.RUN_TIMEOUT_S assumes it) and room for the
# upload buffers.
_BACKUP_OPTIONS: dict[str, Any] = {
    "timeout_sec": 1800,
    "memory": options.MemoryOption.GB_1,
}
_SAO_PAULO = scheduler_fn.Timezone("America/Sao_Paulo")


@scheduler_fn.on_schedule(
    schedule="0 2 * * *", timezone=_SAO_PAULO, retry_count=2, **_BACKUP_OPTIONS
)
def dailyBackup(event: scheduler_fn.ScheduledEvent) -> None:
    from functions.monitoring import run_scheduled

    run_scheduled("dailyBackup", "dailyBackup")


@scheduler_fn.on_schedule(schedule="0 4 * * 0", timezone=_SAO_PAULO, **_BACKUP_OPTIONS)
def weeklyBackupVerification(event: scheduler_fn.ScheduledEvent) -> None:
    from functions.monitoring import run_scheduled

    run_scheduled("weeklyBackupVerification", "weeklyBackupVerification")


@edge.on_call(**_BACKUP_OPTIONS)
def createBackup(req: https_fn.CallableRequest[Any]) -> Any:
    from functions import backup

    return edge.run("createBackup", req, backup.create_backup)


@edge.on_call()
def listBackups(req: https_fn.CallableRequest[Any]) -> Any:
    from functions import backup

    return edge.run("listBackups", req, backup.list_backups)


@edge.on_call()
def deleteBackup(req: https_fn.CallableRequest[Any]) -> Any:
    from functions import backup

    return edge.run("deleteBackup", req, backup.delete_backup)


@edge.on_call()
def getBackupStats(req: https_fn.CallableRequest[Any]) -> Any:
    from functions import backup

    return edge.run("getBackupStats", req, backup.get_backup_stats)


@edge.on_call(**_BACKUP_OPTIONS)
def verifyBackupIntegrity(req: https_fn.CallableRequest[Any]) -> Any:
    from functions import backup

    return edge.run("verifyBackupIntegrity", req, backup.verify_backup_integrity)


@edge.on_call(**_BACKUP_OPTIONS)
def simulateRestore(req: https_fn.CallableRequest[Any]) -> Any:
    from functions import backup

    return edge.run("simulateRestore", req, backup.simulate_restore)


@edge.on_call(**_BACKUP_OPTIONS)
def restoreBackup(req: https_fn.CallableRequest[Any]) -> Any:
    from functions import backup

    return edge.run("restoreBackup", req, backup.restore_backup)

"""Cloud Functions entry point: thin triggers, one service call each.

Firebase deploys every function defined here under its Python name, so the
names are the app's. Services are imported inside each trigger: a cold start
pays only for this file and the SDK.
"""

from __future__ import annotations

from typing import Any

import firebase_admin
from firebase_functions import https_fn

from functions import edge

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


# --- monitoring triggers -----------------------------------------------------


# --- backup triggers ---------------------------------------------------------

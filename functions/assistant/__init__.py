"""The orchestrator behind `assistenteHttp`: one intent, one service call."""

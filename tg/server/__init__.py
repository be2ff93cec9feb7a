"""`tg serve`: the HTTP server an on-call engineer relies on (probes, metrics, API, dashboard)."""

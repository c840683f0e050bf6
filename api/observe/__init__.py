"""Watching the service: request ids, JSON logs, Prometheus metrics, health and readiness.

Shared by the HTTP app and the job workers. Nothing here logs or exports a secret or a personal
field: requests are named by their route template (never the concrete path or query), jobs by
kind and id, the ledger by counts and ages.
"""

"""The HTTP adapter: the Litestar app (JSON API under /api/v1, OpenAPI, auth, server-sent events).

Its controllers stay thin: they parse, call the same services the command line calls, and
serialise the same typed views (`ledger.views`, `ledger.model_views`, `royalties.views`,
`api.jobs.results`); long work goes through `api.jobs.client`, which is async.
"""

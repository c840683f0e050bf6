"""The service's own routes: health, probes, metrics, and the OpenAPI document with its UI."""

from httpapi.matrix import EVERYONE, rule

RULES = {
    ("GET", "/api/v1/health"): EVERYONE,
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/readyz"): EVERYONE,
    ("GET", "/api/v1/metrics"): rule("compliance", "curator"),
    ("GET", "/api/docs"): EVERYONE,
    ("GET", "/api/docs/openapi.json"): EVERYONE,
    ("GET", "/api/docs/{path:str}"): EVERYONE,
    ("GET", "/api/docs/oauth2-redirect.html"): EVERYONE,
    ("GET", "/api/docs/assets/{file_path:path}"): EVERYONE,
    ("HEAD", "/api/docs/assets/{file_path:path}"): EVERYONE,
}

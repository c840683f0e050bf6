"""The service's own routes: health, and the OpenAPI document with its UI."""

from httpapi.matrix import EVERYONE

RULES = {
    ("GET", "/api/v1/health"): EVERYONE,
    ("GET", "/api/docs"): EVERYONE,
    ("GET", "/api/docs/openapi.json"): EVERYONE,
    ("GET", "/api/docs/{path:str}"): EVERYONE,
    ("GET", "/api/docs/oauth2-redirect.html"): EVERYONE,
    ("GET", "/api/docs/assets/{file_path:path}"): EVERYONE,
    ("HEAD", "/api/docs/assets/{file_path:path}"): EVERYONE,
}

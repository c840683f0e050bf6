"""The OpenAPI 3.1 document and its interactive UI at /api/docs, with every asset served here.

Swagger UI's files come from the `swagger-ui-bundle` package; nothing the page loads comes from
outside the machine. The docs' own routes stay out of the document; every API operation lists
the refusals it can answer with (`document_refusals`), each an RFC 9457 problem.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.router import Router as RouterType
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

from api.http.auth.access import EVERYONE, allow

DOCS = "/api/docs"
ASSETS = f"{DOCS}/assets"
VERSION = "1.0.0"

DESCRIPTION = """The Museum of Failures' ledger: donations of a work's process, consent per purpose,
the museum's model, attribution of each generation to the donated stages that shaped it, royalties,
erasure, and the verifiable log behind them.

Send an API key as `Authorization: Bearer museum_…` (`museum keys create`); without one you are a
visitor and see only what is exhibited. Every error is an RFC 9457 problem-details body."""


def openapi_config() -> OpenAPIConfig:
    assets = Path(str(swagger_ui_path))
    favicon = f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>"
    swagger = SwaggerRenderPlugin(
        path="/",
        js_url=f"{ASSETS}/swagger-ui-bundle.js",
        css_url=f"{ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
        favicon=favicon,
    )
    static: RouterType = create_static_files_router(
        path="/assets", directories=[assets], opt=allow(*EVERYONE), include_in_schema=False
    )
    router = Router(
        path=DOCS, route_handlers=[static], opt=allow(*EVERYONE), include_in_schema=False
    )
    return OpenAPIConfig(
        title="Failure Museum Ledger",
        version=VERSION,
        description=DESCRIPTION,
        render_plugins=[swagger, JsonRenderPlugin(path="/openapi.json")],
        openapi_router=router,
        components=Components(
            security_schemes={
                "apiKey": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="An API key from `museum keys create`: `museum_<id>_<secret>`.",
                )
            }
        ),
        use_handler_docstrings=True,
    )

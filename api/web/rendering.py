"""Templates: the Jinja engine, what every template can call, and the menu.

Every template extends `base.html.j2` and may call:
- `principal()`: who is signed in (`api.http.auth.principal.Principal`; a visitor when nobody);
- `menu()`: the menu entries this caller may open (from the pages' `menu(...)` opts);
- `csrf_input` (a variable): the hidden CSRF field every form must carry;
- the filters `percent` (ppm → "12.5 %"), `short` (a hash's first 12 characters) and
  `when` (ISO 8601 → "1 Mar 2024, 09:00 UTC").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.routes import HTTPRoute
from litestar.template.config import TemplateConfig

from api.http.auth.access import Access, principal_of, rule_of
from api.http.auth.principal import Principal, Role

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
MENU = "menu"

# Nothing a page loads comes from elsewhere, and no page runs inline script or style.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class MenuEntry:
    label: str
    path: str
    order: int
    rule: Access


def menu(label: str, order: int) -> dict[str, Any]:
    """Put a page in the menu (for the roles its rule names): `opt=allow(...) | menu("Donate", 20)`."""
    return {MENU: (label, order)}


def page(name: str, status: int = 200, **context: Any) -> Template:
    """The template `name`.html.j2 with `context`: how a page handler answers."""
    return Template(template_name=f"{name}.html.j2", context=context, status_code=status)


def menu_of(app: Litestar) -> list[MenuEntry]:
    """The menu, from the page handlers that asked to be in it, in their order."""
    entries: list[MenuEntry] = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            entry = handler.opt.get(MENU)
            rule = rule_of(handler.opt)
            if entry is not None and rule is not None and isinstance(handler, HTTPRouteHandler):
                entries.append(MenuEntry(entry[0], route.path, entry[1], rule))
    return sorted(entries, key=lambda e: (e.order, e.label))


def _percent(ppm: int) -> str:
    return f"{ppm / 10_000:.1f} %"


def _short(digest: str) -> str:
    return digest[:12]


def _when(moment: str | None) -> str:
    if not moment:
        return ""
    parsed = datetime.fromisoformat(moment)
    zone = parsed.tzname() or ""
    return f"{parsed.day} {parsed:%b %Y, %H:%M} {zone}".strip()


def _opens(rule: Access, caller: Principal, request: Any) -> bool:
    """Whether the menu shows a page to `caller`: its role, and a founding artist's pages
    only to founding artists."""
    if caller.role not in rule.roles:
        return False
    if rule.founders_only and caller.role is Role.ARTIST:
        return bool(request.app.state.museum.membership.is_founding(caller))
    return True


def _register(engine: JinjaTemplateEngine) -> None:
    environment = engine.engine
    environment.undefined = StrictUndefined  # a misspelt variable fails the page's test
    environment.trim_blocks = True
    environment.lstrip_blocks = True
    environment.filters.update(percent=_percent, short=_short, when=_when)

    def principal(context: Mapping[str, Any]) -> Any:
        return principal_of(context["request"])

    def menu_for(context: Mapping[str, Any]) -> list[MenuEntry]:
        request = context["request"]
        caller = principal_of(request)
        entries: list[MenuEntry] = request.app.state.menu
        return [entry for entry in entries if _opens(entry.rule, caller, request)]

    engine.register_template_callable("principal", principal)
    engine.register_template_callable("menu", menu_for)


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(
        directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=_register
    )

"""schemathesis against the OpenAPI document the app serves (`/api/docs/openapi.json`).

Every operation of the document gets a bounded, reproducible set of generated requests
(hypothesis, derandomised) on a seeded SQLite museum, sent with a key that may call it; each
answer must not be a 5xx and must keep to the document: its status is listed, its content type
and body match, its documented headers are there. Every other example names a seeded record
(the caller's own artist and donation, the museum's generation and run) rather than a random id,
so the answers include records found as well as 404s.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import factories
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.http.app import create_app
from api.http.auth.access import Access, rule_of
from api.http.settings import HttpSettings
from httpapi.conftest import Keys, issue_keys, museum_of
from ledger.crypto import MasterKey
from ledger.settings import Settings

DOCUMENT = "/api/docs/openapi.json"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Who calls an operation: the first of these its rule allows (compliance reads everything; a
# write goes to the role that owns it).
READERS = ("compliance", "member", "curator", "integrator", "visitor")
WRITERS = ("member", "curator", "integrator", "compliance", "visitor")
# Long work that would train or sample a model in-process on every valid example; its access is
# the matrix's to test, its documents a flow test's.
LONG_WORK = {("POST", "/api/v1/runs"), ("POST", "/api/v1/generations")}


@dataclass
class Served:
    client: TestClient[Litestar]
    keys: Keys
    records: dict[str, str]  # path parameter → a seeded record's id
    rules: dict[tuple[str, str], Access]


def _seed(client: TestClient[Litestar], keys: Keys) -> dict[str, str]:
    """A model version, a generation, its attribution and a revenue report on top of the keys'
    artists and donations (recorded through the services, no training)."""
    museum = museum_of(client)
    run = museum.models.start_run(job_id="schema-run", config={"preset": "tiny"}, seed=0, shards=1)
    museum.models.record_checkpoint(run.id, 0, 1, "e" * 64, b"weights")
    run = museum.models.complete_run(run.id, 0.2)
    generation = museum.models.record_generation(
        job_id="schema-gen",
        run=run,
        seed=1,
        steps=5,
        role="final",
        emotion="joy",
        png=factories.png(7),
    )
    ids = run.item_ids()
    scores = {item: float(len(ids) - n) for n, item in enumerate(ids)}
    museum.attributions.record(generation.id, "trak", {}, "ab" * 32, scores, k=len(ids))
    museum.royalties.report_revenue(
        generation_id=generation.id,
        amount_minor=1999,
        currency="EUR",
        reference="print",
        idempotency_key="schema-sale-1",
    )
    return {
        "generation_id": str(generation.id),
        "run_id": str(run.id),
        "key": "schema-sale-1",
        "index": "0",
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("schema") / "var"
    app = create_app(
        Settings(home=home, master_key=MasterKey.generate_text()),
        HttpSettings(rate_limit="1000000/minute", key_cache_seconds=60),
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        keys = issue_keys(museum_of(client))
        rules = {
            (method, route.path_format): rule
            for route in app.routes
            if isinstance(route, HTTPRoute)
            for method, handler in route.route_handler_map.items()
            if (rule := rule_of(handler[0].opt)) is not None
        }
        yield Served(client, keys, _seed(client, keys), rules)


def _document() -> dict[str, Any]:
    """The document the app builds, known at collection time (schemathesis' lazy loader does not
    run on pytest 9); the first test checks that the app serves exactly this."""
    app = create_app(
        Settings(home=Path("unused"), master_key=MasterKey.generate_text()), HttpSettings()
    )
    built: dict[str, Any] = json.loads(json.dumps(app.openapi_schema.to_schema()))
    return built


BUILT = _document()
schema = schemathesis.openapi.from_dict(BUILT)


def test_the_document_is_openapi_3_1_and_lists_its_refusals(served: Served) -> None:
    document = served.client.get(DOCUMENT).json()
    assert document == BUILT
    assert document["openapi"].startswith("3.1")
    operations = [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert operations
    assert not [path for _, path, _ in operations if path.startswith("/api/docs")]
    missing = []
    for method, path, operation in operations:
        responses = operation["responses"]
        for status in ("401", "429"):
            if "application/problem+json" not in responses.get(status, {}).get("content", {}):
                missing.append(f"{method} {path}: {status}")
        takes_input = operation.get("parameters") or "requestBody" in operation
        if takes_input and "422" not in responses:
            missing.append(f"{method} {path}: 422")
        if "{" in path and "404" not in responses:
            missing.append(f"{method} {path}: 404")
        rule = served.rules[(method, path)]
        if ({} in operation["security"]) != rule.public:
            missing.append(
                f"{method} {path}: security says a key is {'not ' * (not rule.public)}needed"
            )
    assert not missing, missing


def _caller(served: Served, method: str, path: str) -> str:
    rule = served.rules.get((method, path))
    if rule is None:
        return "compliance"
    order = READERS if method in ("GET", "HEAD") else WRITERS
    for principal in order:
        role = "artist" if principal == "member" else principal
        if role in {r.value for r in rule.roles}:
            return principal
    return "compliance"


def _records(served: Served, principal: str) -> dict[str, str]:
    owner = "member" if principal == "member" else "other_artist"
    return served.records | {
        "artist_id": served.keys.artist_ids[owner],
        "donation_id": served.keys.donation_ids[owner],
    }


EXAMPLES: Counter[str] = Counter()


def _as_text(part: tuple[str, Any]) -> tuple[str, Any]:
    """A form field as a browser sends one: text. Schemathesis fills undeclared fields of a
    multipart body with JSON values (numbers, booleans), which httpx cannot encode."""
    name, value = part
    if isinstance(value, tuple) and value[0] is None and not isinstance(value[1], str | bytes):
        return name, (None, json.dumps(value[1]))
    return name, value


@schema.parametrize()
@settings(
    max_examples=10,  # per operation and generation mode: about 1–1.5 s an operation here
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_to_the_document(case: Any, served: Served) -> None:
    method, path = case.method.upper(), case.path
    if (method, path) in LONG_WORK:
        return
    principal = _caller(served, method, path)
    EXAMPLES[f"{method} {path}"] += 1
    if case.path_parameters and EXAMPLES[f"{method} {path}"] % 2 == 0:
        known = _records(served, principal)
        case.path_parameters = {
            name: known.get(name, value) for name, value in case.path_parameters.items()
        }
    sent = case.as_transport_kwargs(base_url="http://testserver", headers=served.keys[principal])
    url = urlsplit(sent.pop("url"))
    body: dict[str, Any] = {}
    if "json" in sent:
        body["json"] = sent["json"]
    if sent.get("files") is not None:
        body["files"] = [_as_text(part) for part in sent["files"]]
    if "data" in sent:
        data = sent["data"]
        body["content" if isinstance(data, (bytes, str)) else "data"] = data
    response = served.client.request(
        sent["method"],
        url.path,
        params=sent.get("params") or None,
        headers=sent["headers"],
        cookies=sent.get("cookies") or None,
        **body,
    )
    response.request.read()  # a multipart request streams; the checks read what was sent
    case.validate_response(response, checks=CHECKS)

"""Helpers of the donor tests: a manifest, the multipart form as a browser builds it, and
requests sent straight to the app's ASGI interface (to see how much of a body it reads)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import factories
import httpx
from litestar import Litestar
from litestar.testing import TestClient

T0 = factories.T0


def manifest(
    roles: tuple[str, ...] = ("sketch", "failure", "final"), **changes: Any
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "label": {
            "title": "Harbour at dusk",
            "creative_intent": "Catch the moment the lamps come on",
            "failure_type": "perspective",
            "emotion": "frustration",
            "failure_note": "I kept fixing the boats and forgot the horizon.",
            "era": "late 2010s",
        },
        "attestation": {"affirmed": True},
        "consents": ["exhibit", "train"],
        "tags": {"genre": ["seascape"]},
        "stages": [
            {
                "role": role,
                "created_at": (T0 + timedelta(days=i)).isoformat(),
                "caption": f"{role} number {i}",
            }
            for i, role in enumerate(roles)
        ],
    }
    base.update(changes)
    return base


def images(count: int, shade: int = 10) -> list[bytes]:
    return [factories.png(shade + 37 * i) for i in range(count)]


def files(pictures: list[bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("stage", (f"stage-{i}.png", data, "image/png")) for i, data in enumerate(pictures)]


def donate(
    client: httpx.Client,
    headers: dict[str, str],
    form: dict[str, Any] | None = None,
    pictures: list[bytes] | None = None,
) -> Any:
    form = form or manifest()
    pictures = images(len(form["stages"])) if pictures is None else pictures
    return client.post(
        "/api/v1/donations",
        data={"donation": json.dumps(form)},
        files=files(pictures),
        headers=headers,
    )


BROWSER_BOUNDARY = "----WebKitFormBoundary7MA4YWxkTrZu0gW"


def browser_form(form: dict[str, Any], pictures: list[bytes]) -> tuple[bytes, str]:
    """The body Chromium sends for `FormData` with `append("donation", JSON.stringify(m))` and
    `append("stage", file)` per image: CRLF lines, no Content-Type on the text field."""
    crlf = b"\r\n"
    boundary = BROWSER_BOUNDARY.encode()
    parts = [
        b"--"
        + boundary
        + crlf
        + b'Content-Disposition: form-data; name="donation"'
        + crlf
        + crlf
        + json.dumps(form).encode()
        + crlf
    ]
    for i, data in enumerate(pictures):
        parts.append(
            b"--"
            + boundary
            + crlf
            + f'Content-Disposition: form-data; name="stage"; filename="step {i}.png"'.encode()
            + crlf
            + b"Content-Type: image/png"
            + crlf
            + crlf
            + data
            + crlf
        )
    body = b"".join(parts) + b"--" + boundary + b"--" + crlf
    return body, f"multipart/form-data; boundary={BROWSER_BOUNDARY}"


def asgi_post(
    client: TestClient[Litestar],
    path: str,
    headers: dict[str, str],
    chunks: Iterator[bytes],
) -> tuple[int, int]:
    """POST to the running app with a body that arrives chunk by chunk and never ends on its
    own: the status it answers, and how many chunks it read before answering."""
    pulled = 0
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    client.blocking_portal.call(client.app, scope, receive, send)  # type: ignore[arg-type]
    return statuses[0], pulled


def endless_stage_upload(chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """A multipart body whose one `stage` file part never ends."""
    yield (
        f"--{BROWSER_BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="stage"; filename="huge.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    block = b"\0" * chunk_size
    while True:
        yield block

"""The load of `museum bench api`: one target at a fixed arrival rate, run by locust in its own
process (`locust -f` this file), never imported by the museum.

Its plan comes as JSON in `MUSEUM_BENCH_PLAN` (target, per-user rate, the requests to send);
its figures go as JSON to the file `MUSEUM_BENCH_OUT` when locust quits. Each user sends at a
constant throughput, so users × per-user rate is the offered arrival rate; a consent user
alternates granting and revoking `research` on the donation it was given.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

from locust import FastHttpUser, constant_throughput, events, task
from locust.env import Environment

PLAN: dict[str, Any] = json.loads(os.environ.get("MUSEUM_BENCH_PLAN", "{}"))
_USERS = itertools.count()


class MuseumCaller(FastHttpUser):
    wait_time = constant_throughput(float(PLAN.get("per_user_rps", 1.0)))

    def on_start(self) -> None:
        requests: list[dict[str, Any]] = PLAN["requests"]
        self.request = requests[next(_USERS) % len(requests)]
        self.granted = False

    @task
    def call(self) -> None:
        name, path, headers = PLAN["target"], self.request["path"], self.request["headers"]
        if self.request.get("consent"):
            self.granted = not self.granted
            body = {"purpose": "research", "granted": self.granted}
            self.client.post(path, json=body, headers=headers, name=name)
        else:
            self.client.get(path, headers=headers, name=name)


def _report(environment: Environment, **_: Any) -> None:
    out = os.environ.get("MUSEUM_BENCH_OUT")
    if not out or environment.stats is None:
        return
    total = environment.stats.total
    errors = [
        {"error": str(entry.error)[:200], "occurrences": entry.occurrences}
        for entry in environment.stats.errors.values()
    ]
    figures = {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "achieved_rps": total.total_rps,
        "p50_ms": total.get_response_time_percentile(0.5) if total.num_requests else None,
        "p99_ms": total.get_response_time_percentile(0.99) if total.num_requests else None,
        "max_ms": total.max_response_time if total.num_requests else None,
        "errors": errors[:5],
    }
    Path(out).write_text(json.dumps(figures), encoding="utf-8")


events.quitting.add_listener(_report)  # type: ignore[no-untyped-call]

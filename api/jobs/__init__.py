"""Training, retraining, generation and attribution as jobs: one job function, in-process or on
arq workers.

Embedded mode (no `MUSEUM_REDIS_URL`): `run_job_inline` calls the job function in this process.
Distributed mode: `submit` enqueues it on Redis under the caller's job id, any number of
`museum worker` processes run it, and `wait_for_result` waits for its outcome. Either way the job
body is `generation.service.train_run` / `generation.retraining.retrain` / `generate` /
`api.attribute.attribute`, keyed by the job id (an attribution by generation, method and index
hash), so a job that runs twice (a retry after its worker died, a resubmission after its result
expired) records each fact once. A retraining job is a training job in all of this: the same
lease, stop, time limit and last try (`tasks._training`); its retry finds its run and trains
what the run planned, and a run that failed has returned its batch to the schedule, due at once,
for the next retraining job.

Retry after a worker dies
-------------------------
arq marks a job as taken with the key `arq:in-progress:<job id>`; the job stays in the queue until
it finishes, and a worker skips it while that key exists. arq sets the key once, to expire after
the job timeout plus 10 s, and never renews it, so a worker killed with SIGKILL leaves its job
untouched for as long as the timeout: hours for a training job. Shortening the timeout instead
would cut long runs off.

So the key is used as a lease. The job timeout stays long (`MUSEUM_JOB_TIMEOUT`, 6 h by default),
while the job itself renews the key to `MUSEUM_JOB_LEASE` seconds (30 s by default) every third
of that, for as long as the work runs. A worker that dies stops renewing it, and another worker
takes the job up at most one lease (plus a poll interval) later, as try `job_try + 1`. The
trade-off is in the lease length: a short lease retries sooner, but a worker whose event loop or
Redis link stalls for longer than the lease would see its job started a second time beside it.
That costs time, never correctness: the ledger accepts each fact once and refuses the slower
writer's conflicting save.

A retry trains the run again from step 0 (training is deterministic for a seed), and the ledger
drops progress and checkpoints for steps it already holds. Each job may be tried
`MUSEUM_JOB_MAX_TRIES` times (3 by default); arq is allowed one try more, in which the job only
records the run as failed, so that a job given up on never keeps the training slot.

A worker told to stop (SIGTERM, SIGINT) asks a running training job to stop at its next progress
report and waits for it, so that its retry never runs beside it; the job goes back to the queue.

Settings (`JobSettings`): `MUSEUM_QUEUE_NAME` (default `museum:jobs`), `MUSEUM_JOB_TIMEOUT`,
`MUSEUM_JOB_LEASE`, `MUSEUM_JOB_MAX_TRIES`, `MUSEUM_JOB_KEEP_RESULT` (seconds a result, and so
the refusal of a repeated job id, is kept: 7 days) and `MUSEUM_WORKER_MAX_JOBS` (1: one model
at a time per worker process).

Rooms
-----
`settings` (JobSettings, the queue's address), `tasks` (the job functions and `validate`),
`running` (thread, lease and ledger helpers), `retraining` (the retraining job's result),
`worker` (`WorkerSettings`: the ledger opened once in `on_startup`, closed in `on_shutdown`),
`client` (async: submit, status, result, wait: for an HTTP handler), `blocking` (its wrappers
for the command line, re-exported here) and `inline` (embedded mode).
"""

from __future__ import annotations

from api.jobs import client
from api.jobs.blocking import status, submit, wait_for_result
from api.jobs.client import Submission
from api.jobs.inline import run_job_inline
from api.jobs.settings import JobFailed, JobSettings, job_settings, redis_settings
from api.jobs.tasks import (
    JOBS,
    attribute_job,
    continue_job,
    continue_request,
    generate_job,
    retrain_job,
    train_job,
    validate,
)
from api.jobs.worker import WorkerSettings, on_shutdown, on_startup, run_worker

__all__ = [
    "JOBS",
    "JobFailed",
    "JobSettings",
    "Submission",
    "WorkerSettings",
    "attribute_job",
    "client",
    "continue_job",
    "continue_request",
    "generate_job",
    "job_settings",
    "on_shutdown",
    "on_startup",
    "redis_settings",
    "retrain_job",
    "run_job_inline",
    "run_worker",
    "status",
    "submit",
    "train_job",
    "validate",
    "wait_for_result",
]

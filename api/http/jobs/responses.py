"""What every route that starts long work shares: the `Idempotency-Key` header it reads, and
its answer, `202 Accepted` with the job resource and where to poll it (`Location`)."""

from __future__ import annotations

from typing import Annotated

from litestar import Response
from litestar.datastructures import ResponseHeader
from litestar.params import HeaderParameter
from litestar.status_codes import HTTP_202_ACCEPTED

from api.http.jobs.schemas import JobRead

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        description=(
            "Names the job: the same key (from the same API key) finds the same job instead of "
            "running it twice; other arguments under it are a 409. 1-128 of A-Z a-z 0-9 . _ : -"
        ),
        min_length=1,
        max_length=128,
        required=False,
    ),
]

LOCATION = [
    ResponseHeader(
        name="Location",
        description="The job resource to poll: /api/v1/jobs/{job_id}",
        documentation_only=True,
    )
]


def accepted(job: JobRead) -> Response[JobRead]:
    return Response(
        job,
        status_code=HTTP_202_ACCEPTED,
        headers={"Location": f"/api/v1/jobs/{job.job_id}"},
    )

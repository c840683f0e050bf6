"""The sealing contexts are pinned: each field string, and a ciphertext sealed under it today.

A context that drifts by one character makes every stored ciphertext of that field
undecryptable, so these strings must never change; the ciphertexts below were sealed with the
literal strings the ledger used before they were written once in `ledger.crypto`.
"""

from __future__ import annotations

import base64
from uuid import UUID

import pytest

from ledger.crypto import (
    ERASURE_REASON_CONTEXT,
    IDENTITY_CONTEXT,
    PSEUDONYM_CONTEXT,
    DataKey,
    SealBroken,
    field_context,
    label_context,
    stage_caption_context,
    stage_image_context,
)

OWNER = UUID("00000000-0000-4000-8000-000000000001")
DONATION = UUID("00000000-0000-4000-8000-0000000000d0")
KEY = DataKey(OWNER, bytes(range(32)))


def test_each_field_string_is_the_one_used_before() -> None:
    assert PSEUDONYM_CONTEXT == "pseudonym"
    assert IDENTITY_CONTEXT == "identity"
    assert ERASURE_REASON_CONTEXT == "erasure/reason"
    assert label_context(DONATION) == f"donation/{DONATION}/label"
    assert stage_caption_context(DONATION, 3) == f"donation/{DONATION}/stage/3/caption"
    assert stage_image_context(DONATION, 3) == f"donation/{DONATION}/stage/3/image"
    assert field_context(OWNER, label_context(DONATION)) == (
        OWNER.bytes + b"/donation/00000000-0000-4000-8000-0000000000d0/label"
    )


@pytest.mark.parametrize(
    ("field", "sealed", "plain"),
    [
        (
            PSEUDONYM_CONTEXT,
            "7nEexQNZS21T8/pI80REqLAw55N3/VA4Gxsc7Q2DrkBANkyr/URQb2BNfMc=",
            "pseudonym",
        ),
        (
            IDENTITY_CONTEXT,
            "F9DuHlhWK0iMhPjjyvIKuVwWjt/CpktTVTkQKdudGDf40CVJPfSuJfn8Qg==",
            "identity",
        ),
        (
            ERASURE_REASON_CONTEXT,
            "AWtuVllUrizJzI0TZ73S+9rTq5OvVQryFu9bX1wCC7h8gl8xGT1AI3lbgw8Yu/pDnA==",
            "erasure reason",
        ),
        (
            label_context(DONATION),
            "MPmHOCKw9bGQxXnm4A/O6+gmom7qaDatKRe0R7toE7NFLJyBfNcc7w==",
            "label",
        ),
        (
            stage_caption_context(DONATION, 3),
            "ntj9cX+JaZi1+Ixh2doJ16LAibqc1/S5Z/VOfhur+D5iPWI6/Ac4j1O7",
            "caption",
        ),
    ],
)
def test_text_sealed_under_the_old_strings_still_opens(field: str, sealed: str, plain: str) -> None:
    assert KEY.unseal_text(sealed, field) == f"pinned {plain}"


def test_an_image_sealed_under_the_old_string_still_opens() -> None:
    sealed = base64.b64decode("8wiyAlSG9DWwUAy47J9FAoapilQRAXHQFdx19Z7tZxQwPd9+Pjq4jg==")
    assert KEY.unseal_bytes(sealed, stage_image_context(DONATION, 3)) == b"pinned image"
    # The context is what binds it: the same bytes under another stage's context do not open.
    with pytest.raises(SealBroken):
        KEY.unseal_bytes(sealed, stage_image_context(DONATION, 4))

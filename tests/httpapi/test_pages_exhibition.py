"""The exhibition and a work's page: credits by pseudonym (anonymous and erased donors as
such), the share of each, the stages beside a work only while their donors exhibit them, the
stage-role breakdown, and the content credentials with a receipt that verifies."""

from __future__ import annotations

import io
import re
from uuid import UUID

from PIL import Image

from httpapi.exhibition_world import Gallery
from httpapi.pages import links_of
from ledger.receipt import verify_receipt


def shares_of(html: str) -> dict[str, str]:
    return dict(
        re.findall(
            r'<span class="name[^"]*">([^<]+)</span> <span class="share">([^<]+)</span>', html
        )
    )


def stage_images(html: str) -> set[str]:
    return set(re.findall(r'src="(/donations/[0-9a-f-]+/stages/\d+/image)"', html))


def test_the_exhibition_credits_each_work_to_its_donors(gallery: Gallery) -> None:
    page = gallery.client.get("/")
    assert page.status_code == 200
    assert f'href="/works/{gallery.generation_id}"' in page.text
    shares = shares_of(page.text)
    assert set(shares) == {"Pseudonym member", "Pseudonym other_artist", "anonymous donor"}
    assert "Quiet Heron" not in page.text  # an anonymous donor is named by no name
    # shares shown to a tenth of a percent: their sum is 100 within the rounding of each
    assert abs(sum(float(v.removesuffix(" %")) for v in shares.values()) - 100.0) < 0.15
    # the stage-role breakdown names each role of the credited stages
    assert re.search(r'aria-label="Share by stage role: sketch [\d.]+ %', page.text)
    for role in ("sketch", "failure", "final", "attempt", "revision"):
        assert f'class="role-{role}"' in page.text
    images = stage_images(page.text)
    assert len(images) == 8  # 3 stages of each key's donation, 2 of the anonymous donor's
    assert "I kept fixing the boats and forgot the horizon." in page.text
    for image in images:
        shown = gallery.client.get(image)
        assert shown.status_code == 200
        assert shown.content.startswith(b"\x89PNG")
    work = gallery.client.get(f"/works/{gallery.generation_id}/image")
    assert work.headers["content-type"] == "image/png"
    # The served file is the ledger's image wrapped in its signed manifest: same pixels.
    bare = gallery.museum.model_reads.generation_png(UUID(gallery.generation_id))
    assert work.content != bare
    assert Image.open(io.BytesIO(work.content)).tobytes() == Image.open(io.BytesIO(bare)).tobytes()
    assert gallery.museum.credentials.check(work.content).verdict == "trusted"


def test_the_exhibitions_pages_load_only_what_the_museum_serves(gallery: Gallery) -> None:
    for path in ("/", f"/works/{gallery.generation_id}"):
        page = gallery.client.get(path)
        for link in links_of(page.text):
            if link.startswith("#"):
                continue
            assert link.startswith("/"), f"{path}: {link}"
            assert not link.startswith("//"), f"{path}: {link}"
            if not link.startswith("/api/docs"):
                assert gallery.client.get(link).status_code == 200, f"{path}: {link}"


def test_a_work_shows_its_content_credentials(gallery: Gallery) -> None:
    page = gallery.client.get(f"/works/{gallery.generation_id}")
    assert page.status_code == 200
    generation = gallery.museum.model_reads.generation(UUID(gallery.generation_id))
    assert f"<code>{generation.model_version}</code> (tiny preset)" in page.text
    assert "stage role <strong>failure</strong>, emotion <strong>doubt</strong>" in page.text
    assert "4, 10 sampling steps" in page.text
    assert "method <strong>trak</strong>" in page.text
    assert generation.output_sha256[:12] in page.text
    link = f"/works/{gallery.generation_id}/receipt.json"
    assert f'href="{link}"' in page.text
    receipt = gallery.client.get(link).json()
    assert UUID(receipt["event"]["originator_id"]) == UUID(gallery.generation_id)
    verify_receipt(receipt, gallery.museum.ledger.integrity.public_key_hex)  # raises if not
    # The signed manifest, read back from the served file: verdict, credit, training terms.
    assert "verdict <strong>trusted</strong>" in page.text
    assert "trained algorithmic media (AI-generated)" in page.text
    assert "Pseudonym member" in page.text.split("Credit in the manifest")[1]
    assert "ai generative training: notAllowed" in page.text
    api = gallery.client.get(f"/api/v1/generations/{gallery.generation_id}/credentials").json()
    assert api["check"]["verdict"] == "trusted"
    assert [v["version"] for v in api["versions"]] == [1]  # attributed before first served
    assert api["versions"][0]["attribution_id"] is not None


def test_revoking_exhibit_takes_a_donations_stages_off_the_wall(own_gallery: Gallery) -> None:
    client, keys = own_gallery.client, own_gallery.keys
    member = keys.donation_ids["member"]
    before = client.get("/").text
    assert any(member in image for image in stage_images(before))
    assert "of the credit went to stages whose donors do not exhibit them now" not in before
    own_gallery.museum.ledger.revoke_consent(UUID(member), "exhibit")
    after = client.get("/").text
    assert not any(member in image for image in stage_images(after))
    assert len(stage_images(after)) == 5
    assert "of the credit went to stages whose donors do not exhibit them now" in after
    assert "Pseudonym member" in shares_of(after)  # still credited, by pseudonym
    assert client.get(f"/donations/{member}/stages/0/image").status_code == 404
    assert client.get(f"/donations/{member}").status_code == 404
    own_gallery.museum.ledger.grant_consent(UUID(member), "exhibit")
    assert any(member in image for image in stage_images(client.get("/").text))


def test_an_erased_donor_is_credited_as_erased(own_gallery: Gallery) -> None:
    client, keys = own_gallery.client, own_gallery.keys
    erased = UUID(keys.artist_ids["other_artist"])
    own_gallery.museum.models.erase_artist(erased, "test")
    page = client.get("/").text
    shares = shares_of(page)
    assert "erased donor" in shares
    assert "Pseudonym other_artist" not in page
    assert not any(keys.donation_ids["other_artist"] in i for i in stage_images(page))
    work = client.get(f"/works/{own_gallery.generation_id}").text
    assert "erased donor" in work
    assert "Pseudonym other_artist" not in work


def test_a_work_before_its_attribution_and_an_empty_exhibition(sqlite_client) -> None:  # type: ignore[no-untyped-def]
    empty = sqlite_client.get("/")
    assert empty.status_code == 200
    assert "No works yet" in empty.text
    assert sqlite_client.get("/?cursor=nonsense").status_code == 422

"""Demo and benchmark collections, built in code so that tests, demos and benchmarks never need a
download, a GPU or real donors' work. Demo data, not the model: it imports only the ledger's
schemas and image/numeric libraries.

`founding_collection` draws a procedural founding collection: every artist has a recognisable
style, every donation is a whole process (sketch, attempts, failures, final) with a museum label.
`digits_collection` donates scikit-learn's bundled handwritten digits as single-stage finals, so
that benchmarks run on real data with a known class per donation.
"""

from collection.digits import digits_collection
from collection.digits_process import digits_process_collection
from collection.drafts import ArtistDraft, DonationDraft, donation_request
from collection.founding import founding_collection
from collection.words import DIGIT_EMOTIONS, FAMILIES

__all__ = [
    "DIGIT_EMOTIONS",
    "FAMILIES",
    "ArtistDraft",
    "DonationDraft",
    "digits_collection",
    "digits_process_collection",
    "donation_request",
    "founding_collection",
]

"""Revenue splitting, postings, statements and payouts (filled by the royalties issue)."""

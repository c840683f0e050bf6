"""Lists served from the ledger's read models (SQL projections, migration 0005): the artist
directory, credits per artist, consent status; and who the caller is."""

"""Content credentials (C2PA) on every image the museum's model makes.

`certificates` (the museum's signing chain, or a deployer's), `manifest` (what a manifest
says: pure data), `signing` and `reading` (the `c2pa-python` library's Builder and Reader),
`service` (issuing a generation's versions through the ledger). Kept out of the ledger layer:
the C2PA library reads and writes files and streams of its own.
"""

"""The verifiable log over HTTP: signed head, receipts, consistency proofs, verification."""

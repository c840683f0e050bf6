"""The compliance desk: the reports, the signed head and "verify now", erasures, consent proofs."""

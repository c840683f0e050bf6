"""My museum: an artist's own donations, consents, feedback, credits, earnings and erasure."""

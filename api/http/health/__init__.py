"""The service's liveness answer: what the load benchmark measures as its baseline."""

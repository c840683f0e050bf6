"""Pages: signin."""

"""A witness's own HTTP service (c2sp.org/tlog-witness), apart from the museum's app."""

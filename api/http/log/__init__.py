"""The log in the ecosystem's formats: C2SP checkpoint and tlog-tiles."""

"""Royalties over HTTP: revenue, refunds, payout runs, balances, statements."""

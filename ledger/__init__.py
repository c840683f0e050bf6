"""The museum's source of truth: an event-sourced, verifiable, crypto-shreddable ledger.

This package must not import torch, litestar or arq.
"""

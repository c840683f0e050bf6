"""The erasure bench (`museum bench erasure`): a harness beside the retraining it measures.

`harness` runs it and returns the figures (it prints nothing; `api.cli.bench` renders them);
`museum` seeds the ledger it erases from, `scoring` holds the per-item losses and the
membership attack, `report` turns measurements into figures and verdicts, and `figures` the
typed views and targets (torch-free). No production module imports this package.
"""

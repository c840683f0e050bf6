"""The attribution bench (`museum bench attribution`): a harness beside what it measures.

`harness` runs it and returns the figures (it prints nothing; `api.cli.bench` renders them);
`data` builds the data sets, `train` retrains and caches the subset models, `lds` scores one
data set, `stats` holds the protocol's statistics, `ground_truth` its reliability and the
counterfactual check, `latency` the 10,000-item timing, `plan` the sizes of a run, and
`candidates` the selection rounds' candidate methods beside the registry's (the rounds
themselves: docs/attribution.md). No production module imports this package.
"""

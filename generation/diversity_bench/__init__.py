"""The diversity bench (`museum bench diversity`): a harness beside the models it measures.

`harness` runs it and returns the figures (it prints nothing; `api.cli.bench` renders them);
`data` splits the two process collections, `embedding` trains the bench's own feature network,
`arms` builds what is compared (the process model, the finals-only model, and any arm plugged
in later), `metrics` holds Vendi, precision / recall and the bootstrap, `report` turns samples
into figures and verdicts, and `figures` the typed views (torch-free). No production module
imports this package.
"""

"""The compliance reports: consent behind every training run, erasures, the training-data
summary, and how concentrated attribution is across artists."""

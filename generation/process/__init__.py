"""The process continuation model: the next stage of a series, given the previous one.

A diffusers `UNet2DModel` whose input is the noisy next stage concatenated, channel-wise, with
the previous stage's image, conditioned on the labels (the next stage's role, the series'
emotion and its failure type). Trained on consecutive stage pairs of consented series; the
previous image (and, apart from it, the labels) is dropped at a configurable rate so that
sampling can use classifier-free guidance. Model (`model`), configs (`config`), training
(`training`), sampling (`pipeline`) and the museum acts (`service`, `proposals`) sit apart, as
in diffusers.
"""

"""METHODS: the training methods a recipe selects with `train.method`.

A method is its typed config (a `TrainConfig` subclass with help on every field)
and `fit(dataset, cfg, output_dir, callbacks=()) -> {"steps", "train_loss", ...}`,
which trains the student on the snapshot's dataset (training/data.py), with the
caller's transformers `TrainerCallback`s attached (progress), and saves it to
`output_dir/final`. training/run.py does the bookkeeping around it (ids, reuse,
`training_runs`). To add a method: one new file here with its config and `fit`,
and one line below.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

from training.config import TrainConfig
from training.methods import gkd, kd, sft


class Method(NamedTuple):
    config: type[TrainConfig]
    fit: Callable[..., dict]  # fit(dataset, cfg, output_dir, callbacks=()) -> result


METHODS: dict[str, Method] = {
    "sft": Method(sft.SFTConfig, sft.fit),
    "kd": Method(kd.KDConfig, kd.fit),
    "gkd": Method(gkd.GKDConfig, gkd.fit),
}


def with_method(cfg: TrainConfig, method: str) -> TrainConfig:
    """`cfg` as the config of another method: the fields both have keep their values, the new method's own
    fields take their defaults (how `distill train --method kd` trains a recipe written for sft)."""
    if method not in METHODS:
        raise ValueError(f"unknown training method {method!r}; known: {', '.join(sorted(METHODS))}")
    target = METHODS[method].config
    shared = {f.name for f in dataclasses.fields(target)} & {f.name for f in dataclasses.fields(cfg)}
    return target(**{**{k: getattr(cfg, k) for k in shared if k != "method"}, "method": method})

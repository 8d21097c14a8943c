"""Every choice a run's config offers, in one place: a Literal type per field (what the field is
annotated with) and the tuple of its values (what is checked, offered by the CLI and listed in
errors). Choices that belong to the hardware (neuron levels, device models, programming schemes)
live with their dataclasses in memprop.circuits, the datasets with their readers (data/datasets.py,
re-exported here so that every choice of the config is found in this module)."""

from __future__ import annotations

from typing import Literal, get_args

from memprop.cosim.data.datasets import DATASETS, DatasetName as Dataset

Topology = Literal["layered", "recurrent"]
Init = Literal["glorot", "uniform"]
Analysis = Literal["op", "tran"]
SampleKind = Literal["auto", "digits", "random"]
Rule = Literal["ep", "rbp"]
Backend = Literal["ngspice", "behavioral"]
#: how the ngspice backend solves the phases of a batch
Batching = Literal["sweep", "per-phase"]
DeviceForm = Literal["auto", "dynamic"]
Precision = Literal["float64", "float32"]
#: how the learning rate changes from epoch to epoch
LrSchedule = Literal["constant", "cosine", "step"]
Optimizer = Literal["sgd", "adam"]
Nudging = Literal["one-sided", "symmetric", "random-sign"]
Update = Literal["ideal", "pulse"]

#: The values of each choice, in the order of the types above (what is checked and offered).
(TOPOLOGIES, INITS, ANALYSES, SAMPLE_KINDS, RULES, BACKENDS, BATCHINGS, DEVICE_FORMS, PRECISIONS, LR_SCHEDULES,
 OPTIMIZERS, NUDGINGS, UPDATES) = (get_args(choice) for choice in (
    Topology, Init, Analysis, SampleKind, Rule, Backend, Batching, DeviceForm, Precision, LrSchedule, Optimizer,
    Nudging, Update))

__all__ = ["Topology", "Init", "Analysis", "SampleKind", "Rule", "Backend", "Batching", "DeviceForm", "Precision",
           "LrSchedule", "Optimizer", "Nudging", "Update", "Dataset", "TOPOLOGIES", "INITS", "ANALYSES",
           "SAMPLE_KINDS", "RULES", "BACKENDS", "BATCHINGS", "DEVICE_FORMS", "PRECISIONS", "LR_SCHEDULES",
           "OPTIMIZERS", "NUDGINGS", "UPDATES", "DATASETS"]

"""Split inference (seed 003): a model owner's partitioned model, its first layers run under CKKS on the market."""
from __future__ import annotations

from cipherquorum.inference.data import DigitsSplit, load_split, validate_images
from cipherquorum.inference.leakage import LeakageResult, measure_leakage, score_rebuild
from cipherquorum.inference.model import Layer, Model
from cipherquorum.inference.packing import pack, unpack
from cipherquorum.inference.partition import PRESET, PROGRAM, LayerMeta, head_needs, head_params, layer_metadata
from cipherquorum.inference.repository import ModelCard, ModelRepository, PublishedModel
from cipherquorum.inference.train import TrainingConfig, train_model

__all__ = [
    "PRESET",
    "PROGRAM",
    "DigitsSplit",
    "Layer",
    "LayerMeta",
    "LeakageResult",
    "Model",
    "ModelCard",
    "ModelRepository",
    "PublishedModel",
    "TrainingConfig",
    "head_needs",
    "head_params",
    "layer_metadata",
    "load_split",
    "measure_leakage",
    "pack",
    "score_rebuild",
    "train_model",
    "unpack",
    "validate_images",
]

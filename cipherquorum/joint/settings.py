"""The [joint_stats] and [federated] scenario sections, read strictly into frozen settings."""
from __future__ import annotations

from dataclasses import dataclass

from cipherquorum.fhe.presets import PRESETS, get_preset
from cipherquorum.joint.data import DATASETS
from cipherquorum.joint.federated import TrainingTerms
from cipherquorum.settings.toml import TableReader

MAX_OWNERS = 64
"""Most data owners a joint computation takes (each is a role of its own)."""
MAX_ROUNDS = 100
"""Most federated rounds a scenario may ask for."""
JOINT_MODES = ("masked", "encrypted_rows")
"""How a joint-statistics job runs: "masked", each owner's exact local sums under pairwise masks, summed by
sum@1 (the analyst can decrypt no owner's part); "encrypted_rows", the rows themselves under the analyst's key,
multiplied on the nodes by joint_moments@1 (an analyst that decrypts an owner's chunk reads its rows)."""


@dataclass(frozen=True)
class JointStatsSettings:
    """Joint statistics: ``owners`` share ``rows`` of ``dataset`` (0: all), encoded at ``feature_scale`` (the
    target at ``target_scale``), under the analyst's key of ``preset``."""

    section: str
    clients: int
    dataset: str
    owners: int
    rows: int
    feature_scale: int
    target_scale: int
    preset: str
    bad_inputs: bool = True
    """Also try the bad inputs the job must refuse (rows of the wrong width or out of range, too many rows,
    an owner under another key) and report each error."""
    mode: str = "masked"
    """One of JOINT_MODES."""


@dataclass(frozen=True)
class FederatedSettings:
    """Federated logistic regression: ``owners`` share the training rows of ``dataset``; ``test_fraction`` is
    held out for the key holder's evaluation; ``rounds`` of FedAvg under the aggregation key of ``preset``."""

    section: str
    clients: int
    dataset: str
    owners: int
    rounds: int
    test_fraction: float
    terms: TrainingTerms
    preset: str
    bad_inputs: bool = True
    """Also try the bad inputs a round must refuse (features out of range, too many rows, an owner under
    another key) and report each error."""


def _preset(reader: TableReader, default: str) -> str:
    name = reader.string("preset", default, choices=tuple(sorted(PRESETS)))
    if get_preset(name).scheme != "bfv":
        raise reader.error(f"must be a bfv preset: results are exact in fixed point (got {name!r})", "preset")
    return name


def read_joint_stats(reader: TableReader) -> JointStatsSettings:
    """Read [joint_stats]; raises ScenarioError naming the field and the value."""
    settings = JointStatsSettings(
        section="joint_stats",
        clients=reader.integer("clients", 1, minimum=1, maximum=1),
        dataset=reader.string("dataset", "diabetes", choices=("diabetes",)),
        owners=reader.integer("owners", 3, minimum=3, maximum=MAX_OWNERS),
        rows=reader.integer("rows", 0, minimum=0),
        feature_scale=reader.integer("feature_scale", 10_000, minimum=1, maximum=10**9),
        target_scale=reader.integer("target_scale", 1, minimum=1, maximum=10**9),
        preset=_preset(reader, "bfv-8192-wide"),
        bad_inputs=reader.boolean("bad_inputs", True),
        mode=reader.string("mode", "masked", choices=JOINT_MODES),
    )
    reader.finish()
    return settings


def read_federated(reader: TableReader) -> FederatedSettings:
    """Read [federated]; raises ScenarioError naming the field and the value."""
    terms = TrainingTerms(
        local_epochs=reader.integer("local_epochs", 25, minimum=1, maximum=10_000),
        learning_rate=_positive(reader, "learning_rate", 4.0),
        l2=_non_negative(reader, "l2", 1e-4),
        weight_scale=reader.integer("weight_scale", 10_000, minimum=1, maximum=10**9),
        weight_clip=_positive(reader, "weight_clip", 20.0),
    )
    test_fraction = reader.number("test_fraction", 0.2)
    if not 0.0 < test_fraction < 0.9:
        raise reader.error(f"must be in (0, 0.9) (got {test_fraction})", "test_fraction")
    settings = FederatedSettings(
        section="federated",
        clients=reader.integer("clients", 1, minimum=1, maximum=1),
        dataset=reader.string("dataset", "breast_cancer", choices=("breast_cancer",)),
        owners=reader.integer("owners", 3, minimum=3, maximum=MAX_OWNERS),
        rounds=reader.integer("rounds", 5, minimum=1, maximum=MAX_ROUNDS),
        test_fraction=test_fraction,
        terms=terms,
        preset=_preset(reader, "bfv-8192"),
        bad_inputs=reader.boolean("bad_inputs", True),
    )
    reader.finish()
    return settings


def _positive(reader: TableReader, key: str, default: float) -> float:
    value = reader.number(key, default)
    if not value > 0.0 or value == float("inf"):
        raise reader.error(f"must be a finite number > 0 (got {value})", key)
    return value


def _non_negative(reader: TableReader, key: str, default: float) -> float:
    value = reader.number(key, default)
    if not 0.0 <= value < float("inf"):
        raise reader.error(f"must be a finite number >= 0 (got {value})", key)
    return value


__all__ = ["DATASETS", "FederatedSettings", "JointStatsSettings", "read_federated", "read_joint_stats"]

"""Bundled scikit-learn data sets (no network) split into disjoint shares, one per data owner."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from eth_hash.auto import keccak
from sklearn import datasets

from cipherquorum.exceptions import ValidationError
from cipherquorum.joint.schema import JointSchema, schema_of

_LOADERS: MappingProxyType[str, Callable[..., object]] = MappingProxyType({
    "diabetes": datasets.load_diabetes,
    "breast_cancer": datasets.load_breast_cancer,
    "wine": datasets.load_wine,
})
DATASETS = tuple(_LOADERS)
"""The data sets a scenario may name."""


@dataclass(frozen=True)
class Dataset:
    """A bundled data set: features (rows x columns) and a target (a regression value or a class)."""

    name: str
    features: np.ndarray
    target: np.ndarray
    feature_names: tuple[str, ...]
    target_name: str

    @property
    def rows(self) -> int:
        """Rows in the data set."""
        return int(self.features.shape[0])

    def table(self) -> np.ndarray:
        """Features with the target as the last column."""
        return np.column_stack([self.features, self.target.astype(np.float64)])


@dataclass(frozen=True)
class OwnerShare:
    """One owner's rows: a name, features and targets (no other owner sees them)."""

    owner: str
    features: np.ndarray
    target: np.ndarray

    @property
    def rows(self) -> int:
        """Rows this owner holds."""
        return int(self.features.shape[0])

    def table(self) -> np.ndarray:
        """Features with the target as the last column."""
        return np.column_stack([self.features, self.target.astype(np.float64)])


def load_dataset(name: str) -> Dataset:
    """Return the bundled data set ``name``; raises ValidationError naming the known ones."""
    loader = _LOADERS.get(name)
    if loader is None:
        raise ValidationError(f"no bundled data set is named {name!r} (known: {', '.join(DATASETS)})")
    bunch = loader()
    return Dataset(name, np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target),  # type: ignore[attr-defined]
                   tuple(str(n) for n in bunch.feature_names), "target")  # type: ignore[attr-defined]


def split_shares(dataset: Dataset, owners: int, seed: int, rows: int = 0,
                 test_fraction: float = 0.0) -> tuple[list[OwnerShare], OwnerShare]:
    """Shuffle the rows with ``seed`` and keep the first ``rows`` (0: all); hold out ``test_fraction`` of them
    (the evaluation rows, named "test") and split the rest into ``owners`` disjoint shares of near-equal size,
    named owner-0, owner-1, ...

    Raises ValidationError for fewer than 3 owners, more owners than rows, more rows than the data set has, or
    a test fraction outside [0, 0.9).
    """
    if owners < 3:
        raise ValidationError(f'"owners" must be >= 3 for a joint computation (got owners={owners})')
    if not 0 <= rows <= dataset.rows:
        raise ValidationError(f'"rows" must be in [0, {dataset.rows}] for {dataset.name} (got rows={rows})')
    if not 0.0 <= test_fraction < 0.9:
        raise ValidationError(f'"test_fraction" must be in [0, 0.9) (got test_fraction={test_fraction})')
    order = np.random.default_rng(seed).permutation(dataset.rows)[: rows or dataset.rows]
    held = round(test_fraction * order.size)
    test, train = order[:held], order[held:]
    if owners > train.size:
        raise ValidationError(f'"owners" must be <= the rows they share ({train.size}) (got owners={owners})')
    shares = [OwnerShare(f"owner-{k}", dataset.features[part], dataset.target[part])
              for k, part in enumerate(np.array_split(train, owners))]
    return shares, OwnerShare("test", dataset.features[test], dataset.target[test])


@dataclass(frozen=True)
class ShareSpec:
    """Which share an owner loads for itself, so that its rows are read inside its own process."""

    dataset: str
    owners: int
    index: int
    seed: int
    rows: int = 0
    test_fraction: float = 0.0

    def load(self) -> OwnerShare:
        """This owner's share; raises ValidationError as ``split_shares`` does, or for an index out of range."""
        if not 0 <= self.index < self.owners:
            raise ValidationError(f'"index" must be in [0, {self.owners}) (got index={self.index})')
        shares, _test = split_shares(load_dataset(self.dataset), self.owners, self.seed, self.rows, self.test_fraction)
        return shares[self.index]


def pooled(shares: list[OwnerShare]) -> OwnerShare:
    """Every share's rows together, as the plaintext reference sees them."""
    return OwnerShare("pooled", np.vstack([s.features for s in shares]), np.concatenate([s.target for s in shares]))


def stats_schema(dataset: Dataset, feature_scale: int, target_scale: int) -> JointSchema:
    """The public schema of a joint-statistics job: every feature at ``feature_scale``, the target last."""
    scales = [feature_scale] * len(dataset.feature_names) + [target_scale]
    return schema_of((*dataset.feature_names, dataset.target_name), dataset.table(), scales)


def features_schema(dataset: Dataset) -> JointSchema:
    """The public schema of a federated job: the features' ranges (scale 1: only the range is used)."""
    return schema_of(dataset.feature_names, dataset.features, [1] * len(dataset.feature_names))


def seed_of(run_seed: str, what: str) -> int:
    """A 64-bit seed for ``what`` ("joint_stats") derived from the run's seed, so a run is reproducible."""
    return int.from_bytes(keccak(f"{run_seed}/{what}".encode())[:8], "big")

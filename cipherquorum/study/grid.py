"""The ``[sweep]`` table of a sweep file: the grid it spans, read strictly, with command-line overrides.

A sweep file has one ``[sweep]`` table. Its keys set the market's prices and the mode, and the defaults of its
grid lines, the ``[[sweep.grid]]`` tables; each line is the Cartesian product of its arrays (replication and
quorum, byzantine share, share measure, byzantine kind, stake distribution, seed). Without grid lines the
``[sweep]`` table itself is the one line. An override (``key=value``, the value in TOML syntax) replaces a key
of ``[sweep]`` and of every grid line.

A line with ``adaptive = true`` runs adaptive tasks: ``replication`` is then each task's r_min and
``max_replication`` (one value, or one per replication) its r_max; its quorum "majority" is a majority of r_max
(which r_min must reach, since the contract wants q <= r_min), "unanimous" is r_min.
"""
from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from cipherquorum.exceptions import ScenarioError
from cipherquorum.protocol import MAX_REPLICATION, BehaviourName
from cipherquorum.settings.toml import TableReader, describe_value, read_toml_file
from cipherquorum.study.economics import MarketPrices
from cipherquorum.study.registry import Registry
from cipherquorum.study.theory import BYZANTINE_KINDS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found]  # mypy checks as 3.10; tomli is not in this venv

T = TypeVar("T")

MODES = ("contract", "real")
QUORUM_RULES = ("majority", "unanimous")
SHARE_MEASURES = ("count", "stake")
STAKE_DISTRIBUTIONS = ("equal", "linear", "lognormal")
MAX_NODES = 256
"""The contract's MAX_NODES: most nodes a market registers."""
MAX_TRIALS = 10_000_000
LINE_KEYS = ("replication", "quorum", "byzantine_share", "share_by", "byzantine_kind", "stakes", "seeds", "trials",
             "nodes", "adaptive", "max_replication")
"""The keys a grid line reads, each defaulting to the ``[sweep]`` table's value."""
_LINE_DEFAULTS: Mapping[str, Any] = {
    "replication": [1, 3, 5, 7], "quorum": "majority", "byzantine_share": [0.0, 0.1, 0.2, 0.3],
    "share_by": ["count"], "byzantine_kind": ["colluding"], "stakes": ["equal"], "seeds": ["sweep"],
    "trials": 1000, "nodes": 20, "adaptive": False,
}
ETHER = 10**18


@dataclass(frozen=True)
class GridLine:
    """One line of the grid: every combination of its (r, q) pairs, shares, measures, kinds, stakes and seeds."""

    name: str
    pairs: tuple[tuple[int, int], ...]
    byzantine_shares: tuple[float, ...]
    share_by: tuple[str, ...]
    kinds: tuple[BehaviourName, ...]
    stakes: tuple[str, ...]
    seeds: tuple[str, ...]
    trials: int
    nodes: int
    max_replications: tuple[int, ...] = ()
    """An adaptive line's r_max for each of its pairs (whose replication is r_min); empty for fixed replication."""

    @property
    def adaptive(self) -> bool:
        """Whether the line's tasks are adaptive."""
        return bool(self.max_replications)

    @property
    def size(self) -> int:
        """How many grid points the line spans."""
        return (len(self.pairs) * len(self.byzantine_shares) * len(self.share_by) * len(self.kinds)
                * len(self.stakes) * len(self.seeds))


@dataclass(frozen=True)
class GridPoint:
    """One point of the grid: the task's (r, q), who is byzantine and how, the stakes, the seed, the trials."""

    line: str
    replication: int
    quorum: int
    byzantine_share: float
    share_by: str
    kind: BehaviourName
    stakes: str
    seed: str
    trials: int
    registry: Registry
    max_replication: int | None = None
    """An adaptive point's r_max (``replication`` is its r_min); None for fixed replication."""

    @property
    def pair_label(self) -> str:
        """The replication and quorum: ``r3q2``, or ``r3-5q3`` for an adaptive point (r_min to r_max)."""
        top = "" if self.max_replication is None else f"-{self.max_replication}"
        return f"r{self.replication}{top}q{self.quorum}"

    @property
    def label(self) -> str:
        """A short name of the point, unique within a sweep."""
        return (f"{self.line}/{self.pair_label}/{self.kind.value}/{self.share_by}"
                f"{self.byzantine_share:g}/{self.stakes}/{self.seed}")


@dataclass(frozen=True)
class SweepConfig:
    """A whole sweep: where it was read from, its mode, the market's prices and stakes, and its grid lines."""

    source: str
    mode: str
    prices: MarketPrices
    min_stake_wei: int
    stake_wei: int
    slash_ratios: tuple[float, ...]
    lines: tuple[GridLine, ...]

    @property
    def size(self) -> int:
        """How many grid points the sweep spans."""
        return sum(line.size for line in self.lines)

    def only(self, names: Sequence[str]) -> SweepConfig:
        """The sweep with just the grid lines named ``names``, in file order; raises ScenarioError for a name
        that no line has."""
        known = [line.name for line in self.lines]
        for name in names:
            if name not in known:
                raise ScenarioError(f'{self.source}: no grid line is named {name!r} (lines: {", ".join(known)})')
        return replace(self, lines=tuple(line for line in self.lines if line.name in names))

    def points(self) -> Iterator[GridPoint]:
        """Every grid point, line by line, each with the registry its stakes and byzantine share make."""
        for line in self.lines:
            for seed in line.seeds:
                for stakes in line.stakes:
                    for share_by in line.share_by:
                        for share in line.byzantine_shares:
                            registry = build_registry(line.nodes, stakes, self.stake_wei, share, share_by, seed)
                            tops: tuple[int | None, ...] = line.max_replications or (None,) * len(line.pairs)
                            for kind in line.kinds:
                                for (r, q), top in zip(line.pairs, tops):
                                    yield GridPoint(line.name, r, q, share, share_by, kind, stakes, seed,
                                                    line.trials, registry, top)


def build_stakes(nodes: int, distribution: str, stake_wei: int, seed: str) -> tuple[int, ...]:
    """The stakes of ``nodes`` nodes: all ``stake_wei`` ("equal"), ``stake_wei`` x 1, 2, ... ("linear"), or
    ``stake_wei`` x exp(z - min z) with z standard normal drawn from the seed ("lognormal"; the least stakes
    ``stake_wei``, whole gwei)."""
    if distribution == "equal":
        return (stake_wei,) * nodes
    if distribution == "linear":
        return tuple(stake_wei * (i + 1) for i in range(nodes))
    if distribution == "lognormal":
        draws = random.Random(f"{seed}/stakes").gauss
        z = [draws(0.0, 1.0) for _ in range(nodes)]
        low = min(z)
        return tuple(max(stake_wei, round(stake_wei * math.exp(x - low) / 10**9) * 10**9) for x in z)
    raise ScenarioError(f'unknown stake distribution {distribution!r} (known: {", ".join(STAKE_DISTRIBUTIONS)})')


def build_registry(nodes: int, distribution: str, stake_wei: int, share: float, share_by: str,
                   seed: str) -> Registry:
    """The registry of a grid point: the stakes of ``distribution`` and, in an order drawn from the seed, the
    byzantine nodes. By "count" the first round(share x nodes) of that order; by "stake" the first ones while
    each added node brings their share of the stake closer to ``share``."""
    stakes = build_stakes(nodes, distribution, stake_wei, seed)
    order = random.Random(f"{seed}/byzantine").sample(range(nodes), nodes)
    chosen: set[int] = set()
    if share_by == "count":
        chosen = set(order[:math.floor(share * nodes + 0.5)])
    elif share_by == "stake":
        total, held = sum(stakes), 0
        for index in order:
            if abs((held + stakes[index]) / total - share) >= abs(held / total - share):
                break
            chosen.add(index)
            held += stakes[index]
    else:
        raise ScenarioError(f'unknown share measure {share_by!r} (known: {", ".join(SHARE_MEASURES)})')
    return Registry(stakes, tuple(i in chosen for i in range(nodes)))


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` as a key and a value: the value in TOML syntax (``[1, 3]``, ``0.5``, ``"a"``), or else the
    bare text as a string. Raises ScenarioError for text without "=" or with an empty key."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(f"an override must be key=value (got {describe_value(text)})")
    try:
        return key, tomllib.loads(f"value = {value.strip()}")["value"]
    except ValueError:
        return key, value.strip()


def load_sweep(path: str | Path, overrides: Sequence[tuple[str, Any]] = ()) -> SweepConfig:
    """Read the sweep file at ``path`` with ``overrides`` applied; raises ScenarioError naming the bad field."""
    document, source = read_toml_file(path)
    return parse_sweep(document, source, overrides)


def parse_sweep(document: Mapping[str, Any], source: str, overrides: Sequence[tuple[str, Any]] = ()) -> SweepConfig:
    """The sweep a parsed document describes, ``overrides`` applied; raises ScenarioError naming the field."""
    top = TableReader(source, "", document)
    if not top.has("sweep"):
        raise top.error('a sweep file needs a [sweep] table')
    raw = document["sweep"]
    table = dict(raw) if isinstance(raw, Mapping) else raw
    for key, value in overrides:
        if key == "grid":
            raise ScenarioError(f"{source}: override: the grid lines cannot be overridden, only their keys")
        table[key] = value
        if key in LINE_KEYS and isinstance(table.get("grid"), list):
            table["grid"] = [{**line, key: value} if isinstance(line, Mapping) else line for line in table["grid"]]
    config = _read_sweep(TableReader(source, "sweep", table), table, source)
    top.finish()
    return config


def _read_sweep(reader: TableReader, table: Mapping[str, Any], source: str) -> SweepConfig:
    mode = reader.string("mode", "contract", MODES)
    min_stake = reader.wei("min_stake_wei", ETHER)
    slash = reader.wei("slash_wei", ETHER // 10)
    stake = reader.wei("stake_wei", 2 * ETHER, maximum=2**96 // MAX_NODES)
    if stake < max(min_stake, slash):
        raise reader.error(f"must be >= min_stake_wei and slash_wei, or no node is ever matched (got {stake}, "
                           f"min_stake_wei={min_stake}, slash_wei={slash})", "stake_wei")
    reward = reader.wei("reward_per_node_wei", ETHER // 100, maximum=2**96)
    if reward == 0:
        raise reader.error("must be > 0: the contract refuses an empty escrow (got 0)", "reward_per_node_wei")
    prices = MarketPrices(reward, slash, reader.wei("gas_price_wei", 10**9))
    ratios = tuple(_array(reader, "sweep", table, "slash_ratios", [0, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 20],
                          lambda item, key: _fraction(item, key, 0.0, 1e6)))
    defaults = {key: table.get(key, default) for key, default in _LINE_DEFAULTS.items()}
    for key in LINE_KEYS:
        reader.has(key)
    lines: list[GridLine] = []
    grid = reader.tables("grid")  # checks that each line is a table
    if not grid:
        values = {**defaults, "name": "grid"}
        lines.append(_read_line(TableReader(source, "sweep", values), "sweep", values))
    for index in range(len(grid)):
        path = f"sweep.grid[{index}]"
        values = {**defaults, **table["grid"][index]}
        lines.append(_read_line(TableReader(source, path, values), path, values))
    names = [line.name for line in lines]
    for name in names:
        if names.count(name) > 1:
            raise reader.error(f"grid line names must differ (got {name!r} twice)", "grid")
    reader.finish()
    return SweepConfig(source, mode, prices, min_stake, stake, ratios, tuple(lines))


def _read_line(reader: TableReader, path: str, table: Mapping[str, Any]) -> GridLine:
    name = reader.string("name", "grid")
    nodes = reader.integer("nodes", 20, minimum=1, maximum=MAX_NODES)
    replication = _array(reader, path, table, "replication", None,
                         lambda item, key: item.integer(key, minimum=1, maximum=min(MAX_REPLICATION, nodes)))
    adaptive = reader.boolean("adaptive", False)
    tops: list[int] = []
    if adaptive:
        tops = _array(reader, path, table, "max_replication", None,
                      lambda item, key: item.integer(key, minimum=1, maximum=min(MAX_REPLICATION, nodes)))
        if len(tops) == 1:
            tops = tops * len(replication)
        if len(tops) != len(replication):
            raise reader.error(f"must be one value or one per replication (got {len(tops)} for "
                               f"{len(replication)} replications)", "max_replication")
        for index, (r, top) in enumerate(zip(replication, tops)):
            if top < r:
                raise reader.error(f"must be >= replication {r}, the r_min (got {top})", f"max_replication[{index}]")
        pairs = _adaptive_quorums(reader, path, table, replication, tops)
    else:
        if reader.has("max_replication") and table.get("max_replication") is not None:
            raise reader.error("needs adaptive = true (got max_replication without it)", "max_replication")
        pairs = _quorums(reader, path, table, replication)
    shares = _array(reader, path, table, "byzantine_share", None, lambda item, key: _fraction(item, key, 0.0, 1.0))
    share_by = _array(reader, path, table, "share_by", None, lambda item, key: item.string(key, choices=SHARE_MEASURES))
    kind_names = tuple(kind.value for kind in BYZANTINE_KINDS)
    kinds = _array(reader, path, table, "byzantine_kind", None,
                   lambda item, key: BehaviourName(item.string(key, choices=kind_names)))
    stakes = _array(reader, path, table, "stakes", None,
                    lambda item, key: item.string(key, choices=STAKE_DISTRIBUTIONS))
    seeds = _array(reader, path, table, "seeds", None, lambda item, key: item.string(key))
    trials = reader.integer("trials", 1000, minimum=1, maximum=MAX_TRIALS)
    reader.finish()
    return GridLine(name, pairs, tuple(shares), tuple(share_by), tuple(kinds), tuple(stakes), tuple(seeds), trials,
                    nodes, tuple(tops))


def _adaptive_quorums(reader: TableReader, path: str, table: Mapping[str, Any], replication: list[int],
                      tops: list[int]) -> tuple[tuple[int, int], ...]:
    """An adaptive line's (r_min, q) pairs: "majority" of r_max (r_min must reach it), "unanimous" r_min, or one
    quorum per replication that the contract accepts (a majority of r_min, at most r_min)."""
    rule = table.get("quorum", "majority")
    if isinstance(rule, str):
        rule = reader.string("quorum", choices=QUORUM_RULES)
        quorums = [top // 2 + 1 if rule == "majority" else r for r, top in zip(replication, tops)]
        for index, (r, q) in enumerate(zip(replication, quorums)):
            if q > r:
                raise reader.error(f"an adaptive majority quorum is a majority of max_replication ({q}), which "
                                   f"replication (r_min) must reach (got replication={r})", f"replication[{index}]")
        return tuple(zip(replication, quorums))
    return _quorums(reader, path, table, replication)

def _quorums(reader: TableReader, path: str, table: Mapping[str, Any],
             replication: list[int]) -> tuple[tuple[int, int], ...]:
    rule = table.get("quorum", "majority")
    if isinstance(rule, str):
        rule = reader.string("quorum", choices=QUORUM_RULES)
        return tuple((r, r // 2 + 1 if rule == "majority" else r) for r in replication)
    quorums = _array(reader, path, table, "quorum", None, lambda item, key: item.integer(key, minimum=1))
    if len(quorums) != len(replication):
        raise reader.error(f"must be majority, unanimous, or one quorum per replication (got {len(quorums)} "
                           f"quorums for {len(replication)} replications)", "quorum")
    for index, (r, q) in enumerate(zip(replication, quorums)):
        if not r / 2 < q <= r:
            raise reader.error(f"must be a majority of replication {r} and at most it (got {q})", f"quorum[{index}]")
    return tuple(zip(replication, quorums))


def _fraction(item: TableReader, key: str, low: float, high: float) -> float:
    value = item.number(key)
    if not low <= value <= high:
        raise item.error(f"must be in [{low:g}, {high:g}] (got {value:g})", key)
    return value


def _array(reader: TableReader, path: str, table: Mapping[str, Any], key: str, default: Any,
           read: Callable[[TableReader, str], T]) -> list[T]:
    """The items of array ``key`` (a single value counts as one item), each read by ``read`` from a reader
    whose errors name ``key[i]``; refuses an empty array."""
    reader.has(key)
    value = table.get(key, default)
    if value is None:
        raise reader.error("is required", key)
    items = value if isinstance(value, list) else [value]
    if not items:
        raise reader.error("must not be an empty array", key)
    source = reader.source
    return [read(TableReader(source, path, {f"{key}[{i}]": item}), f"{key}[{i}]") for i, item in enumerate(items)]


__all__ = [
    "LINE_KEYS",
    "MODES",
    "QUORUM_RULES",
    "SHARE_MEASURES",
    "STAKE_DISTRIBUTIONS",
    "GridLine",
    "GridPoint",
    "SweepConfig",
    "build_registry",
    "build_stakes",
    "load_sweep",
    "parse_override",
    "parse_sweep",
]

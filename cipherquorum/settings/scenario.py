"""Scenario files: TOML read strictly into frozen dataclasses, with errors that name the file, field and value."""
from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cipherquorum.exceptions import CipherQuorumError, ScenarioError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

BEHAVIOURS = ("honest", "wrong", "lazy", "crash", "slow", "colluding")
"""Compute-node behaviours a scenario may name."""

QUESTION_KINDS = ("choice", "number")

STUDY_PROGRAMS = ("histogram@1", "sum@1", "mean@1", "variance@1")
"""Programs a study question can name: each aggregates answers additively, so tasks can split the answers."""

T = TypeVar("T")
ETHER_WEI = 10**18


@dataclass(frozen=True)
class RunConfig:
    """Identity and placement of a run."""

    name: str
    seed: str
    data_dir: str = ""
    ray_address: str = ""


@dataclass(frozen=True)
class ChainConfig:
    """Which chain to use and the TaskMarket's economic constants."""

    rpc_url: str = ""
    min_stake_wei: int = ETHER_WEI
    slash_wei: int = ETHER_WEI // 2
    exit_cooldown_s: int = 60
    fund_wei: int = 1000 * ETHER_WEI

    @property
    def embedded(self) -> bool:
        """True when the run starts its own devnet instead of joining ``rpc_url``."""
        return not self.rpc_url


@dataclass(frozen=True)
class MarketConfig:
    """How every task of the run is replicated and paid."""

    replication: int = 3
    quorum: int = 2
    reward_per_node_wei: int = ETHER_WEI // 100
    commit_window_s: int = 120
    reveal_window_s: int = 60
    time_limit_s: int = 60


@dataclass(frozen=True)
class NodeGroup:
    """``count`` compute nodes that share a behaviour, a stake, a capacity and a price."""

    count: int
    behaviour: str = "honest"
    stake_wei: int = 2 * ETHER_WEI
    capacity: int = 4
    price_wei: int = ETHER_WEI // 100


@dataclass(frozen=True)
class Question:
    """One question of a study: a choice (one-hot answer) or a bounded integer."""

    text: str
    kind: str
    options: tuple[str, ...] = ()
    min_value: int = 0
    max_value: int = 0
    programs: tuple[str, ...] = ()

    @property
    def bins(self) -> int:
        """Number of slots an answer occupies."""
        return len(self.options) if self.kind == "choice" else 1


@dataclass(frozen=True)
class Study:
    """A market study published by one client and answered by the population."""

    study_id: str
    title: str
    questions: tuple[Question, ...]
    respondents: int = 0
    inputs_per_task: int = 0


@dataclass(frozen=True)
class PopulationConfig:
    """The simulated respondents and the actors that host them."""

    respondents: int = 100
    shards: int = 2


@dataclass(frozen=True)
class FheConfig:
    """FHE parameter preset used by the studies."""

    preset: str = "bfv-2048"


@dataclass(frozen=True)
class Scenario:
    """A whole scenario: what to start, what to run and with which parameters."""

    run: RunConfig
    chain: ChainConfig
    market: MarketConfig
    fhe: FheConfig
    population: PopulationConfig
    nodes: tuple[NodeGroup, ...]
    studies: tuple[Study, ...]
    source: str = ""

    @property
    def node_count(self) -> int:
        """Total number of compute nodes."""
        return sum(group.count for group in self.nodes)

    def node_behaviours(self) -> list[str]:
        """One behaviour per compute node, in node-index order."""
        return [group.behaviour for group in self.nodes for _ in range(group.count)]


# --- reading -------------------------------------------------------------------------------------


class _Reader:
    """Reads one TOML table strictly: every key is known, every value typed, errors name the field path."""

    def __init__(self, source: str, path: str, table: Any) -> None:
        self._source = source
        self._path = path
        if not isinstance(table, Mapping):
            raise self.error(f"must be a table (got {type(table).__name__} {table!r})")
        self._table = table
        self._used: set[str] = set()

    def error(self, message: str, key: str | None = None) -> ScenarioError:
        where = ".".join(part for part in (self._path, key) if part)
        return ScenarioError(f"{self._source}: {where or 'top level'}: {message}")

    def _get(self, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        self._used.add(key)
        if key not in self._table:
            if default is _REQUIRED:
                raise self.error("is required", key)
            return default
        value = self._table[key]
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.error(f"must be {_kind_name(kind)} (got {value!r})", key)
        if not isinstance(value, kind):
            raise self.error(f"must be {_kind_name(kind)} (got {type(value).__name__} {value!r})", key)
        return value

    def string(self, key: str, default: Any = None, choices: tuple[str, ...] = ()) -> str:
        value = self._get(key, str, _REQUIRED if default is None else default)
        if choices and value not in choices:
            raise self.error(f"must be one of {', '.join(choices)} (got {value!r})", key)
        return value

    def integer(self, key: str, default: Any = None, minimum: int | None = None,
                maximum: int | None = None) -> int:
        value = self._get(key, int, _REQUIRED if default is None else default)
        if minimum is not None and value < minimum:
            raise self.error(f"must be >= {minimum} (got {value})", key)
        if maximum is not None and value > maximum:
            raise self.error(f"must be <= {maximum} (got {value})", key)
        return value

    def wei(self, key: str, default: int) -> int:
        """An amount of wei: an integer, or a string such as "1.5 ether", "20 gwei" or "12345"."""
        self._used.add(key)
        if key not in self._table:
            return default
        value = self._table[key]
        try:
            return parse_wei(value)
        except ValueError as exc:
            raise self.error(str(exc), key) from None

    def strings(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self._get(key, list, list(default))
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(f"item {index} must be a string (got {item!r})", key)
        return tuple(value)

    def table(self, key: str) -> _Reader:
        self._used.add(key)
        return _Reader(self._source, self._sub(key), self._table.get(key, {}))

    def tables(self, key: str, required: bool = False) -> list[_Reader]:
        self._used.add(key)
        value = self._table.get(key, [])
        if not isinstance(value, list) or (required and not value):
            raise self.error("must be a non-empty array of tables ([[...]])" if required
                             else "must be an array of tables ([[...]])", key)
        return [_Reader(self._source, f"{self._sub(key)}[{i}]", item) for i, item in enumerate(value)]

    def _sub(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def finish(self) -> None:
        unknown = sorted(set(self._table) - self._used)
        if unknown:
            raise self.error(f"unknown field(s): {', '.join(unknown)}")


_REQUIRED = object()


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {int: "an integer", str: "a string", list: "an array", bool: "a boolean", float: "a number"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


_WEI_UNITS = {"wei": 1, "gwei": 10**9, "ether": ETHER_WEI, "eth": ETHER_WEI}


def parse_wei(value: object) -> int:
    """Return wei from an int or a string like ``"0.5 ether"``; raises ValueError naming the value."""
    if isinstance(value, bool):
        raise ValueError(f"must be an amount of wei (got {value!r})")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"must be >= 0 wei (got {value})")
        return value
    if not isinstance(value, str):
        raise ValueError(f"must be an integer or a string like \"0.5 ether\" (got {value!r})")
    number, _, unit = value.strip().partition(" ")
    scale = _WEI_UNITS.get(unit.strip().lower() or "wei")
    if scale is None:
        raise ValueError(f"unknown unit {unit!r} in {value!r} (known: {', '.join(_WEI_UNITS)})")
    from decimal import Decimal, InvalidOperation

    try:
        amount = Decimal(number) * scale
    except InvalidOperation:
        raise ValueError(f"must be an amount like \"0.5 ether\" (got {value!r})") from None
    if amount < 0 or amount != amount.to_integral_value():
        raise ValueError(f"must be a whole, non-negative number of wei (got {value!r})")
    return int(amount)


def _read_question(reader: _Reader) -> Question:
    kind = reader.string("kind", choices=QUESTION_KINDS)
    text = reader.string("text")
    options = reader.strings("options")
    min_value = reader.integer("min_value", 0, minimum=0)
    max_value = reader.integer("max_value", 0, minimum=0)
    default_programs = ("histogram@1",) if kind == "choice" else ("mean@1",)
    programs = reader.strings("programs", default_programs)
    reader.finish()
    if kind == "choice" and len(options) < 2:
        raise reader.error(f"a choice question needs at least 2 options (got {len(options)})", "options")
    if kind == "number" and max_value <= min_value:
        raise reader.error(f"must be > min_value (got max_value={max_value}, min_value={min_value})",
                           "max_value")
    if not programs:
        raise reader.error("must name at least one program", "programs")
    for program in programs:
        if program not in STUDY_PROGRAMS:
            raise reader.error(f"must be among {', '.join(STUDY_PROGRAMS)} (got {program!r})", "programs")
    if kind == "number" and "histogram@1" in programs:
        raise reader.error("histogram@1 needs a choice question (got kind='number')", "programs")
    return Question(text, kind, options, min_value, max_value, programs)


def _read_study(reader: _Reader, index: int) -> Study:
    study = Study(
        study_id=reader.string("id", f"study-{index + 1}"),
        title=reader.string("title", ""),
        respondents=reader.integer("respondents", 0, minimum=0),
        inputs_per_task=reader.integer("inputs_per_task", 0, minimum=0),
        questions=tuple(_read_question(q) for q in reader.tables("questions", required=True)),
    )
    reader.finish()
    return study


def _read_node_group(reader: _Reader) -> NodeGroup:
    group = NodeGroup(
        count=reader.integer("count", 1, minimum=1, maximum=256),
        behaviour=reader.string("behaviour", "honest", choices=BEHAVIOURS),
        stake_wei=reader.wei("stake_wei", NodeGroup.stake_wei),
        capacity=reader.integer("capacity", NodeGroup.capacity, minimum=1, maximum=1024),
        price_wei=reader.wei("price_wei", NodeGroup.price_wei),
    )
    reader.finish()
    return group


def _section(reader: _Reader, key: str, build: Callable[[_Reader], T]) -> T:
    sub = reader.table(key)
    value = build(sub)
    sub.finish()
    return value


def parse_scenario(document: Mapping[str, Any], source: str = "<scenario>") -> Scenario:
    """Build a Scenario from a parsed TOML document; raises ScenarioError naming ``source`` and the field."""
    top = _Reader(source, "", document)
    run = _section(top, "run", lambda r: RunConfig(
        name=r.string("name", Path(source).stem or "scenario"),
        seed=r.string("seed", "cipherquorum"),
        data_dir=r.string("data_dir", ""),
        ray_address=r.string("ray_address", ""),
    ))
    chain = _section(top, "chain", lambda r: ChainConfig(
        rpc_url=r.string("rpc_url", ""),
        min_stake_wei=r.wei("min_stake_wei", ChainConfig.min_stake_wei),
        slash_wei=r.wei("slash_wei", ChainConfig.slash_wei),
        exit_cooldown_s=r.integer("exit_cooldown_s", ChainConfig.exit_cooldown_s, minimum=0),
        fund_wei=r.wei("fund_wei", ChainConfig.fund_wei),
    ))
    market = _section(top, "market", lambda r: MarketConfig(
        replication=r.integer("replication", MarketConfig.replication, minimum=1, maximum=16),
        quorum=r.integer("quorum", MarketConfig.quorum, minimum=1, maximum=16),
        reward_per_node_wei=r.wei("reward_per_node_wei", MarketConfig.reward_per_node_wei),
        commit_window_s=r.integer("commit_window_s", MarketConfig.commit_window_s, minimum=1),
        reveal_window_s=r.integer("reveal_window_s", MarketConfig.reveal_window_s, minimum=1),
        time_limit_s=r.integer("time_limit_s", MarketConfig.time_limit_s, minimum=1),
    ))
    fhe = _section(top, "fhe", lambda r: FheConfig(preset=r.string("preset", FheConfig.preset)))
    population = _section(top, "population", lambda r: PopulationConfig(
        respondents=r.integer("respondents", PopulationConfig.respondents, minimum=1, maximum=1_000_000),
        shards=r.integer("shards", PopulationConfig.shards, minimum=1, maximum=64),
    ))
    nodes = tuple(_read_node_group(g) for g in top.tables("nodes", required=True))
    studies = tuple(_read_study(s, i) for i, s in enumerate(top.tables("studies", required=True)))
    top.finish()
    scenario = Scenario(run, chain, market, fhe, population, nodes, studies, source)
    _check_consistency(scenario, top)
    return scenario


def _check_consistency(scenario: Scenario, top: _Reader) -> None:
    market = scenario.market
    if market.quorum > market.replication:
        raise top.error(f"\"quorum\" must be <= replication (got quorum={market.quorum}, "
                        f"replication={market.replication})", "market.quorum")
    if 2 * market.quorum <= market.replication:
        raise top.error(f"\"quorum\" must be a majority, > replication/2 (got quorum={market.quorum}, "
                        f"replication={market.replication})", "market.quorum")
    if market.time_limit_s > market.commit_window_s:
        raise top.error(f"must be <= commit_window_s (got time_limit_s={market.time_limit_s}, "
                        f"commit_window_s={market.commit_window_s})", "market.time_limit_s")
    if scenario.node_count < market.replication:
        raise top.error(f"needs at least replication={market.replication} compute nodes "
                        f"(got {scenario.node_count})", "nodes")
    for index, group in enumerate(scenario.nodes):
        if group.stake_wei < scenario.chain.min_stake_wei:
            raise top.error(f"must be >= chain.min_stake_wei={scenario.chain.min_stake_wei} "
                            f"(got {group.stake_wei})", f"nodes[{index}].stake_wei")
        if group.price_wei > market.reward_per_node_wei:
            raise top.error(f"must be <= market.reward_per_node_wei={market.reward_per_node_wei}, or the "
                            f"node is never matched (got {group.price_wei})", f"nodes[{index}].price_wei")
    for index, study in enumerate(scenario.studies):
        if study.respondents > scenario.population.respondents:
            raise top.error(f"must be <= population.respondents={scenario.population.respondents} "
                            f"(got {study.respondents})", f"studies[{index}].respondents")
    from cipherquorum.fhe import get_preset

    try:
        preset = get_preset(scenario.fhe.preset)
    except CipherQuorumError as exc:
        raise top.error(str(exc), "fhe.preset") from None
    for index, study in enumerate(scenario.studies):
        for q_index, question in enumerate(study.questions):
            for program in question.programs:
                if not preset.supports(program):
                    raise top.error(f"program {program!r} does not run on fhe.preset {preset.name!r} "
                                    f"(it runs {', '.join(preset.programs)})",
                                    f"studies[{index}].questions[{q_index}].programs")
    ids = [study.study_id for study in scenario.studies]
    if len(set(ids)) != len(ids):
        raise top.error(f"study ids must be unique (got {ids})", "studies")


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raises ScenarioError naming the file, the field and the value."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{source}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{source}: cannot read scenario file: {exc}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    return parse_scenario(document, source)


__all__ = [
    "BEHAVIOURS",
    "STUDY_PROGRAMS",
    "ChainConfig",
    "FheConfig",
    "MarketConfig",
    "NodeGroup",
    "PopulationConfig",
    "Question",
    "RunConfig",
    "Scenario",
    "Study",
    "load_scenario",
    "parse_scenario",
    "parse_wei",
]

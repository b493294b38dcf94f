"""Scenario files: TOML read strictly into frozen dataclasses, with errors that name the file, field and value."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cipherquorum.exceptions import CipherQuorumError
from cipherquorum.protocol import BEHAVIOUR_NAMES, TermsViolation, check_task_terms
from cipherquorum.settings.toml import ETHER_WEI, TableReader, read_toml_file

BEHAVIOURS = BEHAVIOUR_NAMES
"""Compute-node behaviours a scenario may name (an alias of ``protocol.BEHAVIOUR_NAMES``, kept for importers)."""

QUESTION_KINDS = ("choice", "number")

STUDY_PROGRAMS = ("histogram@1", "sum@1", "mean@1", "variance@1")
"""Programs a study question can name: each aggregates answers additively, so tasks can split the answers."""


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


def _read_question(reader: TableReader) -> Question:
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


def _read_study(reader: TableReader, index: int) -> Study:
    study = Study(
        study_id=reader.string("id", f"study-{index + 1}"),
        title=reader.string("title", ""),
        respondents=reader.integer("respondents", 0, minimum=0),
        inputs_per_task=reader.integer("inputs_per_task", 0, minimum=0),
        questions=tuple(_read_question(q) for q in reader.tables("questions", required=True)),
    )
    reader.finish()
    return study


def _read_node_group(reader: TableReader) -> NodeGroup:
    group = NodeGroup(
        count=reader.integer("count", 1, minimum=1, maximum=256),
        behaviour=reader.string("behaviour", "honest", choices=BEHAVIOUR_NAMES),
        stake_wei=reader.wei("stake_wei", NodeGroup.stake_wei),
        capacity=reader.integer("capacity", NodeGroup.capacity, minimum=1, maximum=1024),
        price_wei=reader.wei("price_wei", NodeGroup.price_wei),
    )
    reader.finish()
    return group


def parse_scenario(document: Mapping[str, Any], source: str = "<scenario>") -> Scenario:
    """Build a Scenario from a parsed TOML document; raises ScenarioError naming ``source`` and the field."""
    top = TableReader(source, "", document)
    run = top.section("run", lambda r: RunConfig(
        name=r.string("name", Path(source).stem or "scenario"),
        seed=r.string("seed", "cipherquorum"),
        data_dir=r.string("data_dir", ""),
        ray_address=r.string("ray_address", ""),
    ))
    chain = top.section("chain", lambda r: ChainConfig(
        rpc_url=r.string("rpc_url", ""),
        min_stake_wei=r.wei("min_stake_wei", ChainConfig.min_stake_wei),
        slash_wei=r.wei("slash_wei", ChainConfig.slash_wei),
        exit_cooldown_s=r.integer("exit_cooldown_s", ChainConfig.exit_cooldown_s, minimum=0),
        fund_wei=r.wei("fund_wei", ChainConfig.fund_wei),
    ))
    # The market's ranges are the protocol's rules, applied with the others in _check_consistency.
    market = top.section("market", lambda r: MarketConfig(
        replication=r.integer("replication", MarketConfig.replication),
        quorum=r.integer("quorum", MarketConfig.quorum),
        reward_per_node_wei=r.wei("reward_per_node_wei", MarketConfig.reward_per_node_wei),
        commit_window_s=r.integer("commit_window_s", MarketConfig.commit_window_s),
        reveal_window_s=r.integer("reveal_window_s", MarketConfig.reveal_window_s),
        time_limit_s=r.integer("time_limit_s", MarketConfig.time_limit_s),
    ))
    fhe = top.section("fhe", lambda r: FheConfig(preset=r.string("preset", FheConfig.preset)))
    population = top.section("population", lambda r: PopulationConfig(
        respondents=r.integer("respondents", PopulationConfig.respondents, minimum=1, maximum=1_000_000),
        shards=r.integer("shards", PopulationConfig.shards, minimum=1, maximum=64),
    ))
    nodes = tuple(_read_node_group(g) for g in top.tables("nodes", required=True))
    studies = tuple(_read_study(s, i) for i, s in enumerate(top.tables("studies", required=True)))
    top.finish()
    scenario = Scenario(run, chain, market, fhe, population, nodes, studies, source)
    _check_consistency(scenario, top)
    return scenario


def _check_consistency(scenario: Scenario, top: TableReader) -> None:
    """Apply the rules that span fields: the protocol's task terms, then the scenario's own."""
    market = scenario.market
    try:
        check_task_terms(market)
    except TermsViolation as exc:
        raise top.error(str(exc), f"market.{exc.field}") from None
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
    return parse_scenario(*read_toml_file(path))


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
]

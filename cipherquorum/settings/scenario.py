"""Scenario files: TOML read strictly into frozen dataclasses, with errors that name the file, field and value."""
from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cipherquorum.exceptions import ScenarioError, ValidationError
from cipherquorum.protocol import BEHAVIOUR_NAMES, UINT256_MAX, TermsViolation, check_task_terms
from cipherquorum.settings.toml import ETHER_WEI, TableReader, describe_value, field_error, read_toml_file
from cipherquorum.settings.workflows import WorkflowSettings, read_workflows
from cipherquorum.storage.index import MAX_KEY_CHARS

BEHAVIOURS = BEHAVIOUR_NAMES
"""Compute-node behaviours a scenario may name (an alias of ``protocol.BEHAVIOUR_NAMES``, kept for importers)."""

QUESTION_KINDS = ("choice", "number")

STUDY_PROGRAMS = ("histogram@1", "sum@1", "mean@1", "variance@1")
"""Programs a study question can name: each aggregates answers additively, so tasks can split the answers."""

# What the TaskMarket contract refuses (contracts/TaskMarket.sol), and what the embedded devnet can pay.
MAX_RESPONDENTS = 1_000_000
"""Most respondents a population holds."""
MAX_NODES = 256
"""Most compute nodes the contract registers (its MAX_NODES; register reverts TooManyNodes past it)."""
MAX_STAKE_WEI = 2**96 - 1
"""Largest stake the contract stores (a uint96: register asserts it, a Panic past it)."""
MAX_PRICE_WEI = 2**96 - 1
"""Largest price the contract accepts (its MAX_PRICE_WEI; register reverts InvalidPrice past it)."""
MAX_COOLDOWN_S = 2**64 - 1
"""Longest exit cooldown the contract's constructor takes (a uint64)."""
TX_GAS_RESERVE_WEI = ETHER_WEI // 50
"""What an account must hold beyond the ether a transaction sends: on the embedded devnet the binding's largest
gas limit (a batch's cap, chain.gas.MAX_BATCH_GAS, 6M gas, above a createTask matching 256 nodes at 2.2M x 1.25)
at its fee cap of 3 gwei (twice the devnet's 1 gwei gas price plus a 1 gwei tip) is 0.018 ether."""
FUND_TX_FEE_WEI = 21_000 * 10**10
"""The most gas one funding transfer of the devnet can cost (21,000 gas at its 10 gwei fee cap)."""
DEVNET_FUNDERS = 10
"""The embedded devnet's prefunded accounts, which fund the run's accounts in turn (devnet.backend.FUNDER_COUNT;
not imported from there: importing py-evm raises the interpreter's recursion limit to 100,000)."""
DEVNET_FUNDER_BALANCE_WEI = 10**9 * ETHER_WEI
"""What each of them starts with (devnet.backend.FUNDER_BALANCE_WEI)."""
DEVNET_CHAIN_ID = 131277322940537
"""The embedded devnet's chain id (eth-tester's, which the devnet keeps; not imported from there either)."""
MAX_CHAIN_ID = 2**64 - 1
"""Largest chain id a scenario may assert or give anvil (anvil takes a u64)."""
CHAIN_BACKENDS = ("devnet", "anvil")
"""The chains a run can start itself (chain.backend); a chain.rpc_url names one it joins instead."""
NODE_FUNDER = "node"
"""chain.funder's one value: the node's own unlocked accounts (eth_accounts) pay for the run's accounts."""
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
MAX_STUDY_ID_CHARS = MAX_KEY_CHARS - 24
"""Longest study id: the storage index takes names of up to MAX_KEY_CHARS characters, and a run names answers
"<id>/q<question>" and a load test's copies "<id>-c<client>"."""


@dataclass(frozen=True)
class RunConfig:
    """Identity and placement of a run."""

    name: str
    seed: str
    data_dir: str = ""
    ray_address: str = ""


class ChainKind(Enum):
    """Which chain a run uses: one it starts (the embedded devnet or anvil), or an external one it joins."""

    DEVNET = "devnet"
    ANVIL = "anvil"
    EXTERNAL = "external"

    @property
    def managed(self) -> bool:
        """True for a chain the run starts, funds its accounts on, and stops."""
        return self is not ChainKind.EXTERNAL


@dataclass(frozen=True)
class ChainConfig:
    """Which chain to use, who funds the run's accounts on it, and the TaskMarket's economic constants.

    ``backend`` names the chain the run starts ("devnet" or "anvil", at ``anvil_path`` if given); an ``rpc_url``
    names an external chain instead, whose accounts a funder can pay for: ``funder = "node"`` (its unlocked
    accounts), the private key ``funder_key`` or the one in the environment variable ``funder_key_env``.
    ``chain_id`` (0: any) is the id the chain must have (anvil is started with it). ``funder_key`` never shows
    in a repr or an error message.
    """

    rpc_url: str = ""
    min_stake_wei: int = ETHER_WEI
    slash_wei: int = ETHER_WEI // 2
    exit_cooldown_s: int = 60
    fund_wei: int = 1000 * ETHER_WEI
    backend: str = "devnet"
    anvil_path: str = ""
    chain_id: int = 0
    funder: str = ""
    funder_key: str = field(default="", repr=False)
    funder_key_env: str = ""

    @property
    def kind(self) -> ChainKind:
        """The chain the run uses: EXTERNAL with an ``rpc_url``, otherwise the ``backend`` it starts."""
        return ChainKind.EXTERNAL if self.rpc_url else ChainKind(self.backend)

    @property
    def embedded(self) -> bool:
        """True when the run starts the embedded devnet (neither anvil nor an external ``rpc_url``)."""
        return self.kind is ChainKind.DEVNET

    @property
    def funded_by_run(self) -> bool:
        """True when the run funds its accounts itself: on a chain it starts, or through a named funder."""
        return self.kind.managed or bool(self.funder or self.funder_key or self.funder_key_env)


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
    restake: bool = False
    """Each node tops its stake back up by what a slash took, at once (the sweep's real mode does this)."""


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

    def program_params(self, program: str) -> dict[str, int]:
        """The params ``program`` takes over this question's answers (one-hot choices or a single number)."""
        return {"bins": len(self.options)} if program == "histogram@1" else {"width": self.bins}

    def largest_slot_value(self, program: str, inputs: int) -> int:
        """The largest value a slot of ``program``'s result can reach over ``inputs`` answers.

        A choice's answers are 0 or 1, so every sum, square sum and count stays within ``inputs``; a number's
        sum reaches ``inputs x max_value`` and variance@1's sum of squares ``inputs x max_value**2``.
        """
        if self.kind == "choice":
            return inputs
        power = 2 if program == "variance@1" else 1
        return max(inputs * self.max_value**power, inputs)


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
    workflows: tuple[WorkflowSettings, ...] = ()
    """The seeds' workflow sections (``[split_inference]``, ``[psi]``, ...) in file order; run after the studies."""

    @property
    def client_accounts(self) -> int:
        """Market accounts the run funds for clients: one per study, then each workflow's, in order."""
        return len(self.studies) + sum(settings.clients for settings in self.workflows)

    def workflow_clients(self) -> list[range]:
        """The client indexes of each workflow, in ``workflows`` order (after the studies' clients)."""
        ranges, first = [], len(self.studies)
        for settings in self.workflows:
            ranges.append(range(first, first + settings.clients))
            first += settings.clients
        return ranges

    @property
    def node_count(self) -> int:
        """Total number of compute nodes."""
        return sum(group.count for group in self.nodes)

    def node_behaviours(self) -> list[str]:
        """One behaviour per compute node, in node-index order."""
        return [group.behaviour for group in self.nodes for _ in range(group.count)]

    @property
    def least_matched_stake_wei(self) -> int:
        """The least stake the contract matches a node with: max(min stake, slash), and never zero."""
        return max(self.chain.min_stake_wei, self.chain.slash_wei, 1)

    def respondents_of(self, study: Study) -> int:
        """How many respondents answer ``study``: its own count, or else the whole population."""
        return study.respondents or self.population.respondents

    def inputs_per_task_of(self, study: Study) -> int:
        """How many answers one of ``study``'s tasks aggregates at most: its inputs_per_task, or else them all."""
        return study.inputs_per_task or self.respondents_of(study)


@dataclass(frozen=True)
class PlannedTasks:
    """``count`` tasks that one client creates, each running ``program`` over at most ``inputs`` answers to
    question ``question`` of study ``study`` (indexes into the scenario). ``inputs_field`` names the setting
    that decides ``inputs``, for errors."""

    client: int
    study: int
    question: int
    program: str
    inputs: int
    count: int
    inputs_field: str


def run_plan(scenario: Scenario) -> list[PlannedTasks]:
    """The tasks ``cipherquorum run`` creates: study i's client splits each question's answers into tasks of
    inputs_per_task answers, once per program of the question."""
    plan: list[PlannedTasks] = []
    for index, study in enumerate(scenario.studies):
        size = scenario.inputs_per_task_of(study)
        count = math.ceil(scenario.respondents_of(study) / size)
        field = (f"studies[{index}].inputs_per_task" if study.inputs_per_task
                 else f"studies[{index}].respondents" if study.respondents else "population.respondents")
        for q_index, question in enumerate(study.questions):
            plan.extend(PlannedTasks(index, index, q_index, program, size, count, field)
                        for program in question.programs)
    return plan


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
    unused = {"min_value": min_value, "max_value": max_value} if kind == "choice" else {"options": list(options)}
    for key, value in unused.items():
        if reader.has(key):
            raise reader.error(f"a {kind} question takes no {key} (got {describe_value(value)})", key)
    if kind == "choice" and len(options) < 2:
        raise reader.error(f"a choice question needs at least 2 options (got {len(options)})", "options")
    repeated = sorted({option for option in options if options.count(option) > 1})
    if repeated:
        raise reader.error(f"must be distinct, one per bin of the answer (got {describe_value(repeated[0])} "
                           f"{options.count(repeated[0])} times)", "options")
    if kind == "number" and max_value <= min_value:
        raise reader.error(f"must be > min_value (got max_value={max_value}, min_value={min_value})",
                           "max_value")
    if not programs:
        raise reader.error("must name at least one program", "programs")
    for program in programs:
        if program not in STUDY_PROGRAMS:
            raise reader.error(f"must be among {', '.join(STUDY_PROGRAMS)} (got {describe_value(program)})",
                               "programs")
    if kind == "number" and "histogram@1" in programs:
        raise reader.error("histogram@1 needs a choice question (got kind='number')", "programs")
    return Question(text, kind, options, min_value, max_value, programs)


def _read_study(reader: TableReader, index: int) -> Study:
    study_id = reader.string("id", f"study-{index + 1}")
    if not 1 <= len(study_id) <= MAX_STUDY_ID_CHARS:
        raise reader.error(f"must be 1 to {MAX_STUDY_ID_CHARS} characters (got {len(study_id)}: "
                           f"{describe_value(study_id)})", "id")
    study = Study(
        study_id=study_id,
        title=reader.string("title", ""),
        respondents=reader.integer("respondents", 0, minimum=0),
        inputs_per_task=reader.integer("inputs_per_task", 0, minimum=0, maximum=MAX_RESPONDENTS),
        questions=tuple(_read_question(q) for q in reader.tables("questions", required=True)),
    )
    reader.finish()
    return study


def _read_node_group(reader: TableReader) -> NodeGroup:
    group = NodeGroup(
        count=reader.integer("count", 1, minimum=1, maximum=256),
        behaviour=reader.string("behaviour", "honest", choices=BEHAVIOUR_NAMES),
        stake_wei=reader.wei("stake_wei", NodeGroup.stake_wei, maximum=MAX_STAKE_WEI),
        capacity=reader.integer("capacity", NodeGroup.capacity, minimum=1, maximum=1024),
        price_wei=reader.wei("price_wei", NodeGroup.price_wei, maximum=MAX_PRICE_WEI),
        restake=reader.boolean("restake", False),
    )
    reader.finish()
    return group


def _read_fhe(reader: TableReader) -> FheConfig:
    from cipherquorum.fhe import PRESETS

    return FheConfig(preset=reader.string("preset", FheConfig.preset, choices=tuple(sorted(PRESETS))))


def _read_run(reader: TableReader, source: str) -> RunConfig:
    run = RunConfig(
        name=reader.string("name", Path(source).stem or "scenario"),
        seed=reader.string("seed", "cipherquorum"),
        data_dir=reader.string("data_dir", ""),
        ray_address=reader.string("ray_address", ""),
    )
    for key, value in (("name", run.name), ("data_dir", run.data_dir)):  # the name is the default data dir's
        if "\x00" in value:
            raise reader.error(f"must not contain a NUL character, which no path holds (got {describe_value(value)})",
                               key)
    if not run.data_dir and ("/" in run.name or run.name in (".", "..")):
        raise reader.error(f"must be a file name without \"/\": without run.data_dir the run stores its data in "
                           f"cq-data/<name> (got {describe_value(run.name)})", "name")
    return run


def _read_chain(reader: TableReader, environ: Mapping[str, str]) -> ChainConfig:
    chain = ChainConfig(
        rpc_url=reader.string("rpc_url", ""),
        min_stake_wei=reader.wei("min_stake_wei", ChainConfig.min_stake_wei),
        slash_wei=reader.wei("slash_wei", ChainConfig.slash_wei),
        exit_cooldown_s=reader.integer("exit_cooldown_s", ChainConfig.exit_cooldown_s, minimum=0,
                                       maximum=MAX_COOLDOWN_S),
        fund_wei=reader.wei("fund_wei", ChainConfig.fund_wei),
        backend=reader.string("backend", ChainConfig.backend, choices=CHAIN_BACKENDS),
        anvil_path=reader.string("anvil_path", ""),
        chain_id=reader.integer("chain_id", minimum=1, maximum=MAX_CHAIN_ID) if reader.has("chain_id") else 0,
        funder=reader.string("funder", ""),
        funder_key=_read_secret(reader, "funder_key"),
        funder_key_env=reader.string("funder_key_env", ""),
    )
    if chain.rpc_url and not _is_http_url(chain.rpc_url):
        raise reader.error('must be an http(s) URL with a host, such as "http://127.0.0.1:8545", or empty for '
                           f"the embedded chain (got {describe_value(chain.rpc_url)})", "rpc_url")
    if chain.rpc_url and reader.has("backend"):
        raise reader.error(f"names a chain the run starts, and rpc_url={describe_value(chain.rpc_url)} one it joins: "
                           f"set one of them (got backend={describe_value(chain.backend)})", "backend")
    if chain.anvil_path and chain.kind is not ChainKind.ANVIL:
        raise reader.error(f'is read only with backend = "anvil" (got {describe_value(chain.anvil_path)} for the '
                           f"{chain.kind.value} chain)", "anvil_path")
    if "\x00" in chain.anvil_path:
        raise reader.error(f"must not contain a NUL character, which no path holds (got "
                           f"{describe_value(chain.anvil_path)})", "anvil_path")
    if chain.chain_id and chain.kind is ChainKind.DEVNET and chain.chain_id != DEVNET_CHAIN_ID:
        raise reader.error(f"the embedded devnet's chain id is {DEVNET_CHAIN_ID}: leave chain_id out, or choose "
                           f'backend = "anvil", which takes any (got {chain.chain_id})', "chain_id")
    _check_funder(reader, chain, environ)
    return chain


def _read_secret(reader: TableReader, key: str) -> str:
    """A string that must never be shown: an error about its type names the type alone."""
    try:
        return reader.string(key, "")
    except ScenarioError:
        raise reader.error("must be a string of 64 hex digits (got a value of another type; not shown)",
                           key) from None


def _check_funder(reader: TableReader, chain: ChainConfig, environ: Mapping[str, str]) -> None:
    """At most one funder, only for an external chain, and a key funder's key well formed (never shown)."""
    from cipherquorum.chain.accounts import private_key_problem

    named = [key for key in ("funder", "funder_key", "funder_key_env") if getattr(chain, key)]
    if len(named) > 1:
        raise reader.error(f"name one funder: funder, funder_key or funder_key_env (got {', '.join(named)})",
                           named[1])
    if named and chain.kind.managed:
        raise reader.error(f"needs chain.rpc_url: the {chain.kind.value} chain that the run starts funds the run's "
                           "accounts itself", named[0])
    if chain.funder and chain.funder != NODE_FUNDER:
        raise reader.error(f'must be "{NODE_FUNDER}" (the node\'s unlocked accounts pay), or left out for '
                           f"funder_key, funder_key_env or no funder (got {describe_value(chain.funder)})", "funder")
    if chain.funder_key:
        problem = private_key_problem(chain.funder_key)
        if problem is not None:
            raise reader.error(problem, "funder_key")
    if chain.funder_key_env:
        name = chain.funder_key_env
        if not _ENV_NAME.fullmatch(name):
            raise reader.error(f"must be an environment variable's name: letters, digits and _, not starting with "
                               f"a digit (got {describe_value(name)})", "funder_key_env")
        if name not in environ:
            raise reader.error(f"the environment variable {name} is not set: it must hold the funder's private key "
                               "(64 hex digits)", "funder_key_env")
        problem = private_key_problem(environ[name])
        if problem is not None:
            raise reader.error(f"the environment variable {name} {problem}", "funder_key_env")


def _is_http_url(text: str) -> bool:
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in text):
        return False
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - reading the port checks it: ValueError for one out of range or not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def parse_scenario(document: Mapping[str, Any], source: str = "<scenario>", *, check_run: bool = True,
                   environ: Mapping[str, str] | None = None) -> Scenario:
    """Build a Scenario from a parsed TOML document; raises ScenarioError naming ``source`` and the field.

    With ``check_run`` the tasks ``cipherquorum run`` would create are checked too (``check_plan`` of
    ``run_plan``); a load test checks its own plan instead. ``environ`` (default: this process's environment)
    holds the variable a chain.funder_key_env names.
    """
    environment = os.environ if environ is None else environ
    top = TableReader(source, "", document)
    run = top.section("run", lambda r: _read_run(r, source))
    chain = top.section("chain", lambda r: _read_chain(r, environment))
    # The market's ranges are the protocol's rules, applied with the others in _check_consistency.
    market = top.section("market", lambda r: MarketConfig(
        replication=r.integer("replication", MarketConfig.replication),
        quorum=r.integer("quorum", MarketConfig.quorum),
        reward_per_node_wei=r.wei("reward_per_node_wei", MarketConfig.reward_per_node_wei),
        commit_window_s=r.integer("commit_window_s", MarketConfig.commit_window_s),
        reveal_window_s=r.integer("reveal_window_s", MarketConfig.reveal_window_s),
        time_limit_s=r.integer("time_limit_s", MarketConfig.time_limit_s),
    ))
    fhe = top.section("fhe", _read_fhe)
    population = top.section("population", lambda r: PopulationConfig(
        respondents=r.integer("respondents", PopulationConfig.respondents, minimum=1, maximum=MAX_RESPONDENTS),
        shards=r.integer("shards", PopulationConfig.shards, minimum=1, maximum=64),
    ))
    nodes = tuple(_read_node_group(g) for g in top.tables("nodes", required=True))
    workflows = read_workflows(top, document)
    studies = tuple(_read_study(s, i) for i, s in enumerate(top.tables("studies", required=not workflows)))
    top.finish()
    scenario = Scenario(run, chain, market, fhe, population, nodes, studies, source, workflows)
    _check_consistency(scenario, top)
    if check_run:
        check_plan(scenario, run_plan(scenario))
    return scenario


def _check_consistency(scenario: Scenario, top: TableReader) -> None:
    """Apply the rules that span fields: the protocol's task terms, then the scenario's own."""
    market = scenario.market
    try:
        check_task_terms(market)
    except TermsViolation as exc:
        raise top.error(str(exc), f"market.{exc.field}") from None
    _check_nodes(scenario, top)
    population = scenario.population
    if population.shards > population.respondents:
        raise top.error(f"must be <= population.respondents={population.respondents}, or a shard hosts no one "
                        f"(got {population.shards})", "population.shards")
    for index, study in enumerate(scenario.studies):
        if study.respondents > population.respondents:
            raise top.error(f"must be <= population.respondents={population.respondents} "
                            f"(got {study.respondents})", f"studies[{index}].respondents")
        if study.inputs_per_task > scenario.respondents_of(study):
            raise top.error(f"must be <= the study's respondents={scenario.respondents_of(study)} "
                            f"(got {study.inputs_per_task})", f"studies[{index}].inputs_per_task")
    _check_programs(scenario, top)
    ids = [study.study_id for study in scenario.studies]
    if len(set(ids)) != len(ids):
        raise top.error(f"study ids must be unique (got {describe_value(ids)})", "studies")


def _check_nodes(scenario: Scenario, top: TableReader) -> None:
    """The contract registers every node and matches each: stakes, prices, their number, their funds."""
    market, chain = scenario.market, scenario.chain
    if scenario.node_count < market.replication:
        raise top.error(f"needs at least replication={market.replication} compute nodes "
                        f"(got {scenario.node_count})", "nodes")
    if scenario.node_count > MAX_NODES:
        raise top.error(f"the contract registers at most {MAX_NODES} compute nodes (got {scenario.node_count})",
                        "nodes")
    least = scenario.least_matched_stake_wei
    for index, group in enumerate(scenario.nodes):
        field = f"nodes[{index}].stake_wei"
        if group.stake_wei < chain.min_stake_wei:
            raise top.error(f"must be >= chain.min_stake_wei={chain.min_stake_wei} (got {group.stake_wei})", field)
        if group.stake_wei < least:
            floor = f"chain.slash_wei={chain.slash_wei}" if chain.slash_wei else "1 wei"
            raise top.error(f"must be >= {floor}: the contract matches only nodes staking at least "
                            f"max(min_stake_wei, slash_wei, 1 wei), so this node would never be matched "
                            f"(got {group.stake_wei})", field)
        if group.price_wei > market.reward_per_node_wei:
            raise top.error(f"must be <= market.reward_per_node_wei={market.reward_per_node_wei}, or the "
                            f"node is never matched (got {group.price_wei})", f"nodes[{index}].price_wei")
        if chain.funded_by_run and chain.fund_wei < group.stake_wei + TX_GAS_RESERVE_WEI:
            raise top.error(f"must pay nodes[{index}]'s stake of {group.stake_wei} wei and {TX_GAS_RESERVE_WEI} "
                            f"wei of gas (got {chain.fund_wei})", "chain.fund_wei")


def _check_programs(scenario: Scenario, top: TableReader) -> None:
    """Each question's programs run on the preset and take the question's answers."""
    from cipherquorum.fhe import get_preset, get_program

    preset = get_preset(scenario.fhe.preset)
    for index, study in enumerate(scenario.studies):
        for q_index, question in enumerate(study.questions):
            field = f"studies[{index}].questions[{q_index}]"
            for program in question.programs:
                if not preset.supports(program):
                    raise top.error(f"program {program!r} does not run on fhe.preset {preset.name!r} "
                                    f"(it runs {', '.join(preset.programs)})", f"{field}.programs")
                try:
                    get_program(program).validate_params(question.program_params(program), 1)
                except ValidationError as exc:
                    raise top.error(f"{program} cannot take {question.bins} options: {exc}",
                                    f"{field}.options") from None


def check_plan(scenario: Scenario, plan: Sequence[PlannedTasks]) -> None:
    """Raise ScenarioError if a run of ``plan`` would fail: a task's sums wrap past the preset's plaintext
    modulus, or (when the run funds its accounts) a client cannot pay its escrows or the embedded devnet cannot
    fund every account.
    """
    from cipherquorum.fhe import get_preset

    preset = get_preset(scenario.fhe.preset)
    bound = preset.plain_bound if preset.scheme == "bfv" else UINT256_MAX
    for tasks in plan:
        question = scenario.studies[tasks.study].questions[tasks.question]
        largest = question.largest_slot_value(tasks.program, tasks.inputs)
        if largest > bound:
            field, got = tasks.inputs_field, f"{tasks.inputs_field}={tasks.inputs}"
            if question.kind == "number":  # the answers' range decides, for a given number of them
                field, got = f"studies[{tasks.study}].questions[{tasks.question}].max_value", \
                    f"max_value={question.max_value}, {got}"
            raise field_error(scenario.source, field,
                              f"{tasks.program} over {tasks.inputs} answers a task reaches {largest} in a result "
                              f"slot, past the plaintext bound {bound} of fhe.preset {preset.name!r}, where sums "
                              f"wrap (got {got})")
    if scenario.chain.funded_by_run:
        _check_funding(scenario, plan)


def _check_funding(scenario: Scenario, plan: Sequence[PlannedTasks]) -> None:
    """Each client pays its escrows and some gas; on the embedded devnet, its funders pay every account its fund
    (anvil sets balances; an external funder's balance is checked when the run starts)."""
    market, fund_wei = scenario.market, scenario.chain.fund_wei
    clients = sorted({tasks.client for tasks in plan})
    for client in clients:
        count = sum(tasks.count for tasks in plan if tasks.client == client)
        escrow_wei = count * market.replication * market.reward_per_node_wei
        if fund_wei < escrow_wei + TX_GAS_RESERVE_WEI:
            raise field_error(scenario.source, "chain.fund_wei",
                              f"must pay client {client}'s escrow of {count} tasks x replication "
                              f"{market.replication} x {market.reward_per_node_wei} wei = {escrow_wei} wei and "
                              f"{TX_GAS_RESERVE_WEI} wei of gas (got {fund_wei})")
    if not scenario.chain.embedded:
        return
    accounts = 1 + scenario.node_count + max(len(clients), scenario.client_accounts)  # deployer, nodes, clients
    per_funder = math.ceil(accounts / DEVNET_FUNDERS)
    most_wei = DEVNET_FUNDER_BALANCE_WEI // per_funder - FUND_TX_FEE_WEI
    if fund_wei > most_wei:
        raise field_error(scenario.source, "chain.fund_wei",
                          f"must be <= {most_wei}: the embedded devnet's {DEVNET_FUNDERS} funders hold "
                          f"{DEVNET_FUNDER_BALANCE_WEI} wei each and fund {accounts} accounts (got {fund_wei})")


def load_scenario(path: str | Path, environ: Mapping[str, str] | None = None) -> Scenario:
    """Read and validate a scenario file; raises ScenarioError naming the file, the field and the value.

    ``environ`` (default: this process's environment) holds the variable a chain.funder_key_env names."""
    return parse_scenario(*read_toml_file(path), environ=environ)


__all__ = [
    "BEHAVIOURS",
    "CHAIN_BACKENDS",
    "DEVNET_CHAIN_ID",
    "DEVNET_FUNDERS",
    "DEVNET_FUNDER_BALANCE_WEI",
    "FUND_TX_FEE_WEI",
    "MAX_CHAIN_ID",
    "MAX_COOLDOWN_S",
    "MAX_NODES",
    "MAX_PRICE_WEI",
    "MAX_RESPONDENTS",
    "MAX_STAKE_WEI",
    "MAX_STUDY_ID_CHARS",
    "NODE_FUNDER",
    "STUDY_PROGRAMS",
    "TX_GAS_RESERVE_WEI",
    "ChainConfig",
    "ChainKind",
    "FheConfig",
    "MarketConfig",
    "NodeGroup",
    "PlannedTasks",
    "PopulationConfig",
    "Question",
    "RunConfig",
    "Scenario",
    "Study",
    "check_plan",
    "load_scenario",
    "parse_scenario",
    "run_plan",
]

"""Contract-mode trials played on a JSON-RPC chain through the ordinary chain binding, one transaction a block.

The same derived accounts register the same stakes in the same order, then each task is created, the assigned
nodes commit and reveal the same synthetic votes as in contract mode, and the slashed nodes add back what they
lost. On a devnet seeded like the sweep this gives contract mode's assignments and outcomes, which is how the
two are checked against each other, and it measures how many trials a second a real chain runs.
"""
from __future__ import annotations

from dataclasses import dataclass

from cipherquorum.chain import TaskMarket, derive_account
from cipherquorum.protocol import compute_seal
from cipherquorum.study.contract import EXIT_COOLDOWN_S, TRUE_RESULT, MarketSetup, result_of, salt_of
from cipherquorum.study.registry import Registry
from cipherquorum.study.theory import Outcome
from cipherquorum.types import Address, ExecStatus

FUND_WEI = 10**22
"""What ``fund`` gives each account the replay uses."""


@dataclass(frozen=True)
class PlayedTask:
    """One task as the chain settled it: its assigned nodes (lower-case hex), outcome and createTask gas."""

    assigned: tuple[Address, ...]
    outcome: Outcome
    create_gas: int


def replay_accounts(setup: MarketSetup, registry: Registry) -> list[str]:
    """The addresses a replay sends from (deployer, client, nodes): fund them before ``play_on_chain``."""
    roles = [("deployer", 0), ("client", 0)] + [("node", i) for i in range(registry.size)]
    return [derive_account(setup.seed, role, index).address for role, index in roles]


def play_on_chain(rpc_url: str, registry: Registry, setup: MarketSetup, tasks: int) -> list[PlayedTask]:
    """Deploy a TaskMarket at ``rpc_url``, register ``registry`` and play ``tasks`` contract-mode trials on it.

    The accounts of ``replay_accounts`` must hold ether. Raises the chain binding's errors.
    """
    seed = setup.seed
    deployer, client = derive_account(seed, "deployer", 0), derive_account(seed, "client", 0)
    nodes = [derive_account(seed, "node", i) for i in range(registry.size)]
    market = TaskMarket.deploy(rpc_url, deployer, min_stake_wei=setup.min_stake_wei,
                               slash_wei=setup.prices.slash_wei, exit_cooldown_s=EXIT_COOLDOWN_S)
    as_node = {node.address.lower(): market.with_account(node) for node in nodes}
    byzantine = {node.address.lower() for node, bad in zip(nodes, registry.byzantine) if bad}
    for node, stake in zip(nodes, registry.stakes_wei):
        as_node[node.address.lower()].register(1, 0, stake)
    as_client = market.with_account(client)
    played = []
    for _ in range(tasks):
        task_id, created = as_client.create_task(setup.task_params)
        assigned = tuple(Address(node.lower()) for node in created.named("TaskMatched")[0].args["nodes"])
        votes = {voter: (result_of(setup.kind, voter, voter in byzantine), salt_of(voter)) for voter in assigned}
        for voter in assigned:
            result, salt = votes[voter]
            as_node[voter].commit(task_id, compute_seal(task_id, result, ExecStatus.SUCCESS, voter, salt))
        receipt = None
        for voter in assigned:
            result, salt = votes[voter]
            receipt = as_node[voter].reveal(task_id, result, ExecStatus.SUCCESS, salt, TRUE_RESULT)
        completed = () if receipt is None else receipt.named("TaskCompleted")
        outcome = Outcome.NO_CONSENSUS if not completed else (
            Outcome.CORRECT if completed[0].args["resultHash"] == TRUE_RESULT else Outcome.WRONG)
        for slashed in () if receipt is None else receipt.named("Slashed"):
            as_node[slashed.args["node"].lower()].add_stake(slashed.args["amountWei"])
        played.append(PlayedTask(assigned, outcome, created.gas_used))
    return played


__all__ = ["PlayedTask", "play_on_chain", "replay_accounts"]

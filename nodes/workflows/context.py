"""What a workflow gets from the run: the running market, its own client accounts, tasks run to a proof, and roles."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cipherquorum.exceptions import ValidationError
from cipherquorum.nodes.client import TaskOutcome, TaskSpec
from cipherquorum.nodes.driver.stack import MarketStack
from cipherquorum.nodes.hosting import ActorHost
from cipherquorum.settings.scenario import Scenario
from cipherquorum.types import Address, TaskId

T = TypeVar("T")

AWAIT_SLACK_S = 120.0
"""Added to the market's windows when waiting for a workflow's tasks: time to create, fetch and settle."""


@dataclass
class WorkflowContext:
    """The running market as one workflow sees it.

    ``clients`` are the client indexes (funded accounts) the workflow creates tasks from; the compute nodes run
    while the workflow does, so it can run tasks stage after stage. Roles started with ``host`` are stopped
    when the run ends (``close``).
    """

    scenario: Scenario
    stack: MarketStack
    data_dir: Path
    clients: range
    clustered: bool = False
    _opened: set[int] = field(default_factory=set)
    _hosts: list[ActorHost[Any]] = field(default_factory=list)

    @property
    def seed(self) -> str:
        """The run's seed: derive every identity and random choice of the workflow from it."""
        return self.scenario.run.seed

    def requester(self, client_index: int) -> Address:
        """Open the client account ``client_index`` (one of ``clients``) without FHE keys; return its address.

        Raises ValidationError for an index outside ``clients``.
        """
        if client_index not in self.clients:
            raise ValidationError(f"client {client_index} is not one of this workflow's clients "
                                  f"({self.clients.start}..{self.clients.stop - 1})")
        address = self.stack.clients.open_requester(client_index)
        self._opened.add(client_index)
        return address

    def run_tasks(self, client_index: int, specs: Sequence[TaskSpec],
                  timeout_s: float | None = None) -> list[TaskOutcome]:
        """Create ``specs`` on chain from client ``client_index`` (batched), wait until each has an outcome and
        return the outcomes in spec order.

        Each outcome's proof is checked against the manifest and the downloaded result; a task run under another
        owner's key bundle carries its result ciphertexts in ``outputs``. A task still open at ``timeout_s``
        (default: enough market windows for every task's replicas to get a slot, plus AWAIT_SLACK_S) comes back
        "unfinished". Raises ValidationError for a client that is not the workflow's, or a spec the client
        cannot create, and RoleDied / ChainError as the market's roles do.
        """
        if not specs:
            return []
        if client_index not in self._opened:
            self.requester(client_index)
        pool = self.stack.clients
        ids = pool.create_tasks(client_index, specs)
        outcomes = pool.submit_await_tasks(client_index, timeout_s or self._await_s(len(specs))).result()
        by_id: dict[TaskId, TaskOutcome] = {outcome.task_id: outcome for outcome in outcomes}
        return [by_id[task_id] for task_id in ids]

    def host(self, cls: type[T], *args: Any, name: str, title: str = "", max_concurrency: int = 1,
             **kwargs: Any) -> ActorHost[T]:
        """Start ``cls(*args, **kwargs)`` as a role in its own actor, stopped when the run ends."""
        host = ActorHost(cls, *args, name=name, title=title, max_concurrency=max_concurrency, **kwargs)
        self._hosts.append(host)
        return host

    def close(self) -> None:
        """Stop every role the workflow started."""
        for host in reversed(self._hosts):
            host.kill()
        self._hosts.clear()

    def _await_s(self, tasks: int) -> float:
        market = self.scenario.market
        capacity = max(1, sum(group.count * group.capacity for group in self.scenario.nodes))
        waves = 1 + math.ceil(tasks * market.replication / capacity)
        return waves * (market.commit_window_s + market.reveal_window_s) + AWAIT_SLACK_S

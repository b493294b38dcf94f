"""The chain role: the chain a run starts (the embedded py-evm devnet or Foundry's anvil), served from its own actor."""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from cipherquorum.chain.anvil import ANVIL_CHAIN_ID, Anvil, find_anvil
from cipherquorum.devnet import Devnet, RpcMethodStats
from cipherquorum.devnet.affinity import serving_cpu
from cipherquorum.exceptions import ChainError
from cipherquorum.measurement.spans import ProcessUsage, process_usage
from cipherquorum.nodes.hosting import CHAIN_RESOURCE, ActorHost, Placement, node_ip_address
from cipherquorum.settings.scenario import ChainKind
from cipherquorum.types import Wei


class ManagedChain(Protocol):
    """A chain the run starts, funds its accounts on, and stops (``Devnet`` and ``Anvil`` are two)."""

    # --- serving
    def start(self) -> str:
        """Serve JSON-RPC and return the URL."""
        ...

    def stop(self) -> None:
        """Stop serving."""
        ...

    @property
    def chain_id(self) -> int:
        """The id that signed transactions must carry."""
        ...

    # --- accounts
    def fund_many(self, addresses: Iterable[str], amount_wei: Wei) -> object:
        """Give each address ``amount_wei``."""
        ...

    # --- measuring
    def rpc_stats(self) -> dict[str, RpcMethodStats]:
        """Calls served and seconds the chain was held, per JSON-RPC method (empty where not counted)."""
        ...


@dataclass(frozen=True)
class ChainSpec:
    """Which chain the chain role starts: ``kind`` DEVNET (seeded with ``seed``) or ANVIL (the binary at
    ``anvil_path``, $CIPHERQUORUM_ANVIL or the npm-installed one); ``chain_id`` 0 means the chain's own."""

    kind: ChainKind = ChainKind.DEVNET
    seed: str | None = None
    anvil_path: str = ""
    chain_id: int = 0
    own_cpu: bool = True
    """The devnet's serving thread keeps to one CPU of the host's machine (devnet.affinity.serving_cpu)."""


def build_chain(spec: ChainSpec, host: str) -> ManagedChain:
    """The chain ``spec`` names, bound to ``host`` and not yet started.

    Raises DependencyMissing when anvil's binary is not there, ChainError for a kind that is not a managed chain.
    """
    if spec.kind is ChainKind.DEVNET:
        return Devnet(host=host, port=0, seed=spec.seed, cpu=serving_cpu() if spec.own_cpu else None)
    if spec.kind is ChainKind.ANVIL:
        return Anvil(find_anvil(spec.anvil_path), host=host, chain_id=spec.chain_id or ANVIL_CHAIN_ID)
    raise ChainError(f"the run does not start a {spec.kind.value} chain: it joins one at chain.rpc_url")


class ChainHost:
    """Runs the run's chain and serves it over JSON-RPC: on loopback only, unless ``bind_all`` asks for this
    machine's cluster address (the run spans machines). The devnet's admin methods stay disabled: the roles sign
    their own transactions and never move time. An anvil process lives and dies with this host's process.

    The chain starts at the first ``url()``, so that an error in starting it (anvil missing, say) reaches the
    caller as itself rather than as an actor that died while it was built.
    """

    def __init__(self, bind_all: bool = False, seed: str | None = None, spec: ChainSpec | None = None) -> None:
        self._bind_all = bind_all
        self._spec = spec or ChainSpec(seed=seed)
        self._chain: ManagedChain | None = None
        self._url = ""

    def url(self) -> str:
        """The JSON-RPC URL every node connects to, the chain started first if it is not yet.

        Raises DependencyMissing when anvil is not installed, ChainError when the chain cannot start or does not
        have the scenario's chain id.
        """
        if self._chain is None:
            chain = build_chain(self._spec, node_ip_address() if self._bind_all else "127.0.0.1")
            url = chain.start()
            if self._spec.chain_id and chain.chain_id != self._spec.chain_id:
                chain.stop()
                raise ChainError(f"the {self._spec.kind.value} chain serves chain id {chain.chain_id}, not the "
                                 f"chain.chain_id={self._spec.chain_id} the scenario asks for")
            self._chain, self._url = chain, url
        return self._url

    @property
    def _started(self) -> ManagedChain:
        if self._chain is None:
            self.url()
        assert self._chain is not None
        return self._chain

    def fund(self, addresses: Sequence[str], amount_wei: int) -> None:
        """Give each address ``amount_wei`` (the devnet sends it from its prefunded accounts; anvil sets it)."""
        self._started.fund_many(list(addresses), amount_wei)

    def rpc_stats(self) -> dict[str, RpcMethodStats]:
        """Calls served and seconds the chain was held, per JSON-RPC method (anvil counts none: empty)."""
        return self._started.rpc_stats()

    def usage(self) -> ProcessUsage:
        """The CPU and memory of the chain's processes: this one, and anvil's where it runs."""
        usage = process_usage("chain")
        if isinstance(self._chain, Anvil):
            cpu_s, rss_bytes, max_rss_bytes = self._chain.usage()
            usage = replace(usage, cpu_s=usage.cpu_s + cpu_s, rss_bytes=usage.rss_bytes + rss_bytes,
                            max_rss_bytes=usage.max_rss_bytes + max_rss_bytes)
        return usage

    def chain_pid(self) -> int:
        """The pid of the process that serves the chain: anvil's, or this host's own for the devnet."""
        return self._chain.pid if isinstance(self._chain, Anvil) else os.getpid()

    def stop(self) -> None:
        """Stop serving JSON-RPC (anvil's process ends); one that never started has nothing to stop."""
        if self._chain is not None:
            self._chain.stop()


class ChainHandle:
    """Typed handle on the chain actor."""

    def __init__(self, *, seed: str, clustered: bool, spec: ChainSpec | None = None) -> None:
        placement = Placement(resource=CHAIN_RESOURCE) if clustered else Placement()
        self._host: ActorHost[ChainHost] = ActorHost(ChainHost, clustered, seed, spec, name="chain",
                                                     placement=placement, yields_cpu=False)
        try:
            self._url: str = self._host.call("url")
        except BaseException:
            self._host.kill()  # a chain that did not start leaves no actor behind
            raise

    @property
    def url(self) -> str:
        """The chain's JSON-RPC URL."""
        return self._url

    def fund(self, addresses: Sequence[str], amount_wei: int) -> None:
        """Fund accounts (from the devnet's prefunded accounts, or by setting anvil's balances)."""
        self._host.call("fund", list(addresses), amount_wei)

    def rpc_stats(self) -> dict[str, RpcMethodStats]:
        """Calls served and seconds the chain was held, per JSON-RPC method, since the chain started."""
        return self._host.call("rpc_stats", timeout_s=30)

    def usage(self) -> ProcessUsage:
        """The CPU and memory of the chain's processes."""
        return self._host.call("usage", timeout_s=30)

    def chain_pid(self) -> int:
        """The pid of the process that serves the chain (anvil's, or the actor's for the devnet)."""
        return self._host.call("chain_pid", timeout_s=30)

    def shutdown(self) -> None:
        """Stop the chain and its actor."""
        try:
            self._host.call("stop", timeout_s=10)
        finally:
            self._host.kill()

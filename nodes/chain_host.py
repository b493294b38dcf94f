"""The chain role: the embedded py-evm devnet served over JSON-RPC from its own actor."""
from __future__ import annotations

from collections.abc import Sequence

from cipherquorum.devnet import Devnet, RpcMethodStats
from cipherquorum.measurement.spans import ProcessUsage, process_usage
from cipherquorum.nodes.hosting import CHAIN_RESOURCE, ActorHost, Placement, node_ip_address


class ChainHost:
    """Runs an eth-tester devnet and serves it over JSON-RPC: on loopback only, unless ``bind_all`` asks for this
    machine's cluster address (the run spans machines). Its admin methods stay disabled: the roles sign their
    own transactions and never move time."""

    def __init__(self, bind_all: bool = False, seed: str | None = None) -> None:
        host = node_ip_address() if bind_all else "127.0.0.1"
        self._devnet = Devnet(host=host, port=0, seed=seed)
        self._url = self._devnet.start()

    def url(self) -> str:
        """The JSON-RPC URL every node connects to."""
        return self._url

    def fund(self, addresses: Sequence[str], amount_wei: int) -> None:
        """Give each address ``amount_wei`` from the devnet's prefunded accounts."""
        self._devnet.fund_many(list(addresses), amount_wei)

    def rpc_stats(self) -> dict[str, RpcMethodStats]:
        """Calls served and seconds the chain was held, per JSON-RPC method."""
        return self._devnet.rpc_stats()

    def usage(self) -> ProcessUsage:
        """The CPU and memory of the chain's process."""
        return process_usage("chain")

    def stop(self) -> None:
        """Stop serving JSON-RPC."""
        self._devnet.stop()


class ChainHandle:
    """Typed handle on the devnet actor."""

    def __init__(self, *, seed: str, clustered: bool) -> None:
        placement = Placement(resource=CHAIN_RESOURCE) if clustered else Placement()
        self._host: ActorHost[ChainHost] = ActorHost(ChainHost, clustered, seed, name="chain", placement=placement)
        self._url: str = self._host.call("url")

    @property
    def url(self) -> str:
        """The devnet's JSON-RPC URL."""
        return self._url

    def fund(self, addresses: Sequence[str], amount_wei: int) -> None:
        """Fund accounts from the devnet's prefunded accounts."""
        self._host.call("fund", list(addresses), amount_wei)

    def rpc_stats(self) -> dict[str, RpcMethodStats]:
        """Calls served and seconds the chain was held, per JSON-RPC method, since the devnet started."""
        return self._host.call("rpc_stats", timeout_s=30)

    def usage(self) -> ProcessUsage:
        """The CPU and memory of the devnet's process."""
        return self._host.call("usage", timeout_s=30)

    def shutdown(self) -> None:
        """Stop the devnet and its actor."""
        try:
            self._host.call("stop", timeout_s=10)
        finally:
            self._host.kill()

"""CPU per JSON-RPC call on the caller's side: web3's HTTPProvider (requests) against the binding's kept-alive
``http.client`` provider, on an embedded devnet in this process.

    .venv/bin/python benchmarks/rpc_transport.py [--calls 300]

Each figure is the calling thread's own CPU time (``RUSAGE_THREAD``) divided by the calls, so the devnet's
work, served from other threads, is not in it; wall time per call is printed beside it.
"""
from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable, Sequence
from typing import Any

from web3 import Web3
from web3.types import RPCEndpoint

from cipherquorum.chain.transport import KeepAliveHTTPProvider
from cipherquorum.devnet.devnet import Devnet


def thread_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_utime + usage.ru_stime


def measure(call: Callable[[], Any], calls: int) -> tuple[float, float]:
    """(wall ms, caller CPU ms) per call, after one warm-up call."""
    call()
    wall_s, cpu_s = time.perf_counter(), thread_cpu_s()
    for _ in range(calls):
        call()
    return 1000 * (time.perf_counter() - wall_s) / calls, 1000 * (thread_cpu_s() - cpu_s) / calls


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300, help="calls per figure (default 300)")
    args = parser.parse_args(argv)
    logs = RPCEndpoint("eth_getLogs")
    log_filter = [{"fromBlock": "0x0", "toBlock": "latest"}]
    with Devnet(seed="rpc-transport") as devnet:
        providers = {"web3 HTTPProvider": Web3.HTTPProvider(devnet.url, exception_retry_configuration=None),
                     "KeepAliveHTTPProvider": KeepAliveHTTPProvider(devnet.url, 30.0)}
        for name, provider in providers.items():
            web3 = Web3(provider, middleware=[])
            for what, call in (("eth_getLogs, raw", lambda p=provider: p.make_request(logs, log_filter)),
                               ("eth_blockNumber via web3.eth", lambda w=web3: w.eth.block_number)):
                wall_ms, cpu_ms = measure(call, args.calls)
                print(f"{name:22} {what:28} {wall_ms:6.3f} ms wall  {cpu_ms:6.3f} ms caller CPU per call")


if __name__ == "__main__":
    main()

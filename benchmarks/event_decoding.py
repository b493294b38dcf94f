"""CPU per decoded TaskMarket log: eth_abi's decoder against the binding's word-by-word one (abiwords), on the
logs a settled task emits, in this process.

    .venv/bin/python benchmarks/event_decoding.py [--rounds 2000]

Every node and client decodes every market event it polls, so this is paid once per event per role. Both
paths end in the same normalization (checksummed addresses, enums), which is in both figures.
"""
from __future__ import annotations

import argparse
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from eth_abi import abi

from cipherquorum.chain.artifact import load_artifact
from cipherquorum.chain.views import EventDecoder, abi_type

# The logs of one task of the quickstart (r=3): created, matched, assigned, committed, revealed, settled.
TASK_EVENTS = ["TaskCreated", "NodeAssigned", "NodeAssigned", "NodeAssigned", "TaskMatched", "Committed",
               "Committed", "Committed", "AllCommitted", "Revealed", "Revealed", "Revealed", "Rewarded", "Rewarded",
               "Slashed", "TaskCompleted"]


def _value(kind: str) -> Any:
    if kind.endswith("[]"):
        return [_value(kind[:-2]) for _ in range(3)]
    if kind == "address":
        return "0x" + os.urandom(20).hex()
    if kind.startswith("bytes") and kind != "bytes":
        return os.urandom(int(kind[5:]))
    if kind == "bytes":
        return os.urandom(40)
    if kind == "bool":
        return True
    return 1


def task_logs(contract_abi: Sequence[Mapping[str, Any]], decoder: EventDecoder) -> list[dict[str, Any]]:
    """JSON-RPC logs of ``TASK_EVENTS``, as eth_getLogs returns them, with random values of the right types."""
    events = {entry["name"]: entry for entry in contract_abi if entry.get("type") == "event"}
    logs = []
    for name in TASK_EVENTS:
        inputs = events[name]["inputs"]
        indexed = [abi_type(i) for i in inputs if i["indexed"]]
        data = [abi_type(i) for i in inputs if not i["indexed"]]
        topics = [decoder.topic(name)] + [abi.encode([kind], [_value(kind)]) for kind in indexed]
        logs.append({"topics": ["0x" + topic.hex() for topic in topics],
                     "data": "0x" + abi.encode(data, [_value(kind) for kind in data]).hex(),
                     "transactionHash": "0x" + os.urandom(32).hex(), "blockNumber": "0x10", "logIndex": "0x0"})
    return logs


def per_log_us(decoder: EventDecoder, logs: Sequence[Mapping[str, Any]], rounds: int) -> float:
    """Process CPU microseconds per decoded log, over ``rounds`` passes."""
    for log in logs:
        decoder.decode(log)
    started = time.process_time()
    for _ in range(rounds):
        for log in logs:
            decoder.decode(log)
    return 1e6 * (time.process_time() - started) / (rounds * len(logs))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000, help="passes over one task's logs (default 2000)")
    args = parser.parse_args(argv)
    contract_abi = load_artifact().abi
    fast = EventDecoder(contract_abi)
    logs = task_logs(contract_abi, fast)
    slow = EventDecoder(contract_abi, word_decoding=False)
    if [fast.decode(log) for log in logs] != [slow.decode(log) for log in logs]:
        raise SystemExit("the two decoders disagree on these logs")
    slow_us, fast_us = per_log_us(slow, logs, args.rounds), per_log_us(fast, logs, args.rounds)
    print(f"{len(logs)} logs of one task, {args.rounds} rounds: eth_abi {slow_us:.1f} us per log, "
          f"word by word {fast_us:.1f} us per log ({slow_us / fast_us:.1f}x)")


if __name__ == "__main__":
    main()

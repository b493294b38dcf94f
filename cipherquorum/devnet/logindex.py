"""eth_getLogs for the devnet from a per-block cache: eth-tester rebuilds every receipt of every block it scans."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

_HEAD_TAGS = frozenset({"latest", "pending", "safe", "finalized"})
_FILTER_KEYS = frozenset({"fromBlock", "toBlock", "address", "topics"})

JsonLog = dict[str, Any]


def block_number_of(value: Any, head: int, name: str) -> int:
    """Return a JSON-RPC block parameter (quantity or tag) as a block number; raises ValueError otherwise."""
    if value is None or value in _HEAD_TAGS:
        return head
    if value == "earliest":
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.startswith("0x"):
        return int(value, 16)
    raise ValueError(f'"{name}" must be a block number or tag (got {value!r})')


def _lowered(value: Any, name: str) -> frozenset[str] | None:
    """A filter position (one hex string, a list of them, or null) as a set of lowercase strings (None: any)."""
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in items if item is not None):
        raise ValueError(f'"{name}" must be hex strings (got {value!r})')
    if any(item is None for item in items):
        return None
    return frozenset(item.lower() for item in items)


class BlockLogIndex:
    """Answers eth_getLogs filters from each mined block's logs, fetched once and kept (until ``forget_from``).

    ``fetch_block_logs(n)`` returns every log of block n in JSON-RPC form (eth-tester's own answer to an
    unfiltered eth_getLogs for that block), so the answers keep eth-tester's format exactly.
    """

    def __init__(self, fetch_block_logs: Callable[[int], Sequence[JsonLog]]) -> None:
        self._fetch = fetch_block_logs
        self._blocks: dict[int, tuple[JsonLog, ...]] = {}

    def forget_from(self, number: int) -> None:
        """Drop the kept logs of block ``number`` and every later one (the chain went back to a snapshot)."""
        for kept in [kept for kept in self._blocks if kept >= number]:
            del self._blocks[kept]

    def query(self, params: Sequence[Any], head: int) -> list[JsonLog] | None:
        """Return the logs matching ``params`` (eth_getLogs' params) up to block ``head``.

        Returns None for a filter this index does not handle (``blockHash``), which eth-tester then answers.
        Raises ValueError for malformed params.
        """
        if len(params) != 1 or not isinstance(params[0], Mapping):
            raise ValueError(f"eth_getLogs takes [filter] (got {params!r})")
        query = params[0]
        if set(query) - _FILTER_KEYS:
            return None
        first = block_number_of(query.get("fromBlock"), head, "fromBlock")
        last = min(block_number_of(query.get("toBlock"), head, "toBlock"), head)
        addresses = _lowered(query.get("address"), "address")
        topics = query.get("topics") or []
        if not isinstance(topics, list):
            raise ValueError(f'"topics" must be a list (got {topics!r})')
        wanted = [_lowered(topic, f"topics[{index}]") for index, topic in enumerate(topics)]
        matches = []
        for number in range(first, last + 1):
            for log in self._logs_of(number):
                if addresses is not None and log["address"].lower() not in addresses:
                    continue
                if _topics_match(wanted, log["topics"]):
                    matches.append(log)
        return matches

    def _logs_of(self, number: int) -> tuple[JsonLog, ...]:
        logs = self._blocks.get(number)
        if logs is None:
            logs = tuple(self._fetch(number))
            self._blocks[number] = logs
        return logs


def _topics_match(wanted: Sequence[frozenset[str] | None], topics: Sequence[str]) -> bool:
    if len(wanted) > len(topics):
        return False
    return all(options is None or topic.lower() in options for options, topic in zip(wanted, topics))


__all__ = ["BlockLogIndex", "block_number_of"]

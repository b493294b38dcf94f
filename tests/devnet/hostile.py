"""Hostile JSON-RPC bodies for the devnet, drawn from a seeded generator, and the check of each reply.

Kinds: deep nesting, huge batches, junk bodies, wrong types, unknown methods, bad raw transactions, bad block
numbers, junk params for every method, admin methods without the admin URL, and looping calls. Run by hand
against a devnet in a child process: ``.venv/bin/python tests/devnet/hostile.py --count 5000`` prints what
came back, the tracebacks the devnet logged and whether it still serves.
"""
from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from eth_account import Account
from web3.providers.eth_tester.defaults import API_ENDPOINTS

LOOPING_INITCODE = "0x5b600056"
"""JUMPDEST PUSH1 0 JUMP: init code that loops until its gas runs out."""
INTERNAL_ERROR = -32603
KNOWN_METHODS = sorted(
    [f"{namespace}_{name}" for namespace, methods in API_ENDPOINTS.items() for name in methods]
    + ["evm_increaseTime"]
)
ADMIN_METHODS = ("eth_sendTransaction", "evm_mine", "evm_snapshot", "evm_revert", "evm_increaseTime",
                 "testing_timeTravel", "eth_newFilter", "eth_newBlockFilter")
BLOCK_METHODS = {"eth_getBalance": 1, "eth_getCode": 1, "eth_getTransactionCount": 1, "eth_getStorageAt": 2,
                 "eth_call": 1, "eth_estimateGas": 1, "eth_getBlockByNumber": 0, "eth_feeHistory": 1,
                 "eth_getBlockTransactionCountByNumber": 0, "eth_getTransactionByBlockNumberAndIndex": 0}
BAD_BLOCKS: tuple[Any, ...] = (hex(10**6), hex(2**63), hex(2**64), hex(2**256), "0x" + "f" * 100, "0x", "-0x1", -1,
                               1.5, "Latest", "PENDING", "soon", "", None, [], {}, True, 10**30, "1e9", "0xzz")
ADDRESS = "0x" + "11" * 20


@dataclass(frozen=True)
class HostileRequest:
    """One hostile body, the kind of hostility it carries, and how many looping calls it holds."""

    kind: str
    body: bytes
    loops: int = 0


def _request(method: Any, params: Any, request_id: Any = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode()


class HostileRequests:
    """Draws hostile bodies from ``random.Random(seed)``; ``chain_id`` signs the well-formed transactions."""

    def __init__(self, seed: int, chain_id: int) -> None:
        self._rng = random.Random(seed)
        self._chain_id = chain_id
        self._signer = Account.from_key(b"\x01" * 32)
        self._kinds: dict[str, Callable[[], HostileRequest]] = {
            "deep nesting": self._deep, "huge batch": self._batch, "junk body": self._junk_body,
            "wrong types": self._wrong_types, "unknown method": self._unknown_method, "bad raw tx": self._bad_raw,
            "bad block number": self._bad_block, "junk params": self._junk_params, "admin method": self._admin,
            "looping call": self._looping,
        }

    def draw(self, count: int, *, max_loops: int, skip: frozenset[str] = frozenset()) -> Iterator[HostileRequest]:
        """Yield ``count`` bodies of random kinds (none of ``skip``), holding at most ``max_loops`` looping calls."""
        loops = 0
        kinds = sorted(set(self._kinds) - skip)
        for _ in range(count):
            request = self._kinds[self._rng.choice(kinds)]()
            if loops + request.loops > max_loops:
                request = self._unknown_method()
            loops += request.loops
            yield request

    # --- values ------------------------------------------------------------------------------------

    def _junk(self, depth: int = 0) -> Any:
        rng = self._rng
        choices: list[Callable[[], Any]] = [
            lambda: None, lambda: rng.random() < 0.5, lambda: rng.randint(-10, 10), lambda: rng.randint(0, 2**300),
            lambda: -rng.randint(0, 2**70), lambda: rng.uniform(-1e300, 1e300), lambda: "",
            lambda: "0x" + rng.randbytes(rng.choice([0, 1, 19, 20, 21, 32, 33, 200])).hex(),
            lambda: "0x" + "zz" * rng.randint(1, 5), lambda: rng.choice(["latest", "pending", "earliest", "safe"]),
            lambda: "\u2603" * rng.randint(1, 50), lambda: "x" * rng.randint(1, 5000),
        ]
        if depth < 3:
            choices += [lambda: [self._junk(depth + 1) for _ in range(rng.randint(0, 4))],
                        lambda: {rng.choice(["to", "from", "data", "gas", "value", "x", ""]): self._junk(depth + 1)
                                 for _ in range(rng.randint(0, 4))}]
        return rng.choice(choices)()

    def _signed(self, **overrides: Any) -> str:
        transaction: dict[str, Any] = {"to": ADDRESS, "value": 1, "gas": 21000, "gasPrice": 10**10,
                                       "nonce": self._rng.randint(0, 3), "chainId": self._chain_id, **overrides}
        transaction = {key: value for key, value in transaction.items() if value is not None}
        return "0x" + self._signer.sign_transaction(transaction).raw_transaction.hex()

    # --- kinds -------------------------------------------------------------------------------------

    def _deep(self) -> HostileRequest:
        depth = self._rng.choice([65, 200, 1000, 10_000, 100_000, 200_000])
        shapes = [
            b"[" * depth + b"]" * depth,
            b'{"a":' * depth + b"1" + b"}" * depth,
            b"[" * depth,
            b'{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":' + b"[" * depth + b"]" * depth + b"}",
            b"[" + b'{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[' + b"[{" * depth + b"}]" * depth
            + b"]}]",
        ]
        return HostileRequest("deep nesting", self._rng.choice(shapes))

    def _batch(self) -> HostileRequest:
        rng = self._rng
        size = rng.choice([1001, 1500, 5000, 200])
        if size == 200:
            return HostileRequest("huge batch", _encode([self._junk() for _ in range(size)]))
        return HostileRequest("huge batch", _encode([_request("eth_blockNumber", [], i) for i in range(size)]))

    def _junk_body(self) -> HostileRequest:
        rng = self._rng
        bodies = [b"", b"   ", b"\xff\xfe\x00garbage", rng.randbytes(rng.randint(1, 2000)), b"NaN", b"[Infinity]",
                  b'{"jsonrpc":"2.0","id":' + b"9" * 5000 + b',"method":"eth_blockNumber"}',
                  b'{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"', b"\xef\xbb\xbf{}", b"null", b"true",
                  _encode(self._junk()), '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}'.encode("utf-16")]
        return HostileRequest("junk body", rng.choice(bodies))

    def _wrong_types(self) -> HostileRequest:
        rng = self._rng
        request: dict[str, Any] = _request(rng.choice(KNOWN_METHODS), [])
        field = rng.choice(["jsonrpc", "id", "method", "params"])
        request[field] = self._junk()
        if rng.random() < 0.2:
            del request[field]
        return HostileRequest("wrong types", _encode(request))

    def _unknown_method(self) -> HostileRequest:
        rng = self._rng
        names = ["", "_", "eth_", "eth", "nonamespace", "eth_noSuchThing", "ETH_BLOCKNUMBER", "\u2603_x",
                 "x" * 10_000, f"{rng.choice(['eth', 'debug', 'admin', 'personal', 'db'])}_{rng.randbytes(4).hex()}"]
        return HostileRequest("unknown method", _encode(_request(rng.choice(names), [])))

    def _bad_raw(self) -> HostileRequest:
        rng = self._rng
        good = self._signed()
        raws: list[Any] = [
            "0x", "0x00", "0xdeadbeef", "0x0", "zz", "0xzz", 5, None, [],
            "0x" + rng.randbytes(rng.randint(1, 300)).hex(),
            "0x" + bytes([rng.randint(0, 0x7f)]).hex() + rng.randbytes(rng.randint(0, 120)).hex(),
            good[: rng.randint(4, len(good) - 2)], good[:-2] + "00", good + "00",
            self._signed(chainId=self._chain_id + 1), self._signed(chainId=None),
            self._signed(gasPrice=None, maxFeePerGas=10**10, maxPriorityFeePerGas=1,
                         chainId=rng.choice([1, self._chain_id])),
            "0x" + rng.randbytes(100_000).hex(),
        ]
        if rng.random() < 0.3:
            position = rng.randrange(4, len(good))
            raws.append(good[:position] + rng.choice("0123456789abcdef") + good[position + 1:])
        params = [rng.choice(raws)]
        return HostileRequest("bad raw tx", _encode(_request("eth_sendRawTransaction", params)))

    def _bad_block(self) -> HostileRequest:
        rng = self._rng
        method = rng.choice(sorted(BLOCK_METHODS))
        block = rng.choice(BAD_BLOCKS)
        params: dict[str, list[Any]] = {
            "eth_getBalance": [ADDRESS, block], "eth_getCode": [ADDRESS, block],
            "eth_getTransactionCount": [ADDRESS, block], "eth_getStorageAt": [ADDRESS, "0x0", block],
            "eth_call": [{"to": ADDRESS}, block], "eth_estimateGas": [{"to": ADDRESS}, block],
            "eth_getBlockByNumber": [block, False], "eth_feeHistory": ["0x1", block, []],
            "eth_getBlockTransactionCountByNumber": [block], "eth_getTransactionByBlockNumberAndIndex": [block, "0x0"],
        }
        if rng.random() < 0.2:
            return HostileRequest("bad block number", _encode(_request("eth_getLogs", [{"fromBlock": block}])))
        return HostileRequest("bad block number", _encode(_request(method, params[method])))

    def _junk_params(self) -> HostileRequest:
        rng = self._rng
        method = rng.choice([m for m in KNOWN_METHODS if m not in ADMIN_METHODS])
        params = [self._junk() for _ in range(rng.randint(0, 4))]
        return HostileRequest("junk params", _encode(_request(method, params)))

    def _admin(self) -> HostileRequest:
        rng = self._rng
        method = rng.choice(ADMIN_METHODS)
        params: dict[str, list[Any]] = {
            "eth_sendTransaction": [{"from": "0x" + "22" * 20, "to": ADDRESS, "value": hex(10**24)}],
            "evm_mine": [], "evm_snapshot": [], "evm_revert": ["0x1"], "evm_increaseTime": [10**9],
            "testing_timeTravel": [2**40], "eth_newFilter": [{}], "eth_newBlockFilter": [],
        }
        return HostileRequest("admin method", _encode(_request(method, params[method])))

    def _looping(self) -> HostileRequest:
        rng = self._rng
        method = rng.choice(["eth_call", "eth_estimateGas"])
        call: dict[str, Any] = {"data": LOOPING_INITCODE}
        gas = rng.choice([None, hex(10**18), hex(2**64), "0x0", hex(30_000_000)])
        if gas is not None:
            call["gas"] = gas
        request = _request(method, [call, "latest"] if method == "eth_call" else [call])
        if rng.random() < 0.1:
            count = rng.randint(2, 20)
            return HostileRequest("looping call", _encode([{**request, "id": i} for i in range(count)]), count)
        return HostileRequest("looping call", _encode(request), 1)


def problems_with(response: requests.Response) -> list[str]:
    """What is wrong with the devnet's answer to a hostile body: not JSON-RPC, or an internal error."""
    if response.status_code not in (200, 413):
        return [f"HTTP {response.status_code}"]
    try:
        payload = response.json()
    except ValueError:
        return [f"not JSON: {response.content[:80]!r}"]
    replies = payload if isinstance(payload, list) else [payload]
    found = []
    for reply in replies:
        if not isinstance(reply, dict) or reply.get("jsonrpc") != "2.0" or ("result" in reply) == ("error" in reply):
            found.append(f"not a JSON-RPC reply: {str(reply)[:80]}")
        elif "error" in reply and reply["error"].get("code") == INTERNAL_ERROR:
            found.append(f"internal error: {reply['error'].get('message', '')[:200]}")
    return found


def error_codes_of(response: requests.Response) -> list[int | None]:
    """The error code of each reply in a response (None for a result)."""
    try:
        payload = response.json()
    except ValueError:
        return []
    replies = payload if isinstance(payload, list) else [payload]
    return [reply.get("error", {}).get("code") if isinstance(reply, dict) else None for reply in replies]


def send_all(url: str, hostile: Iterator[HostileRequest], timeout_s: float = 60) -> dict[str, Any]:
    """POST each body to ``url``; return the counts by kind and error code, the problems and the slowest reply."""
    session = requests.Session()
    kinds: collections.Counter[str] = collections.Counter()
    codes: collections.Counter[int | None] = collections.Counter()
    problems: list[str] = []
    slowest_s: dict[str, float] = {}
    for request in hostile:
        started_s = time.perf_counter()
        try:
            response = session.post(url, data=request.body, headers={"Content-Type": "application/json"},
                                     timeout=timeout_s)
        except requests.RequestException as exc:
            problems.append(f"{request.kind}: no reply ({exc})")
            session = requests.Session()
            continue
        elapsed_s = time.perf_counter() - started_s
        slowest_s[request.kind] = max(slowest_s.get(request.kind, 0.0), elapsed_s)
        kinds[request.kind] += 1
        codes.update(error_codes_of(response))
        problems += [f"{request.kind}: {problem}" for problem in problems_with(response)]
    return {"kinds": dict(kinds), "codes": dict(codes), "problems": problems, "slowest_s": slowest_s}


def main() -> None:
    """Send ``--count`` hostile bodies to a devnet in a child process and report what happened."""
    sys.path.insert(0, str(Path(__file__).parent))
    from devnet_child import ChildDevnet

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-loops", type=int, default=200)
    parser.add_argument("--skip", action="append", default=[], help="a kind to leave out (repeatable)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, closing(ChildDevnet(Path(folder) / "devnet.log")) as child:
        chain_id = int(requests.post(child.url, json=_request("eth_chainId", []), timeout=10).json()["result"], 16)
        started_s = time.perf_counter()
        hostile = HostileRequests(arguments.seed, chain_id).draw(
            arguments.count, max_loops=arguments.max_loops, skip=frozenset(arguments.skip))
        outcome = send_all(child.url, hostile)
        outcome["elapsed_s"] = round(time.perf_counter() - started_s, 1)
        outcome["devnet_alive"] = child.alive
        outcome["devnet_serves"] = child.serves()
        outcome["tracebacks_logged"] = child.tracebacks()
        outcome["log_bytes"] = child.log_path.stat().st_size
        outcome["problems"] = outcome["problems"][:20] + ([f"... {len(outcome['problems']) - 20} more"]
                                                          if len(outcome["problems"]) > 20 else [])
        print(json.dumps(outcome, indent=2, default=str))


if __name__ == "__main__":
    main()

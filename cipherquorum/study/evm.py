"""The TaskMarket's own bytecode in an in-process EVM (pyrevm): a transaction in tens of microseconds.

Each transaction runs in a block of its own, as on the embedded devnet: the block number goes up by one per
transaction, every block carries the same timestamp (the devnet lets blocks share a second) and the same
prevrandao (the devnet's seeded rule). pyrevm's errors become the project's at this edge: a revert is decoded
into the contract's own error class, anything else is a TransactionFailed.

pyrevm runs every message call inside one open transaction (it never finalizes its journal), so a storage slot
or account touched once stays warm and keeps its first value as the EIP-2200 original: outcomes, state and
payouts are the contract's, but gas comes out lower than a chain's (createTask about 10% below the devnet's),
and the journal grows with every call, which is why a long run rebuilds its market now and then.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.exceptions import EncodingError

from cipherquorum.chain.market import _interface  # the binding's codecs of the artifact's ABI, built once
from cipherquorum.chain.views import ChainEvent
from cipherquorum.exceptions import ChainError, DependencyMissing, TransactionFailed, ValidationError
from cipherquorum.protocol import checked_address, checked_hash
from cipherquorum.types import Address

EVM_SPEC = "PRAGUE"
"""The hard fork the EVM runs, the devnet's (its WallClockPragueVM)."""
ACCOUNT_BALANCE_WEI = 10**30
"""What every account that sends a transaction is given: far more than any sweep stakes or escrows."""
TASK_COUNT_SLOT = 6
"""The storage slot of the TaskMarket's task counter (``start_task_ids_after`` checks it against taskCount())."""
CALL_GAS = 30_000_000
"""Gas each transaction may use (a block's limit); pyrevm charges only what is used, at gas price 0."""
_REVERT_OUTPUT = re.compile(r"output: 0x([0-9a-fA-F]*)")


def _pyrevm() -> Any:
    try:
        import pyrevm
    except ImportError:
        raise DependencyMissing("contract-mode sweeps run the TaskMarket in pyrevm, which is not installed: "
                                "pip install pyrevm (or `make install`, which installs the project's dependencies)"
                                ) from None
    return pyrevm


@dataclass(frozen=True)
class RawLog:
    """One log as the EVM emitted it, not decoded: its topics as 0x-hex strings and its data."""

    topics: tuple[str, ...]
    data: bytes

    def word(self, index: int) -> int:
        """The ``index``-th 32-byte word of the data as an unsigned int (a static argument's value)."""
        return int.from_bytes(self.data[32 * index:32 * index + 32], "big")


@dataclass(frozen=True)
class Executed:
    """A transaction that succeeded: its return data, the gas it used and the contract's logs, not decoded.

    Decoding every event costs about ten times what running the call does, so a caller decodes what it
    needs: ``InProcessMarket.events`` decodes all, ``RawLog.word`` reads a static argument.
    """

    output: bytes
    gas_used: int
    logs: tuple[RawLog, ...]


class InProcessMarket:
    """A TaskMarket deployed in its own pyrevm EVM; ``transact`` runs one call of it in a block of its own.

    ``prevrandao`` (32 bytes) is what every block carries, ``timestamp_s`` every block's time. Raises
    DependencyMissing when pyrevm is not installed, ValidationError for a bad argument.
    """

    def __init__(self, deployer: str, *, min_stake_wei: int, slash_wei: int, exit_cooldown_s: int,
                 prevrandao: bytes, timestamp_s: int) -> None:
        pyrevm = _pyrevm()
        self._block_env = pyrevm.BlockEnv
        self._prevrandao = checked_hash("prevrandao", prevrandao)
        if isinstance(timestamp_s, bool) or not isinstance(timestamp_s, int) or timestamp_s <= 0:
            raise ValidationError(f'"timestamp_s" must be an int > 0 (got timestamp_s={timestamp_s!r})')
        self._timestamp_s = timestamp_s
        self._block_number = 0
        self._interface = _interface()
        self._evm = pyrevm.EVM(spec_id=EVM_SPEC, env=pyrevm.Env(block=self._next_block()))
        deployer = checked_address("deployer", deployer)
        self._evm.set_balance(deployer, ACCOUNT_BALANCE_WEI)
        self._funded = {deployer.lower()}
        self._viewer = deployer
        code = self._interface.functions.encode_deploy((min_stake_wei, slash_wei, exit_cooldown_s))
        try:
            self._address = Address(self._evm.deploy(deployer, code, gas=CALL_GAS).lower())
        except RuntimeError as exc:
            raise self._translated(exc, "deploying the TaskMarket") from None
        self._deploy_gas = int(self._evm.result.gas_used)

    @property
    def address(self) -> Address:
        """The contract's address in this EVM (lower-case hex)."""
        return self._address

    @property
    def block_number(self) -> int:
        """The number of the last block (one per transaction, the deployment's being 1)."""
        return self._block_number

    @property
    def journal_length(self) -> int:
        """How many entries pyrevm's open transaction holds: it grows with every call until the market is rebuilt."""
        return int(self._evm.journal_len)

    @property
    def deploy_gas(self) -> int:
        """Gas the deployment used."""
        return self._deploy_gas

    def calldata(self, function: str, args: Sequence[Any] = ()) -> bytes:
        """The calldata of ``function(*args)``; raises ValidationError when the arguments do not fit its ABI."""
        try:
            return self._interface.functions.encode_call(function, args)
        except (EncodingError, TypeError) as exc:
            raise ValidationError(f"arguments of {function} do not fit its ABI: {exc}") from None

    def topic(self, event: str) -> str:
        """The 0x-hex topic0 of ``event``, as RawLog.topics holds it; raises ValidationError for an unknown one."""
        return "0x" + self._interface.events.topic(event).hex()

    def transact(self, sender: str, calldata: bytes, value_wei: int = 0) -> Executed:
        """Run ``calldata`` from ``sender`` with ``value_wei`` in the next block and keep its effects.

        A sender is given ACCOUNT_BALANCE_WEI the first time it sends. Raises the contract's error (a
        ContractError subclass named as in Solidity) when the call reverts, TransactionFailed when it halts.
        """
        key = sender.lower()
        if key not in self._funded:
            self._evm.set_balance(sender, ACCOUNT_BALANCE_WEI)
            self._funded.add(key)
        self._evm.set_block_env(self._next_block())
        try:
            output = self._evm.message_call(sender, self._address, calldata, value=value_wei, gas=CALL_GAS)
        except RuntimeError as exc:
            raise self._translated(exc, f"call {calldata[:4].hex()} from {sender}") from None
        result = self._evm.result
        logs = tuple(RawLog(tuple(log.topics), bytes(log.data[1])) for log in result.logs
                     if log.address.lower() == self._address)
        return Executed(bytes(output), int(result.gas_used), logs)

    def transact_function(self, sender: str, function: str, args: Sequence[Any] = (),
                          value_wei: int = 0) -> tuple[Any, ...]:
        """Run ``function(*args)`` as ``transact`` does and return its decoded outputs."""
        executed = self.transact(sender, self.calldata(function, args), value_wei)
        return self._interface.functions.decode_output(function, executed.output)

    def view(self, function: str, args: Sequence[Any] = ()) -> tuple[Any, ...]:
        """The decoded outputs of the view ``function(*args)``, read without a block or a state change."""
        calldata = self.calldata(function, args)
        try:
            output = self._evm.message_call(self._viewer, self._address, calldata, is_static=True)
        except RuntimeError as exc:
            raise self._translated(exc, f"view {function}") from None
        return self._interface.functions.decode_output(function, bytes(output))

    def events(self, executed: Executed) -> tuple[ChainEvent, ...]:
        """Every TaskMarket event of ``executed``, decoded as the chain binding decodes a receipt's."""
        decoded = (self._interface.events.decode({
            "topics": [bytes.fromhex(topic[2:]) for topic in log.topics], "data": log.data,
            "transactionHash": "0x", "blockNumber": self._block_number, "logIndex": index,
        }) for index, log in enumerate(executed.logs))
        return tuple(event for event in decoded if event is not None)

    def start_task_ids_after(self, task_count: int) -> None:
        """Make the next task the contract creates have id ``task_count + 1``, as if that many had been created.

        A market built afresh can so continue the task ids of one it replaces (pyrevm keeps one transaction
        open for all calls, and its journal grows with every call). Raises ChainError if the contract's
        taskCount() does not then read ``task_count`` (its storage layout changed).
        """
        self._evm.insert_account_storage(self._address, TASK_COUNT_SLOT, task_count)
        (read,) = self.view("taskCount")
        if read != task_count:
            raise ChainError(f"taskCount() reads {read} after storing {task_count} in slot {TASK_COUNT_SLOT}: the "
                             "TaskMarket's storage layout changed; update TASK_COUNT_SLOT")

    def balance_wei(self, address: str) -> int:
        """The ether ``address`` holds in this EVM."""
        return int(self._evm.get_balance(address))

    def _next_block(self) -> Any:
        self._block_number += 1
        return self._block_env(number=self._block_number, timestamp=self._timestamp_s, prevrandao=self._prevrandao)

    def _translated(self, exc: RuntimeError, context: str) -> Exception:
        text = str(exc)
        found = _REVERT_OUTPUT.search(text) if text.startswith("Revert") else None
        if found is not None:
            return self._interface.reverts.decode(bytes.fromhex(found.group(1)), context)
        return TransactionFailed(f"{context} failed in the in-process EVM: {text[:200]}")


__all__ = ["ACCOUNT_BALANCE_WEI", "EVM_SPEC", "Executed", "InProcessMarket", "RawLog"]

"""`cipherquorum verify`: an outsider checks a finished task's proof from the chain and the run's storage alone.

Tasks are driven by hand on the session's devnet (real py-evm, a real FileBlobStore, real FHE results); the
slow test verifies every task of a real run.
"""
from __future__ import annotations

import dataclasses
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from web3 import Web3

from cipherquorum.chain import TaskMarket
from cipherquorum.cli import main
from cipherquorum.fhe import KeyNeeds, SecretKeyOwner, execute, program_id
from cipherquorum.protocol import Reveal, TaskParams, check_winners, compute_seal, failed_checks
from cipherquorum.storage import FileBlobStore
from cipherquorum.types import Address, Hash32, TaskId, TaskState, blob_id_to_bytes32
from cipherquorum.verify import open_run_store, verify_task
from cipherquorum.wire import TaskManifest, TaskResult, encode

Accounts = Callable[[str, int], LocalAccount]


@dataclass(frozen=True)
class Finished:
    """A market on the session devnet with finished tasks by name, and the data dir holding their blobs."""

    market: TaskMarket
    data_dir: Path
    tasks: dict[str, TaskId]
    deploy_block: int

    def cli(self, task: str, **overrides: str) -> list[str]:
        """The arguments of `cipherquorum verify` for task ``task``, with options replaced."""
        options = {"--rpc-url": self.market.rpc_url, "--market": self.market.address,
                   "--task": str(self.tasks.get(task, task)), "--data-dir": str(self.data_dir),
                   "--from-block": str(self.deploy_block), **overrides}
        return ["verify", *(part for pair in options.items() for part in pair)]


@pytest.fixture(scope="module")
def finished(rpc_url: str, accounts: Accounts, tmp_path_factory: pytest.TempPathFactory) -> Finished:
    """Three nodes run sum@1 for real and agree ("good"); a task ends without consensus; a task's manifest
    names another program than the task ("mismatch"); a manifest names a program nobody registered."""
    market = TaskMarket.deploy(rpc_url, accounts("deployer", 0), min_stake_wei=10**18, slash_wei=10**17,
                               exit_cooldown_s=600)
    deploy_block = market.block_number()
    nodes = [market.with_account(accounts("node", index)) for index in range(3)]
    for node in nodes:
        node.register(4, 0, 2 * 10**18)
    client = market.with_account(accounts("client", 0))
    data_dir = tmp_path_factory.mktemp("verify-data")
    store = FileBlobStore(data_dir / "store")
    owner = SecretKeyOwner.generate("bfv-2048", KeyNeeds())
    bundle_ref = store.put(owner.bundle.to_bytes())
    inputs = [owner.encrypt([value]).to_bytes() for value in (3, 4, 5)]
    input_refs = tuple(store.put_many(inputs))

    def finish(manifest_program: str, task_program: str, hashes: tuple[bytes, ...] | None = None) -> TaskId:
        manifest = TaskManifest(program=manifest_program, preset="bfv-2048", key_bundle_ref=bundle_ref,
                                input_refs=input_refs, params={}, time_limit_s=60, client=str(client.sender),
                                label=f"verify {manifest_program}")
        manifest_ref = blob_id_to_bytes32(store.put(encode(manifest)))
        task_id, _ = client.create_task(TaskParams(program_id(task_program), manifest_ref, 3, 2, 200, 200, 60,
                                                   10**16))
        outcome = execute(manifest_program, owner.bundle, inputs, {}, 60)
        result = TaskResult(task_id=task_id, node=str(nodes[0].sender), program=manifest_program,
                            status=int(outcome.status), result_hash=bytes(outcome.result_hash),
                            outputs=tuple(ct.to_bytes() for ct in outcome.outputs), detail=outcome.detail)
        result_ref = blob_id_to_bytes32(store.put(encode(result)))
        votes = [(node, Hash32(keccak(f"salt/{node.sender}/{task_id}".encode())), result_hash)
                 for node, result_hash in zip(nodes, hashes or (outcome.result_hash,) * 3)]
        for node, salt, result_hash in votes:
            node.commit(task_id, compute_seal(task_id, result_hash, outcome.status, str(node.sender), salt))
        for node, salt, result_hash in votes:  # the last reveal finalizes the task
            node.reveal(task_id, result_hash, outcome.status, salt, result_ref)
        return task_id

    tasks = {
        "good": finish("sum@1", "sum@1"),
        "no consensus": finish("sum@1", "sum@1", (keccak(b"a"), keccak(b"b"), keccak(b"c"))),
        "mismatch": finish("sum@1", "histogram@1"),
        "unregistered": finish("nosuch@1", "nosuch@1"),
    }
    assert market.task(tasks["no consensus"]).state is TaskState.NO_CONSENSUS
    return Finished(market, data_dir, tasks, deploy_block)


def _verdicts(out: str) -> dict[str, str]:
    """The verdict (PASS or FAIL) of each check line of `cipherquorum verify`'s output, by check name."""
    found = {}
    for line in out.splitlines():
        name, sep, rest = line.partition("  ")
        if sep and rest.strip().split(" ")[0] in ("PASS", "FAIL"):
            found[name.strip()] = rest.strip().split(" ")[0]
    return found


def test_a_finished_task_passes_every_check(finished: Finished, capsys: pytest.CaptureFixture[str]) -> None:
    """A task three honest nodes agreed on passes state, blobs, program, proof, quorum, seals, dissent: exit 0."""
    assert main(finished.cli("good")) == 0
    verdicts = _verdicts(capsys.readouterr().out)
    assert set(verdicts) == {"state", "manifest blob", "result blob", "program registered", "program id",
                             "manifest", "result hash", "status", "quorum", "seals", "dissent"}
    assert set(verdicts.values()) == {"PASS"}


def test_the_reveals_carry_the_salts_that_open_the_committed_seals(finished: Finished) -> None:
    """TaskMarket.reveals reads each node's seal and its salt from the reveal's calldata; each seal opens."""
    task_id = finished.tasks["good"]
    reveals = finished.market.reveals(task_id, finished.deploy_block)
    assert set(reveals) == set(finished.market.assignment(task_id))
    for node, reveal in reveals.items():
        assert reveal.salt == keccak(f"salt/{node}/{task_id}".encode())
        assert compute_seal(task_id, reveal.result_hash, reveal.status, node, reveal.salt) == reveal.seal


@pytest.mark.parametrize(("task", "failing", "needle"), [
    ("no consensus", {"state"}, "no consensus"),
    ("999", {"state"}, "no task found for id 999"),
    ("mismatch", {"program id"}, "expected 0x" + program_id("sum@1").hex()),
    ("unregistered", {"program registered"}, "'nosuch@1'"),
])
def test_a_task_whose_proof_does_not_hold_fails_the_named_check(
    finished: Finished, capsys: pytest.CaptureFixture[str], task: str, failing: set[str], needle: str
) -> None:
    """No consensus, an unknown task, a manifest of another program or an unregistered one: exit 1 naming it."""
    assert main(finished.cli(task)) == 1
    out = capsys.readouterr().out
    assert {name for name, verdict in _verdicts(out).items() if verdict == "FAIL"} == failing
    assert needle in out


def test_a_result_blob_changed_on_disk_fails_the_result_check(
    finished: Finished, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bytes changed in the stored result blob fail "result blob" (BlobCorrupted), and the hash and status
    checks that need it; the rest still pass."""
    data_dir = tmp_path / "data"
    shutil.copytree(finished.data_dir, data_dir)
    blob_id = bytes(finished.market.proof(finished.tasks["good"]).result_ref).hex()
    (path,) = (data_dir / "store").rglob(blob_id[2:])
    tampered = bytearray(path.read_bytes())
    tampered[-1] ^= 0xFF
    path.write_bytes(bytes(tampered))
    assert main(finished.cli("good", **{"--data-dir": str(data_dir)})) == 1
    out = capsys.readouterr().out
    assert {name for name, verdict in _verdicts(out).items() if verdict == "FAIL"} == {
        "result blob", "result hash", "status"}
    assert "BlobCorrupted" in out


def _forged_salt(reveals: dict[Address, Reveal], node: Address) -> dict[Address, Reveal]:
    return {**reveals, node: dataclasses.replace(reveals[node], salt=Hash32(keccak(b"forged")))}


def _other_result(reveals: dict[Address, Reveal], node: Address) -> dict[Address, Reveal]:
    return {**reveals, node: dataclasses.replace(reveals[node], result_hash=Hash32(keccak(b"other")))}


def _missing(reveals: dict[Address, Reveal], node: Address) -> dict[Address, Reveal]:
    return {other: reveal for other, reveal in reveals.items() if other != node}


@pytest.mark.parametrize(("doctor", "quorum", "failing", "needle"), [
    (_forged_salt, 2, ["seals"], "seal does not open to its reveal"),
    (_other_result, 2, ["seals"], "revealed another result"),
    (_missing, 2, ["seals"], "has no reveal"),
    (lambda reveals, node: reveals, 4, ["quorum"], "3 agreeing nodes, quorum 4"),
])
def test_a_doctored_reveal_or_a_higher_quorum_fails_the_winner_checks(
    finished: Finished, doctor: Callable[[dict[Address, Reveal], Address], dict[Address, Reveal]], quorum: int,
    failing: list[str], needle: str,
) -> None:
    """check_winners fails "seals" for a winner whose reveal does not open its seal, differs or is missing,
    and "quorum" when fewer nodes agreed than the quorum (the contract itself makes neither possible)."""
    task_id = finished.tasks["good"]
    proof = finished.market.proof(task_id)
    reveals = finished.market.reveals(task_id, finished.deploy_block)
    checks = check_winners(proof, quorum, doctor(reveals, proof.agreeing[0]))
    assert failed_checks(checks) == failing
    assert any(needle in check.detail for check in checks if not check.ok)


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


NO_CODE_ADDRESS = Web3.to_checksum_address("0x" + "11" * 20)


@pytest.mark.parametrize(("option", "value", "needle"), [
    ("--task", "0", "'0'"),
    ("--task", "two", "'two'"),
    ("--task", "-3", "'-3'"),
    ("--task", str(2**256), str(2**256)),
    ("--market", "0x12", "0x12"),
    ("--market", NO_CODE_ADDRESS, f"no contract is deployed at {NO_CODE_ADDRESS}"),
    ("--data-dir", "no/such/dir", "no/such/dir"),
    ("--rpc-url", "ftp://example.org", "ftp://example.org"),
    ("--rpc-url", "http://127.0.0.1:{port}", "no JSON-RPC endpoint answered at http://127.0.0.1:{port}"),
])
def test_bad_arguments_exit_2_with_one_line_naming_the_value(
    finished: Finished, capsys: pytest.CaptureFixture[str], option: str, value: str, needle: str
) -> None:
    """A bad task id, address, data dir or RPC URL, or one nothing answers at: exit 2, one line, no traceback."""
    port = _unused_port()
    assert main(finished.cli("good", **{option: value.format(port=port)})) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err
    assert needle.format(port=port) in captured.err


def test_a_data_dir_without_a_blob_store_is_a_bad_argument(finished: Finished, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A data dir that exists but holds no store/ exits 2 naming it, and nothing is created in it."""
    assert main(finished.cli("good", **{"--data-dir": str(tmp_path)})) == 2
    assert str(tmp_path) in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


TINY_RUN = {
    "run": {"name": "verify-run", "seed": "verify-run-1"},
    "market": {"replication": 3, "quorum": 2, "commit_window_s": 60, "reveal_window_s": 30, "time_limit_s": 30},
    "fhe": {"preset": "bfv-2048"},
    "population": {"respondents": 4, "shards": 1},
    "nodes": [{"count": 3, "capacity": 4}],
    "studies": [{"id": "tiny", "inputs_per_task": 1, "questions": [  # 4 tasks: each node commits and reveals a batch
        {"text": "How many?", "kind": "number", "min_value": 0, "max_value": 9, "programs": ["sum@1"]}]}],
}


@pytest.mark.slow
def test_every_task_of_a_real_run_verifies(run_on_devnet: Callable[[dict], Any],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A run on the session devnet (Ray actors, real nodes and clients): each of its tasks verifies, exit 0."""
    run = run_on_devnet(TINY_RUN)
    assert run.report.tasks
    capsys.readouterr()
    for task in run.report.tasks:
        assert main(run.verify_args(task.id)) == 0, capsys.readouterr().out
    market, store = TaskMarket(run.rpc_url, run.market_address), open_run_store(run.data_dir)
    from_block = run.report.chain["deploy_block"]
    assert all(check.ok for task in run.report.tasks
               for check in verify_task(market, store, TaskId(task.id), from_block))

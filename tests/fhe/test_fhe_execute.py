"""execute(): the status, outputs and result hash a compute node commits to, for good and bad tasks."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from cipherquorum.fhe import Ciphertext, Evaluator, KeyBundle, execute, get_program, result_hash
from cipherquorum.types import ZERO_HASH, ExecStatus

SUM = {"width": 2}


def test_successful_run_commits_to_the_hash_of_its_outputs(keys) -> None:
    """A good task gives SUCCESS, outputs that decrypt to the reference, and result_hash over those outputs."""
    owner = keys["bfv-2048"].owner
    inputs = [owner.encrypt(v).to_bytes() for v in ([1, 2], [30, 40], [-5, 6])]
    outcome = execute("mean@1", owner.bundle, inputs, SUM, time_limit_s=30)
    assert outcome.status == ExecStatus.SUCCESS and outcome.succeeded
    assert outcome.result_hash == result_hash(outcome.outputs) != ZERO_HASH
    assert owner.decrypt(outcome.outputs[0], 3) == [26, 48, 3]
    assert [Ciphertext.from_bytes(b) for b in outcome.output_bytes()] == list(outcome.outputs)
    assert "mean@1 on 3 inputs gave 1 outputs" in outcome.detail


def test_bundle_and_cached_evaluator_give_the_same_hash(keys) -> None:
    """Running from the bundle (keys loaded per call) and from a cached evaluator commits to the same hash."""
    owner = keys["ckks-8192"].owner
    inputs = [owner.encrypt([0.5, -0.5]).to_bytes()]
    params = {"weights": (1.0, 2.0, -1.0, 0.5), "bias": (0.1, 0.2)}
    from_bundle = execute("linear_square@1", owner.bundle, inputs, params, time_limit_s=30)
    from_cache = execute("linear_square@1", keys["ckks-8192"].evaluator, inputs, params, time_limit_s=30)
    assert from_bundle.status == from_cache.status == ExecStatus.SUCCESS
    assert from_bundle.result_hash == from_cache.result_hash


def test_another_process_commits_to_the_same_hash(keys, tmp_path) -> None:
    """A separate Python process that loads the bundle bytes computes a byte-identical result (same hash)."""
    owner = keys["ckks-8192"].owner
    params = {"weights": (0.25, -0.75, 1.0, 0.5, 0.125, -0.5), "bias": (0.1, -0.3)}
    inputs = [owner.encrypt([0.3, -0.6, 0.9]).to_bytes()]
    (tmp_path / "bundle").write_bytes(owner.bundle.to_bytes())
    (tmp_path / "input").write_bytes(inputs[0])
    script = (
        "import sys, pathlib\n"
        "from cipherquorum.fhe import KeyBundle, execute\n"
        "d = pathlib.Path(sys.argv[1])\n"
        "bundle = KeyBundle.from_bytes((d / 'bundle').read_bytes())\n"
        f"out = execute('linear_square@1', bundle, [(d / 'input').read_bytes()], {params!r}, 30)\n"
        "print(out.status.name, out.result_hash.hex())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120, check=True
    )
    here = execute("linear_square@1", owner.bundle, inputs, params, time_limit_s=30)
    assert done.stdout.split() == ["SUCCESS", here.result_hash.hex()]


CaseBuilder = Callable[[dict], tuple[str, object, list[bytes], dict]]

FAILURES: dict[str, tuple[CaseBuilder, ExecStatus, str]] = {
    "unknown program": (
        lambda k: ("nope@1", k["bfv-2048"].owner.bundle, [], {}),
        ExecStatus.PROGRAM_UNKNOWN, "No FHE program is registered as 'nope@1'",
    ),
    "garbage input": (
        lambda k: ("sum@1", k["bfv-2048"].owner.bundle, [b"\x00garbage"], {}),
        ExecStatus.INPUT_INVALID, "bytes are not a ciphertext envelope",
    ),
    "truncated envelope": (
        lambda k: ("sum@1", k["bfv-2048"].owner.bundle, [k["bfv-2048"].owner.encrypt([1]).to_bytes()[:-9]], {}),
        ExecStatus.INPUT_INVALID, "bytes are not a ciphertext envelope",
    ),
    "truncated ciphertext": (
        lambda k: ("sum@1", k["bfv-2048"].owner.bundle, [
            dataclasses.replace(k["bfv-2048"].owner.encrypt([1]), data=k["bfv-2048"].owner.encrypt([1]).data[:-8])
            .to_bytes()
        ], {}),
        ExecStatus.INPUT_INVALID, "ciphertext header says 32881 bytes (got 32873)",
    ),
    "ciphertext of another preset": (
        lambda k: ("sum@1", k["bfv-8192"].owner.bundle, [k["bfv-2048"].owner.encrypt([1]).to_bytes()], {}),
        ExecStatus.INPUT_INVALID, "ciphertext must belong to preset 'bfv-8192' (got 'bfv-2048')",
    ),
    "foreign ciphertext relabelled": (
        lambda k: ("sum@1", k["bfv-8192"].owner.bundle, [
            Ciphertext("bfv", "bfv-8192", 0, None, k["bfv-2048"].owner.encrypt([1]).data).to_bytes()
        ], {}),
        ExecStatus.INPUT_INVALID, "ciphertext degree must be n=8192 (got 2048)",
    ),
    "bad params": (
        lambda k: ("histogram@1", k["bfv-2048"].owner.bundle, [k["bfv-2048"].owner.encrypt([1]).to_bytes()],
                   {"bins": 0}),
        ExecStatus.INPUT_INVALID, '"bins" must be an int in [1, 1024]',
    ),
    "program the preset does not run": (
        lambda k: ("variance@1", k["bfv-2048"].owner.bundle, [k["bfv-2048"].owner.encrypt([1]).to_bytes()], {}),
        ExecStatus.INPUT_INVALID, "program variance@1 does not run on preset 'bfv-2048'",
    ),
    "bundle lacking a rotation key": (
        lambda k: ("weighted_score@1", k["bfv-8192"].owner.bundle, [k["bfv-8192"].owner.encrypt([1]).to_bytes()],
                   {"weights": (1,) * 9}),
        ExecStatus.INPUT_INVALID, "key bundle lacks keys weighted_score@1 needs: relin=False, rotation_steps=(8,)",
    ),
    "bundle whose public key is garbage": (
        lambda k: ("sum@1", dataclasses.replace(k["bfv-2048"].owner.bundle, public_key=b"\x00" * 64),
                   [k["bfv-2048"].owner.encrypt([1]).to_bytes()], {}),
        ExecStatus.INPUT_INVALID, "public key does not parse under the context",
    ),
    "transparent ciphertext": (
        lambda k: ("pin_challenge@1", k["bfv-8192"].owner.bundle, [_transparent(k["bfv-8192"].owner.encrypt([7]))],
                   {"a": 3, "b": 1}),
        ExecStatus.INPUT_INVALID, "ciphertext is transparent",
    ),
    "input that is a previous result": (
        lambda k: ("linear_square@1", k["ckks-8192"].owner.bundle, [_layer_output(k)],
                   {"weights": (1.0,), "bias": (0.0,)}),
        ExecStatus.INPUT_INVALID, "input 0 must be a fresh ciphertext at level 0 (got level=2)",
    ),
    "weights below the CKKS scale": (
        lambda k: ("linear_square@1", k["ckks-8192"].owner.bundle, [k["ckks-8192"].owner.encrypt([1.0]).to_bytes()],
                   {"weights": (1e-15,), "bias": (0.0,)}),
        ExecStatus.INPUT_INVALID, "non-zero at the preset's scale",
    ),
    "weights outside the plain range": (
        lambda k: ("weighted_score@1", k["bfv-8192"].owner.bundle, [k["bfv-8192"].owner.encrypt([1]).to_bytes()],
                   {"weights": (2**40,)}),
        ExecStatus.INPUT_INVALID, "weights[0] must be in [-536846336, 536846336]",
    ),
    "bad time limit": (
        lambda k: ("sum@1", k["bfv-2048"].owner.bundle, [k["bfv-2048"].owner.encrypt([1]).to_bytes()], {}, -1.0),
        ExecStatus.INPUT_INVALID, '"time_limit_s" must be a finite number > 0',
    ),
}


def _transparent(ct: Ciphertext) -> bytes:
    """The ciphertext with its mask polynomial zeroed: it parses, but it encrypts nothing."""
    mask_bytes = 8 * 8192 * 2
    return dataclasses.replace(ct, data=ct.data[:-mask_bytes] + bytes(mask_bytes)).to_bytes()


def _layer_output(keys) -> bytes:
    owner = keys["ckks-8192"].owner
    params = {"weights": (1.0,), "bias": (0.0,)}
    return execute("linear_square@1", owner.bundle, [owner.encrypt([0.5]).to_bytes()], params, 30).output_bytes()[0]


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_bad_task_gives_its_status_with_zero_hash(case: str, keys) -> None:
    """Each kind of bad task gives its status, a detail naming the problem, no outputs and ZERO_HASH."""
    build, status, message = FAILURES[case]
    ref, bundle, inputs, params, *limit = build(keys)
    outcome = execute(ref, bundle, inputs, params, time_limit_s=limit[0] if limit else 30)
    assert outcome.status == status, outcome.detail
    assert message in outcome.detail
    assert outcome.outputs == () and outcome.result_hash == ZERO_HASH


def test_time_limit_gives_timeout_and_the_process_carries_on(keys) -> None:
    """A tiny limit on a big input stops the program with TIMEOUT promptly; the same process then runs a task."""
    owner = keys["bfv-8192"].owner
    inputs = [owner.encrypt([7, 8]).to_bytes()] * 200
    started = time.monotonic()
    outcome = execute("variance@1", keys["bfv-8192"].evaluator, inputs, {"width": 2}, time_limit_s=0.05)
    assert outcome.status == ExecStatus.TIMEOUT and outcome.result_hash == ZERO_HASH
    assert "time limit of 0.05 s exceeded" in outcome.detail
    assert time.monotonic() - started < 2.0
    again = execute("variance@1", keys["bfv-8192"].evaluator, inputs[:3], {"width": 2}, time_limit_s=30)
    assert again.status == ExecStatus.SUCCESS


def test_unexpected_failure_gives_execution_error(keys, monkeypatch) -> None:
    """Anything that is not a timeout or a bad input gives EXECUTION_ERROR naming the exception."""
    program = get_program("sum@1")

    def broken(ops, inputs, params):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(type(program), "_evaluate", lambda self, ops, inputs, params: broken(ops, inputs, params))
    owner = keys["bfv-2048"].owner
    outcome = execute("sum@1", owner.bundle, [owner.encrypt([1]).to_bytes()], {}, time_limit_s=30)
    assert outcome.status == ExecStatus.EXECUTION_ERROR
    assert "RuntimeError: disk on fire" in outcome.detail and outcome.result_hash == ZERO_HASH


def test_evaluator_is_built_once_and_reused_per_bundle(keys) -> None:
    """An Evaluator loaded from bundle bytes serves many tasks (the node caches it per bundle id)."""
    owner = keys["bfv-2048"].owner
    evaluator = Evaluator.from_bundle(KeyBundle.from_bytes(owner.bundle.to_bytes()))
    for n in range(3):
        outcome = execute("sum@1", evaluator, [owner.encrypt([n]).to_bytes()] * 2, {}, time_limit_s=30)
        assert owner.decrypt(outcome.outputs[0], 1) == [2 * n]

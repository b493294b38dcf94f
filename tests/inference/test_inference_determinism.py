"""CKKS layer results are byte-identical across processes that get the same input bytes (consensus needs it)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import msgpack
import numpy as np

from cipherquorum.fhe import SecretKeyOwner, execute, result_hash
from cipherquorum.inference.model import Model
from cipherquorum.inference.packing import pack
from cipherquorum.inference.partition import PROGRAM, head_params
from cipherquorum.types import ExecStatus

REPLICA = """
import json, sys
import msgpack
from cipherquorum.fhe import KeyBundle, execute
task = msgpack.unpackb(open(sys.argv[1], "rb").read())
bundle = KeyBundle.from_bytes(task["bundle"])
outcome = execute(task["program"], bundle, task["inputs"], json.loads(task["params"]), 60.0)
print(json.dumps({"status": int(outcome.status), "hash": outcome.result_hash.hex(),
                  "first": outcome.output_bytes()[0].hex()[:64] if outcome.outputs else ""}))
"""


def test_two_replica_processes_agree_on_the_result_hash_byte_for_byte(
        tmp_path: Path, model: Model, test_values: np.ndarray, user_keys: SecretKeyOwner) -> None:
    """Two fresh Python processes run dense, square, dense on the same bytes and give the same keccak256, which
    is also this process's; different inputs give a different hash."""
    images = 4
    batch = pack(test_values[:images], images)[0]
    inputs = [user_keys.encrypt(list(row)).to_bytes() for row in batch]
    params = head_params(model, 3, images)
    task = tmp_path / "task.msgpack"
    task.write_bytes(msgpack.packb({"program": PROGRAM, "bundle": user_keys.bundle.to_bytes(), "inputs": inputs,
                                    "params": json.dumps(params)}))
    replicas = [json.loads(subprocess.run([sys.executable, "-c", REPLICA, str(task)], check=True,
                                          capture_output=True, text=True, timeout=120).stdout)
                for _ in range(2)]
    here = execute(PROGRAM, user_keys.bundle, inputs, params, 60.0)
    assert here.status is ExecStatus.SUCCESS
    assert replicas[0]["status"] == replicas[1]["status"] == int(ExecStatus.SUCCESS)
    assert replicas[0]["hash"] == replicas[1]["hash"] == bytes(here.result_hash).hex()
    assert bytes(here.result_hash) == bytes(result_hash(here.outputs))
    other = execute(PROGRAM, user_keys.bundle, [user_keys.encrypt(list(row)).to_bytes() for row in batch],
                    params, 60.0)
    assert bytes(other.result_hash) != bytes(here.result_hash)  # fresh encryptions of the same pixels differ

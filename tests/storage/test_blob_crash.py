"""A writer process killed with SIGKILL mid-write loses no acknowledged blob and leaves no partial blob visible."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from cipherquorum.storage import FileBlobStore, validate_blob_id

# The child stores random blobs (1 B to 4 MiB, singly and in batches) and prints each id once put returns.
WRITER = """
import random, sys
from cipherquorum.storage import FileBlobStore

store = FileBlobStore(sys.argv[1], max_blob_bytes=8 * 2**20)
rng = random.Random(int(sys.argv[2]))
sizes = [1, 700, 64 * 1024, 1024 * 1024, 4 * 1024 * 1024]
while True:
    if rng.random() < 0.5:
        ids = [store.put(rng.randbytes(rng.choice(sizes)))]
    else:
        ids = store.put_many([rng.randbytes(rng.choice(sizes)) for _ in range(3)])
    sys.stdout.write("".join(blob_id + "\\n" for blob_id in ids))
    sys.stdout.flush()
"""

ROUNDS = 6


def run_writer_until_killed(root: Path, seed: int, rng: random.Random) -> list[str]:
    """Start a writer, let it acknowledge some blobs, SIGKILL it at a random moment; return the ids it printed."""
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), str(seed)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert child.stdout is not None
    acknowledged: list[str] = []
    wanted = rng.randint(4, 20)
    try:
        while len(acknowledged) < wanted:
            line = child.stdout.readline()
            if not line:
                break
            acknowledged.append(line.strip())
        time.sleep(rng.uniform(0.0, 0.05))
    finally:
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, f"writer exited by itself with {child.returncode}"
    acknowledged.extend(line for line in rest.splitlines() if len(line) == 64)
    return acknowledged


def test_sigkill_during_writes_loses_no_acknowledged_blob(tmp_path: Path) -> None:
    """After repeated SIGKILLs of a writer, every printed id reads back intact and every visible blob verifies."""
    root = tmp_path / "store"
    rng = random.Random(20240611)
    acknowledged: list[str] = []
    interrupted_writes = 0
    for round_number in range(ROUNDS):
        acknowledged += run_writer_until_killed(root, seed=round_number, rng=rng)
        store = FileBlobStore(root)
        interrupted_writes += len(store.temp_files())

        for blob_id in acknowledged:
            validate_blob_id(blob_id)
        assert store.get_many(acknowledged)  # raises BlobNotFound or BlobCorrupted if any was lost

        visible = list(store.ids())
        assert set(acknowledged) <= set(visible)
        for blob_id in visible:
            store.get(blob_id)  # raises BlobCorrupted if a partial blob became visible
        assert store.stats().blobs == len(visible)
        files = [path for path in (root / "blobs").rglob("*") if path.is_file()]
        assert len([path for path in files if not path.name.startswith(".tmp-")]) == len(visible)
        store.remove_temp_files()

    assert len(acknowledged) >= ROUNDS * 4
    print(f"{len(acknowledged)} acknowledged blobs, {interrupted_writes} writes cut off by SIGKILL")

"""Measure the blob stores, the version index and the wire codec: throughput on this machine, printed as a table."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cipherquorum.storage import BlobStore, FileBlobStore, MemoryBlobStore, VersionIndex, blob_id_of
from cipherquorum.wire import Answer, TaskManifest, TaskResult, decode, encode

KIB = 1024


def timed(action: Callable[[], object], repeats: int) -> float:
    """Return the median wall time in seconds of ``repeats`` runs of ``action``."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def fresh_blobs(count: int, size: int) -> list[bytes]:
    """``count`` distinct random blobs of ``size`` bytes (distinct so that no put is deduplicated)."""
    return [os.urandom(size) for _ in range(count)]


def bench_store(name: str, make: Callable[[], BlobStore], size: int, count: int) -> list[dict]:
    """Time put one by one, put_many in one batch, and get_many with hash checks, for ``count`` blobs."""
    store = make()
    rows = []
    blobs = fresh_blobs(count, size)
    seconds = timed(lambda: [store.put(b) for b in blobs], 1)
    rows.append(row(f"{name} put x{count}", size, count, seconds))
    blobs = fresh_blobs(count, size)
    seconds = timed(lambda: store.put_many(blobs), 1)
    rows.append(row(f"{name} put_many x{count}", size, count, seconds))
    ids = [blob_id_of(b) for b in blobs]
    seconds = timed(lambda: store.get_many(ids), 3)
    rows.append(row(f"{name} get_many x{count}", size, count, seconds))
    return rows


def bench_index(root: Path, respondents: int) -> list[dict]:
    """Time one publish_many of ``respondents`` profiles, single publishes, and current() lookups."""
    rows = []
    with VersionIndex(root / "index.sqlite3") as index:
        batch = [(f"r{i}", "profile", "main", blob_id_of(str(i).encode())) for i in range(respondents)]
        seconds = timed(lambda: index.publish_many(batch), 1)
        rows.append(row(f"index publish_many x{respondents} (1 txn)", 0, respondents, seconds))
        singles = 200
        seconds = timed(lambda: [index.publish("r0", "profile", "main", batch[0][3]) for _ in range(singles)], 1)
        rows.append(row(f"index publish x{singles} (1 txn each)", 0, singles, seconds))
        lookups = min(respondents, 5000)
        seconds = timed(lambda: [index.current(f"r{i}", "profile", "main") for i in range(lookups)], 3)
        rows.append(row(f"index current x{lookups}", 0, lookups, seconds))
    return rows


def bench_wire(count: int) -> list[dict]:
    """Time encode and decode of a manifest, a result carrying 2 x 256 KiB ciphertexts, and a small answer."""
    ref = blob_id_of(b"ref")
    messages = {
        "TaskManifest (8 inputs)": TaskManifest("histogram@1", "bfv-small", ref, (ref,) * 8, {"bins": 4}, 60.0,
                                                "0x" + "a1" * 20, "study-1/q0 histogram"),
        "TaskResult (2 x 256 KiB)": TaskResult(1, "0x" + "b2" * 20, "histogram@1", 0, bytes(32),
                                               (os.urandom(256 * KIB), os.urandom(256 * KIB)), ""),
        "Answer (4 KiB)": Answer("study-1", "r-0001", 0, os.urandom(4 * KIB)),
    }
    rows = []
    for label, msg in messages.items():
        data = encode(msg)
        seconds = timed(lambda: [encode(msg) for _ in range(count)], 3)
        rows.append(row(f"encode {label}", len(data), count, seconds))
        seconds = timed(lambda: [decode(data, type(msg)) for _ in range(count)], 3)
        rows.append(row(f"decode {label}", len(data), count, seconds))
    return rows


def row(label: str, size_bytes: int, count: int, seconds: float) -> dict:
    return {
        "what": label,
        "bytes_each": size_bytes,
        "ops_per_s": count / seconds,
        "mib_per_s": size_bytes * count / seconds / 2**20,
        "seconds": seconds,
    }


def main() -> None:
    """Run every measurement and print a table; ``--json PATH`` also writes the rows as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, help="directory to write the stores in (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--quick", action="store_true", help="fewer operations, for a smoke run")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        rows: list[dict] = []
        for size, count in ((4 * KIB, 500), (64 * KIB, 200), (1024 * KIB, 40)):
            count = max(count // scale, 4)
            rows += bench_store("file+fsync", lambda: FileBlobStore(root / f"sync-{size}"), size, count)
            rows += bench_store("file-nosync", lambda: FileBlobStore(root / f"nosync-{size}", fsync=False), size, count)
            rows += bench_store("memory", MemoryBlobStore, size, count)
        rows += bench_index(root, 10_000 // scale)
        rows += bench_wire(max(2000 // scale, 10))
    print(f"{'what':<44} {'bytes each':>10} {'ops/s':>10} {'MiB/s':>9}")
    for r in rows:
        print(f"{r['what']:<44} {r['bytes_each']:>10} {r['ops_per_s']:>10.0f} {r['mib_per_s']:>9.1f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

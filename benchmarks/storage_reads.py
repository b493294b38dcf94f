"""A replica's input fetch, through the storage actor against a local read of the storage's directory, from a
Ray actor on the storage's machine (as a compute node reads).

    .venv/bin/python benchmarks/storage_reads.py [--blobs 50] [--size 33000] [--repeats 30]

Each figure is the median wall time of one get_many of every blob, every blob checked against its id. The
two alternate, so a noisy machine slows both alike.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Sequence

import ray

from cipherquorum.nodes.hosting import RayRuntime
from cipherquorum.nodes.storage_host import RemoteBlobStore
from cipherquorum.types import BlobId


@ray.remote(num_cpus=0)
class Reader:
    """Reads like a compute node: in its own process, on the storage's machine."""

    def fetch_times(self, stores: Sequence[RemoteBlobStore], ids: list[BlobId], repeats: int) -> list[list[float]]:
        for store in stores:
            store.get_many(ids)  # warm: the actor's locality answer, the page cache
        times: list[list[float]] = [[] for _ in stores]
        for _ in range(repeats):
            for index, store in enumerate(stores):
                started_s = time.perf_counter()
                store.get_many(ids)
                times[index].append(time.perf_counter() - started_s)
        return times


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blobs", type=int, default=50, help="blobs per fetch (default 50, a quickstart task's)")
    parser.add_argument("--size", type=int, default=33000, help="bytes per blob (default 33000, a bfv-2048 answer)")
    parser.add_argument("--repeats", type=int, default=30, help="fetches of each kind (default 30)")
    args = parser.parse_args(argv)
    with RayRuntime():
        store = RemoteBlobStore(tempfile.mkdtemp(prefix="cq-storage-reads-"), 2 * args.size)
        try:
            ids = store.put_many([os.urandom(args.size) for _ in range(args.blobs)])
            actor, local = store.with_local_reads(False), store
            through_actor, direct = ray.get(Reader.remote().fetch_times.remote([actor, local], ids, args.repeats))
        finally:
            store.shutdown()
    actor_ms, local_ms = 1000 * statistics.median(through_actor), 1000 * statistics.median(direct)
    print(f"get_many of {args.blobs} blobs of {args.size} bytes ({args.blobs * args.size / 1e6:.2f} MB), median of "
          f"{args.repeats}: through the actor {actor_ms:.1f} ms, read locally {local_ms:.1f} ms "
          f"({actor_ms / local_ms:.1f}x)")


if __name__ == "__main__":
    main()

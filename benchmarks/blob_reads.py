"""FileBlobStore.get against the same read with a Path built per blob (what get did before), on 50 blobs of a
replica's input size, alternating so that a noisy machine slows both alike.

    .venv/bin/python benchmarks/blob_reads.py [--blobs 50] [--size 33000] [--repeats 40]

Prints the CPU milliseconds per get of every blob (each checked against its id), median of the rounds.
"""
from __future__ import annotations

import argparse
import os
import tempfile

from cipherquorum.measurement.stats import alternating_cpu_ms
from cipherquorum.storage.blobstore import FileBlobStore
from cipherquorum.storage.ids import validate_blob_id
from cipherquorum.types import BlobId


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blobs", type=int, default=50)
    parser.add_argument("--size", type=int, default=33000)
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cq-blob-reads-") as root:
        store = FileBlobStore(root, fsync=False)
        ids = store.put_many([os.urandom(args.size) for _ in range(args.blobs)])

        def with_a_path(blob_id: BlobId) -> bytes:
            checked = validate_blob_id(blob_id)
            with open(store._blobs_dir / checked[:2] / checked[2:], "rb") as file:  # as get joined it before
                return store._verified(blob_id, file.read())

        medians = alternating_cpu_ms({"a Path per read": lambda: [with_a_path(blob_id) for blob_id in ids],
                                      "FileBlobStore.get": lambda: [store.get(blob_id) for blob_id in ids]},
                                     rounds=9, repeats=args.repeats)
        for name, median_ms in medians.items():
            print(f"{name:20} {median_ms:.3f} ms CPU per {args.blobs} blobs")
        print(f"ratio {medians['FileBlobStore.get'] / medians['a Path per read']:.3f}")


if __name__ == "__main__":
    main()

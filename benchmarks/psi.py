"""Measure PSI (psi@1) without the market: time and bytes per item at each provider size, beside CLR17.

One requester (default 256 items) against provider sets of 4,096, 16,384 and 65,536 items, labeled: the OPRF,
the encrypted query, one node's evaluation, the requester's decryption, each timed, and the bytes each way.
The intersection is checked against the plaintext one. The market's own cost (replication, consensus) is in the
report of ``cipherquorum run scenarios/psi.toml``.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass

import msgpack

from cipherquorum.fhe import Ciphertext, Evaluator, KeyBundle, execute, get_preset
from cipherquorum.fhe.programs.psi import PSI_PRESET
from cipherquorum.nodes.psi_provider import PsiProvider
from cipherquorum.nodes.psi_requester import PsiRequester
from cipherquorum.nodes.workflows.psi import CLR17_ONLINE_S, CLR17_PROVIDER_ITEMS, CLR17_REQUESTER_ITEMS
from cipherquorum.psi.data import make_data
from cipherquorum.psi.reference import plain_intersection
from cipherquorum.psi.task import PsiTask, query_digest
from cipherquorum.types import ExecStatus


@dataclass(frozen=True)
class Measured:
    """One size: seconds of each online step, bytes each way, and whether the result equals plaintext."""

    provider_items: int
    requester_items: int
    tasks: int
    bundles: int
    setup_s: float
    oprf_s: float
    query_s: float
    node_s: float
    node_cpu_s: float
    read_s: float
    online_cpu_s: float
    oprf_bytes: int
    query_bytes: int
    result_bytes: int
    params_bytes: int
    found: int
    equal: bool

    @property
    def online_s(self) -> float:
        """Requester-facing wall time: OPRF, query, one node's evaluation, decryption (``online_cpu_s``: their
        CPU time, which a loaded machine does not inflate)."""
        return self.oprf_s + self.query_s + self.node_s + self.read_s

    @property
    def online_bytes(self) -> int:
        """Bytes the requester sends and receives."""
        return self.oprf_bytes + self.query_bytes + self.result_bytes


def measure(provider_items: int, requester_items: int, args: argparse.Namespace) -> Measured:
    """Run one size end to end in this process and time each step."""
    t = int(get_preset(PSI_PRESET).plain_modulus or 0)
    data = make_data("bench", provider_items, provider_items, requester_items, args.overlap)
    start = time.perf_counter()
    provider = PsiProvider(data.provider, data.labels, b"bench-bank", t)
    published = provider.publish(args.items_per_task)
    setup_s = time.perf_counter() - start
    requester = PsiRequester(data.requester, PSI_PRESET)
    bundle = KeyBundle.from_bytes(requester.key_bundle())
    evaluator = Evaluator.from_bundle(bundle)

    start, cpu_start = time.perf_counter(), time.process_time()
    blinded = requester.blinded()
    requester.receive_oprf(provider.oprf(blinded))
    oprf_s = time.perf_counter() - start
    online_cpu_s = time.process_time() - cpu_start

    query_s = node_s = node_cpu_s = read_s = 0.0
    query_bytes = result_bytes = params_bytes = bundles = 0
    found: dict[int, int | None] = {}
    for share in published:
        start, cpu_start = time.perf_counter(), time.process_time()
        query = requester.query(share.salt, args.part_size, args.window_bits)
        query_s += time.perf_counter() - start
        online_cpu_s += time.process_time() - cpu_start
        digest = query_digest([Ciphertext.from_bytes(blob).data for blob in query])
        params = PsiTask(share.items, share.labels, args.part_size, args.window_bits, args.max_bundles,
                         digest).to_params()
        start, start_cpu = time.perf_counter(), time.process_time()
        outcome = execute("psi@1", evaluator, query, params, 600)
        node_s += time.perf_counter() - start
        node_cpu_s += time.process_time() - start_cpu
        if outcome.status is not ExecStatus.SUCCESS:
            raise SystemExit(f"psi@1 failed at {provider_items} items: {outcome.detail}")
        outputs = outcome.output_bytes()
        start, cpu_start = time.perf_counter(), time.process_time()
        for item, label in requester.read(share.salt, outputs, True).items():
            found.setdefault(item, label)
        read_s += time.perf_counter() - start
        online_cpu_s += time.process_time() - cpu_start
        query_bytes += sum(len(blob) for blob in query)
        result_bytes += sum(len(blob) for blob in outputs)
        params_bytes += len(msgpack.packb(params))
        bundles += len(outputs) // 2
    expected = plain_intersection(data.requester, data.provider, data.labels)
    return Measured(provider_items, requester_items, len(published), bundles, setup_s, oprf_s, query_s, node_s,
                    node_cpu_s, read_s, online_cpu_s + node_cpu_s, 2 * sum(len(p) for p in blinded), query_bytes,
                    result_bytes, params_bytes, len(found), found == expected)


def main() -> None:
    """Parse the sizes, measure each, print a table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requester-items", type=int, default=256)
    parser.add_argument("--provider-items", type=int, nargs="+", default=[4096, 16384, 65536])
    parser.add_argument("--overlap", type=float, default=0.25)
    parser.add_argument("--part-size", type=int, default=16)
    parser.add_argument("--window-bits", type=int, default=2)
    parser.add_argument("--max-bundles", type=int, default=16)
    parser.add_argument("--items-per-task", type=int, default=65536)
    parser.add_argument("--json", help="also write the measurements to this file")
    args = parser.parse_args()
    results = [measure(size, args.requester_items, args) for size in args.provider_items]
    clr_ms = CLR17_ONLINE_S / CLR17_REQUESTER_ITEMS * 1e3
    clr_ns = CLR17_ONLINE_S / (CLR17_REQUESTER_ITEMS * CLR17_PROVIDER_ITEMS) * 1e9
    header = ("provider", "tasks", "bundles", "equal", "setup_s", "oprf_s", "query_s", "node_s", "node_cpu_s",
              "read_s", "online_s", "online_cpu_s", "cpu ms/req item", "cpu ns/pair", "up_MB", "down_MB",
              "kB/req item", "B/prov item")
    rows = []
    for m in results:
        pairs = m.requester_items * m.provider_items
        rows.append((f"{m.provider_items:,}", str(m.tasks), str(m.bundles), "yes" if m.equal else "NO",
                     f"{m.setup_s:.2f}", f"{m.oprf_s:.2f}", f"{m.query_s:.2f}", f"{m.node_s:.2f}",
                     f"{m.node_cpu_s:.2f}", f"{m.read_s:.2f}", f"{m.online_s:.2f}", f"{m.online_cpu_s:.2f}",
                     f"{m.online_cpu_s / m.requester_items * 1e3:.2f}", f"{m.online_cpu_s / pairs * 1e9:.1f}",
                     f"{(m.oprf_bytes / 2 + m.query_bytes) / 1e6:.2f}",
                     f"{(m.oprf_bytes / 2 + m.result_bytes) / 1e6:.2f}",
                     f"{m.online_bytes / m.requester_items / 1e3:.1f}", f"{m.params_bytes / m.provider_items:.1f}"))
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))
    print(f"CLR17 (5,000 x 16M, 36 s online, one thread): {clr_ms:.1f} ms per requester item, "
          f"{clr_ns:.2f} ns per item pair")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"results": [{**asdict(m), "online_s": m.online_s, "online_bytes": m.online_bytes}
                                   for m in results], "clr17_ms_per_requester_item": clr_ms,
                       "clr17_ns_per_pair": clr_ns}, out, indent=2)
    if not all(m.equal for m in results):
        raise SystemExit("an intersection differs from the plaintext one")


if __name__ == "__main__":
    main()

"""The PSI workflow (seed 004): a requester's encrypted items against a provider's set, evaluated on the market."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import msgpack

from cipherquorum.fhe import Ciphertext, get_preset
from cipherquorum.fhe.programs.psi import PSI_PRESET
from cipherquorum.nodes.client import TaskOutcome, TaskSpec
from cipherquorum.nodes.psi_provider import PsiProvider
from cipherquorum.nodes.psi_requester import PsiRequester
from cipherquorum.nodes.workflows.context import WorkflowContext
from cipherquorum.psi.data import INCOME_CLASSES, make_data
from cipherquorum.psi.published import PublishedSet
from cipherquorum.psi.reference import plain_intersection
from cipherquorum.psi.settings import PsiRound, PsiSettings
from cipherquorum.psi.task import PsiTask, query_digest
from cipherquorum.reports.run import WorkflowSection, text_table
from cipherquorum.types import ExecStatus

CLR17_ONLINE_S = 36.0
CLR17_REQUESTER_ITEMS = 5000
CLR17_PROVIDER_ITEMS = 2**24
"""Chen, Laine and Rindal (CCS 2017), Table 2: 5,000 items against 16 million, 36 s online (one thread)."""


@dataclass(frozen=True)
class RoundResult:
    """What one round measured and found (JSON-ready)."""

    provider_items: int
    requester_items: int
    labeled: bool
    tasks: int
    bundles_per_task: list[int]
    found: int
    expected: int
    labels_equal: bool
    ok: bool
    oprf_s: float
    query_s: float
    market_s: float
    read_s: float
    oprf_bytes: int
    query_bytes: int
    params_bytes: int
    result_bytes: int
    winners: list[int]
    proof_blocks: list[int]
    intersection: dict[str, str | None]
    reference: dict[str, str | None]

    @property
    def online_s(self) -> float:
        """The query's time from blinding to the decrypted intersection."""
        return self.oprf_s + self.query_s + self.market_s + self.read_s

    @property
    def online_bytes(self) -> int:
        """Bytes the requester sends and receives (OPRF, query, results)."""
        return self.oprf_bytes + self.query_bytes + self.result_bytes


def _run_round(settings: PsiSettings, context: WorkflowContext, index: int, spec: PsiRound) -> RoundResult:
    t = int(get_preset(PSI_PRESET).plain_modulus or 0)
    data = make_data(context.seed, index, spec.provider_items, settings.requester_items, settings.overlap)
    labels = data.labels if spec.labeled else None
    provider = context.host(PsiProvider, data.provider, labels, f"{context.seed}/psi/{index}".encode(), t,
                            name=f"psi-provider-{index}", title=f"PSI provider {index}")
    requester = context.host(PsiRequester, data.requester, PSI_PRESET, name=f"psi-requester-{index}",
                             title=f"PSI requester {index}")
    published: list[PublishedSet] = provider.call("publish", settings.items_per_task, timeout_s=600)
    store = context.stack.store
    bundle_ref = store.put(requester.call("key_bundle"))

    start_s = time.monotonic()
    blinded = requester.call("blinded")
    requester.call("receive_oprf", provider.call("oprf", blinded))
    oprf_s = time.monotonic() - start_s
    oprf_bytes = 2 * sum(len(point) for point in blinded)

    start_s = time.monotonic()
    specs, query_bytes, params_bytes = [], 0, 0
    for part, share in enumerate(published):
        query = requester.call("query", share.salt, settings.part_size, settings.window_bits)
        refs = store.put_many(list(query))
        digest = query_digest([Ciphertext.from_bytes(data).data for data in query])
        task = PsiTask(share.items, share.labels, settings.part_size, settings.window_bits, settings.max_bundles,
                       digest)
        params = task.to_params()
        query_bytes += sum(len(data) for data in query)
        params_bytes += len(msgpack.packb(params))
        specs.append(TaskSpec(label=f"psi-{spec.provider_items}-{part}", program="psi@1", input_refs=tuple(refs),
                              params=params, key_bundle_ref=bundle_ref, preset=PSI_PRESET,
                              time_limit_s=settings.time_limit_s))
    query_s = time.monotonic() - start_s

    start_s = time.monotonic()
    outcomes: list[TaskOutcome] = context.run_tasks(context.clients[0], specs)
    market_s = time.monotonic() - start_s

    start_s = time.monotonic()
    found: dict[int, int | None] = {}
    delivered = all(o.proof_verified and o.status is ExecStatus.SUCCESS and o.outputs for o in outcomes)
    if delivered:
        for share, outcome in zip(published, outcomes):
            for item, label in requester.call("read", share.salt, outcome.outputs, spec.labeled).items():
                found.setdefault(item, label)
    read_s = time.monotonic() - start_s

    expected = plain_intersection(data.requester, data.provider, labels)
    names: dict[int | None, str | None] = {None: None, **dict(enumerate(INCOME_CLASSES))}
    return RoundResult(
        provider_items=spec.provider_items, requester_items=settings.requester_items, labeled=spec.labeled,
        tasks=len(specs), bundles_per_task=[len(o.outputs) // (2 if spec.labeled else 1) for o in outcomes],
        found=len(found), expected=len(expected),
        labels_equal=found == expected, ok=delivered and found == expected,
        oprf_s=oprf_s, query_s=query_s, market_s=market_s, read_s=read_s, oprf_bytes=oprf_bytes,
        query_bytes=query_bytes, params_bytes=params_bytes,
        result_bytes=sum(len(blob) for outcome in outcomes for blob in outcome.outputs),
        winners=[len(o.winners) for o in outcomes], proof_blocks=[o.proof_block for o in outcomes],
        intersection={data.requester[i]: names.get(label) for i, label in sorted(found.items())},
        reference={data.requester[i]: names.get(label) for i, label in sorted(expected.items())})


def drive(settings: PsiSettings, context: WorkflowContext) -> WorkflowSection:
    """Run every round: OPRF, encrypted query, replicated psi@1 tasks, decryption, check against plaintext."""
    results = [_run_round(settings, context, index, spec) for index, spec in enumerate(settings.rounds)]
    clr_per_requester_ms = CLR17_ONLINE_S / CLR17_REQUESTER_ITEMS * 1e3
    clr_per_pair_ns = CLR17_ONLINE_S / (CLR17_REQUESTER_ITEMS * CLR17_PROVIDER_ITEMS) * 1e9
    rows = []
    for r in results:
        pairs = r.requester_items * r.provider_items
        rows.append([f"{r.provider_items:,}", "yes" if r.labeled else "no", str(r.tasks),
                     f"{r.found}/{r.expected}", "yes" if r.ok else "NO", f"{r.online_s:.2f}",
                     f"{r.market_s:.2f}", f"{r.online_s / r.requester_items * 1e3:.1f}",
                     f"{r.online_s / pairs * 1e9:.1f}", f"{r.online_bytes / 1e6:.1f}",
                     f"{r.online_bytes / r.requester_items / 1e3:.1f}", f"{r.params_bytes / r.provider_items:.1f}"])
    text = text_table(
        f"Private set intersection ({results[0].requester_items if results else 0} requester items; CLR17: "
        f"{clr_per_requester_ms:.1f} ms per requester item, {clr_per_pair_ns:.2f} ns per item pair online)",
        ["provider", "labeled", "tasks", "found/plain", "equal", "online_s", "market_s", "ms/req item",
         "ns/pair", "online_MB", "kB/req item", "B/prov item"], rows)
    data = {"rounds": [{**asdict(r), "online_s": r.online_s, "online_bytes": r.online_bytes} for r in results],
            "clr17": {"online_s": CLR17_ONLINE_S, "requester_items": CLR17_REQUESTER_ITEMS,
                      "provider_items": CLR17_PROVIDER_ITEMS, "ms_per_requester_item": clr_per_requester_ms,
                      "ns_per_pair": clr_per_pair_ns}}
    return WorkflowSection("psi", bool(results) and all(r.ok for r in results), data, "\n".join(text))

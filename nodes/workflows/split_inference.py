"""The split-inference workflow (seed 003): the model owner publishes, data users run k layers on the market."""
from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from cipherquorum.fhe import Evaluator, KeyBundle, execute, get_preset, get_program
from cipherquorum.inference.data import PIXEL_MAX, load_split, validate_images
from cipherquorum.inference.figures import reconstruction_svg
from cipherquorum.inference.leakage import LeakageResult, score_rebuild
from cipherquorum.inference.model import Model
from cipherquorum.inference.partition import PRESET, PROGRAM, head_params
from cipherquorum.inference.report import AccuracyRow, LayerTiming, SplitReport, TaskRow
from cipherquorum.inference.repository import ModelRepository, PublishedModel
from cipherquorum.inference.settings import SplitInferenceSettings
from cipherquorum.inference.train import TrainingConfig
from cipherquorum.nodes.client import TaskOutcome
from cipherquorum.nodes.data_user import DataUser, EncryptedImages
from cipherquorum.nodes.hosting import ActorHost
from cipherquorum.nodes.model_owner import ModelOwner
from cipherquorum.nodes.workflows.context import WorkflowContext
from cipherquorum.reports.probes import Probe, run_probes
from cipherquorum.reports.run import WorkflowSection
from cipherquorum.types import ExecStatus

FOREIGN_PRESET = "ckks-8192"
"""The parameters the wrong-parameter probe encrypts under (the user's bundle is ckks-8192-l3)."""
PLAIN_REPEATS = 200
"""Plaintext passes of a layer averaged for its plaintext time (one pass takes microseconds)."""


def drive(settings: SplitInferenceSettings, context: WorkflowContext) -> WorkflowSection:
    """Train and publish the model, send each user's images through every k on the market, finish them at the
    model owner, and measure accuracy, leakage and time; return the report section."""
    store = context.stack.store
    config = TrainingConfig(hidden=settings.hidden, epochs=settings.epochs)
    owner = context.host(ModelOwner, settings.model_owner, store, settings.model, config, name="model-owner",
                         title="the model owner")
    owner.call("publish", timeout_s=300)
    repository = ModelRepository(store)
    published = repository.load(settings.model_owner, settings.model, settings.model_version or None)
    split = load_split()
    test_values, train_values = validate_images(split.test_images), validate_images(split.train_images)
    users = [context.host(DataUser, f"user-{u}", store, settings.model_owner, settings.model, published.version,
                          name=f"data-user-{u}", title=f"data user {u}") for u in range(settings.users)]
    per_user = settings.images_per_user
    images = [split.test_images[u * per_user:(u + 1) * per_user] for u in range(settings.users)]
    encrypted: list[EncryptedImages] = _each(users, lambda u, user: user.call("encrypt_images", images[u],
                                                                              timeout_s=600))
    specs = [[user.call("task_spec", encrypted[u], k, f"user-{u}/k={k}") for k in settings.ks]
             for u, user in enumerate(users)]
    expected = [["SUCCESS"] * len(settings.ks) for _ in users]
    probes: list[Probe] = []
    if settings.bad_inputs:
        specs[0].append(users[0].call("foreign_task_spec", images[0][:4], FOREIGN_PRESET, "user-0/foreign-params"))
        expected[0].append("INPUT_INVALID")
    outcomes = _each(users, lambda u, _user: context.run_tasks(context.clients[u], specs[u]))
    tasks = [_task_row(o, e) for u in range(len(users)) for o, e in zip(outcomes[u], expected[u])]
    if settings.bad_inputs:
        probes = _probe_locally(users[0], encrypted[0], repository, settings, published)
        foreign = outcomes[0][-1]
        probes.append(Probe(f"ciphertexts under {FOREIGN_PRESET}, task under {PRESET}", "INPUT_INVALID",
                               _status_name(foreign)))
    if settings.oversized_batches:
        slots = get_preset(PRESET).slots
        label = f"user-0/oversized x{settings.oversized_batches}"
        spec = users[0].call("task_spec", encrypted[0], max(settings.ks), label,
                             repeat=settings.oversized_batches, images_per_ciphertext=slots,
                             time_limit_s=settings.time_limit_s or None)
        (late,) = context.run_tasks(context.clients[0], [spec])
        tasks.append(_task_row(late, "TIMEOUT"))
    report = _measure(settings, context, owner, users, encrypted, outcomes, published.model, published,
                      test_values, train_values, split.test_labels, tasks, probes)
    return WorkflowSection(settings.section, report.ok, report.data(), report.text())


def _each(users: list[ActorHost[DataUser]], work: Callable[[int, ActorHost[DataUser]], Any]) -> list[Any]:
    """``work(u, user)`` for every user at once (their actors and market accounts are separate)."""
    with ThreadPoolExecutor(max_workers=max(1, len(users))) as pool:
        return list(pool.map(lambda pair: work(*pair), enumerate(users)))


def _status_name(outcome: TaskOutcome) -> str:
    return outcome.status.name if outcome.status is not None else outcome.state.name


def _task_row(outcome: TaskOutcome, expected: str) -> TaskRow:
    return TaskRow(int(outcome.task_id), outcome.label, _status_name(outcome), outcome.proof_verified,
                   len(outcome.winners), outcome.proof_block, outcome.result_hash, outcome.latency_s, expected)


def _probe_locally(user: ActorHost[DataUser], encrypted: EncryptedImages, repository: ModelRepository,
                   settings: SplitInferenceSettings, published: PublishedModel) -> list[Probe]:
    """The bad inputs refused before any task: an image of the wrong shape or range, k outside the model's
    layers, and a model version that does not exist."""
    wrong_range = np.zeros((2, 64))
    wrong_range[1, 9] = PIXEL_MAX + 1
    cases: list[tuple[str, str, Callable[[], object]]] = [
        ("image of shape 8x7", "ImageError", lambda: user.call("encrypt_images", np.zeros((1, 8, 7)))),
        ("pixel 17 (range 0..16)", "ImageError", lambda: user.call("encrypt_images", wrong_range)),
        ("k = 0", "LayerRangeError", lambda: user.call("task_spec", encrypted, 0, "bad-k")),
        (f"k = {published.model.depth + 1}", "LayerRangeError",
         lambda: user.call("task_spec", encrypted, published.model.depth + 1, "bad-k")),
        (f"model version {published.version + 100}", "ModelVersionNotFound",
         lambda: repository.load(settings.model_owner, settings.model, published.version + 100)),
    ]
    return run_probes(cases)


def _measure(settings: SplitInferenceSettings, context: WorkflowContext, owner: ActorHost[ModelOwner],
             users: list[ActorHost[DataUser]], encrypted: list[EncryptedImages], outcomes: list[list[TaskOutcome]],
             model: Model, published: PublishedModel, test_values: np.ndarray, train_values: np.ndarray,
             labels: np.ndarray, tasks: list[TaskRow], probes: list[Probe]) -> SplitReport:
    """Decrypt, finish at the owner, and compare with the plaintext model; attack each k; time the layers."""
    count = settings.images
    values, truth_labels = test_values[:count], labels[:count]
    plain_classes = model.predict(values)
    tolerance = get_program(PROGRAM).abs_tolerance
    accuracy: list[AccuracyRow] = []
    leakage: list[LeakageResult] = []
    rebuilt_rows: list[tuple[str, np.ndarray]] = []
    problems: list[str] = []
    for index, k in enumerate(settings.ks):
        parts = []
        for u, user in enumerate(users):
            outcome = outcomes[u][index]
            if outcome.status is not ExecStatus.SUCCESS or not outcome.proof_verified:
                problems.append(f"task {outcome.label} ended {_status_name(outcome)}: {outcome.detail}")
                break
            parts.append(user.call("decrypt", list(outcome.outputs), k, encrypted[u].images, timeout_s=300))
        if len(parts) != len(users):
            continue
        intermediate = np.concatenate(parts)
        classes = owner.call("finish", published.version, k, intermediate, timeout_s=300)
        reference = model.run(values, 0, k)
        accuracy.append(AccuracyRow(k, count, float(np.mean(classes == plain_classes)),
                                    float(np.mean(classes == truth_labels)),
                                    float(np.mean(plain_classes == truth_labels)),
                                    float(np.abs(intermediate - reference).max()), tolerance))
        rebuilt, pinv = owner.call("rebuild", published.version, k, intermediate, timeout_s=300)
        leakage.append(score_rebuild(k, rebuilt, values, train_values, pinv))
        rebuilt_rows.append((f"rebuilt from k={k}", rebuilt[:settings.reconstructions]))
    svg_path = ""
    if settings.reconstructions and rebuilt_rows:
        path = Path(context.data_dir) / "reconstructions.svg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(reconstruction_svg(values[:settings.reconstructions] * PIXEL_MAX, rebuilt_rows,
                                           "Held-out digits and the model owner's least-squares rebuilds"))
        svg_path = str(path)
    layers, heads = _time_layers(context, users[0], encrypted[0], model, values[:encrypted[0].images])
    shapes = " -> ".join([str(model.in_width)] + [f"{layer.kind} {layer.out_width}" for layer in model.layers])
    summary = {"name": model.name, "owner": published.card.owner, "version": published.version,
               "card_ref": published.card_ref, "layer_refs": list(published.card.layer_refs), "shapes": shapes,
               "test_accuracy": published.card.test_accuracy, "preset": PRESET, "program": PROGRAM,
               "users": settings.users, "images_per_user": settings.images_per_user}
    return SplitReport(summary, accuracy, leakage, layers, heads, tasks, probes, svg_path, problems)


def _time_layers(context: WorkflowContext, user: ActorHost[DataUser], encrypted: EncryptedImages, model: Model,
                 values: np.ndarray) -> tuple[list[LayerTiming], list[dict[str, float]]]:
    """Run the first k layers here, as one node would, for every k on the first user's batch: each layer's FHE
    time is the first k minus the first k - 1; its plaintext time is that layer alone in numpy on its inputs."""
    store = context.stack.store
    bundle_ref = user.call("task_spec", encrypted, 1, "timing").key_bundle_ref
    evaluator = Evaluator.from_bundle(KeyBundle.from_bytes(store.get(bundle_ref)))
    inputs = store.get_many(list(encrypted.input_refs[:model.in_width]))
    plain_s = [_plain_layer_s(model, index, values) for index in range(model.depth)]
    heads: list[dict[str, float]] = []
    for k in range(1, model.depth + 1):
        started_s = time.perf_counter()
        outcome = execute(PROGRAM, evaluator, inputs, head_params(model, k, encrypted.images_per_ciphertext), 600.0)
        fhe_s = time.perf_counter() - started_s
        if outcome.status is not ExecStatus.SUCCESS:
            break
        heads.append({"k": k, "images": len(values), "fhe_s": fhe_s, "plain_s": sum(plain_s[:k])})
    layers = []
    for index, head in enumerate(heads):
        layer = model.layers[index]
        before_s = heads[index - 1]["fhe_s"] if index else 0.0
        layers.append(LayerTiming(index + 1, layer.kind, f"{layer.in_width} -> {layer.out_width}",
                                  max(0.0, head["fhe_s"] - before_s), plain_s[index]))
    return layers, heads


def _plain_layer_s(model: Model, index: int, values: np.ndarray) -> float:
    """Seconds layer ``index`` takes in numpy on its own inputs, the mean of PLAIN_REPEATS passes."""
    inputs = model.run(values, 0, index)
    started_s = time.perf_counter()
    for _ in range(PLAIN_REPEATS):
        model.layers[index].apply(inputs)
    return (time.perf_counter() - started_s) / PLAIN_REPEATS

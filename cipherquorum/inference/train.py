"""Training the digits model in numpy: 64 -> hidden dense, square activation, hidden -> 10 dense."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cipherquorum.inference.model import Layer, Model

CLASSES = 10


@dataclass(frozen=True)
class TrainingConfig:
    """Hidden width, epochs of mini-batch Adam, learning rate, batch size, L2 weight and the seed."""

    hidden: int = 32
    epochs: int = 60
    learning_rate: float = 0.01
    batch_size: int = 64
    l2: float = 1e-4
    seed: int = 0


def train_model(images: np.ndarray, labels: np.ndarray, name: str = "digits-mlp",
                config: TrainingConfig = TrainingConfig()) -> Model:
    """Return a model trained on ``images`` (count x 64, scaled to [0, 1]) and ``labels`` (0..9) with softmax
    cross-entropy; deterministic for the same data and config."""
    rng = np.random.default_rng(config.seed)
    d, h = images.shape[1], config.hidden
    params = {
        "w1": rng.normal(0.0, 1.0 / np.sqrt(d), (h, d)), "b1": np.zeros(h),
        "w2": rng.normal(0.0, 1.0 / np.sqrt(h), (CLASSES, h)), "b2": np.zeros(CLASSES),
    }
    moments = {key: (np.zeros_like(value), np.zeros_like(value)) for key, value in params.items()}
    onehot = np.eye(CLASSES)[labels]
    step = 0
    for _ in range(config.epochs):
        order = rng.permutation(len(images))
        for start in range(0, len(order), config.batch_size):
            batch = order[start:start + config.batch_size]
            grads = _gradients(params, images[batch], onehot[batch], config.l2)
            step += 1
            for key, grad in grads.items():
                m, v = moments[key]
                m[:] = 0.9 * m + 0.1 * grad
                v[:] = 0.999 * v + 0.001 * grad * grad
                m_hat, v_hat = m / (1 - 0.9**step), v / (1 - 0.999**step)
                params[key] -= config.learning_rate * m_hat / (np.sqrt(v_hat) + 1e-8)
    return Model(name, (Layer.dense(params["w1"], params["b1"]), Layer.square(h),
                        Layer.dense(params["w2"], params["b2"])))


def _gradients(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, l2: float) -> dict[str, np.ndarray]:
    z1 = x @ params["w1"].T + params["b1"]
    a1 = z1 * z1
    logits = a1 @ params["w2"].T + params["b2"]
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    d_logits = (probs - y) / len(x)
    d_a1 = d_logits @ params["w2"]
    d_z1 = d_a1 * 2 * z1
    return {
        "w2": d_logits.T @ a1 + l2 * params["w2"], "b2": d_logits.sum(axis=0),
        "w1": d_z1.T @ x + l2 * params["w1"], "b1": d_z1.sum(axis=0),
    }

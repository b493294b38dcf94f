"""The [split_inference] scenario section: users, images per user, the values of k, the model owner, the limits."""
from __future__ import annotations

from dataclasses import dataclass

from cipherquorum.inference.data import TEST_FRACTION
from cipherquorum.settings.toml import TableReader

SECTION = "split_inference"
TEST_IMAGES = 540
"""Held-out digits in the fixed split (30% of 1,797, stratified)."""
MAX_K = 3
"""Layers of the digits model: dense 64 -> hidden, square, dense hidden -> 10."""


@dataclass(frozen=True)
class SplitInferenceSettings:
    """One split-inference workflow.

    ``users`` data users (one market account each) split the held-out test images, ``images_per_user`` each,
    and run each k of ``ks`` (the initial layers computed under FHE). ``model_owner`` trains a model of
    ``hidden`` units named ``model``; users ask for its ``model_version`` (0: the current one).
    ``oversized_batches`` > 0 adds one task of that many packed batches (4096 image slots each, the first
    user's batch sent again) meant to run past ``time_limit_s`` (0: the market's) and end TIMEOUT.
    ``bad_inputs`` adds the bad-input probes: a wrong image, a k outside the model, a version that does not
    exist, and a task of ciphertexts under other CKKS parameters (agreed INPUT_INVALID). ``reconstructions``
    images are drawn beside their rebuilds in the SVG written next to the report.
    """

    section: str
    users: int
    images_per_user: int
    ks: tuple[int, ...]
    model_owner: str
    model: str
    hidden: int
    epochs: int
    model_version: int
    oversized_batches: int
    time_limit_s: float
    bad_inputs: bool
    reconstructions: int

    @property
    def clients(self) -> int:
        """One market account per data user."""
        return self.users

    @property
    def images(self) -> int:
        """Test images the users send in all."""
        return self.users * self.images_per_user


def read_settings(reader: TableReader) -> SplitInferenceSettings:
    """Read the [split_inference] table; raises ScenarioError naming the field and the value."""
    users = reader.integer("users", 2, minimum=1, maximum=64)
    per_user = reader.integer("images_per_user", 270, minimum=1, maximum=TEST_IMAGES)
    if users * per_user > TEST_IMAGES:
        raise reader.error(f"users x images_per_user must be <= {TEST_IMAGES} held-out images "
                           f"({TEST_FRACTION:.0%} of the digits) (got {users} x {per_user})", "images_per_user")
    ks_raw = reader.integers("ks", (1, 2, 3), minimum=1, maximum=MAX_K)
    if not ks_raw or len(set(ks_raw)) != len(ks_raw):
        raise reader.error(f"must be distinct ints in [1, {MAX_K}] (got {ks_raw!r:.80})", "ks")
    settings = SplitInferenceSettings(
        section=SECTION,
        users=users,
        images_per_user=per_user,
        ks=tuple(ks_raw),
        model_owner=reader.string("model_owner", "digits-lab"),
        model=reader.string("model", "digits-mlp"),
        hidden=reader.integer("hidden", 32, minimum=1, maximum=256),
        epochs=reader.integer("epochs", 60, minimum=1, maximum=10_000),
        model_version=reader.integer("model_version", 0, minimum=0),
        oversized_batches=reader.integer("oversized_batches", 0, minimum=0, maximum=64),
        time_limit_s=reader.number("time_limit_s", 0.0),
        bad_inputs=reader.boolean("bad_inputs", True),
        reconstructions=reader.integer("reconstructions", 6, minimum=0, maximum=32),
    )
    if settings.time_limit_s < 0:
        raise reader.error(f"must be >= 0 (got {settings.time_limit_s})", "time_limit_s")
    reader.finish()
    return settings

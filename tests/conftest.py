"""Fixtures shared across test folders: one local Ray for the whole session."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from cipherquorum.nodes.hosting import RayRuntime


@pytest.fixture(scope="session")
def ray_runtime() -> Iterator[RayRuntime]:
    """A local Ray started once for every test that hosts roles as actors."""
    runtime = RayRuntime()
    runtime.start()
    yield runtime
    runtime.shutdown()

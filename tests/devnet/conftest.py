"""Fixtures for the devnet tests: a devnet in a child process, for requests that might crash it.

- ``child_devnet``: a ChildDevnet (tests/devnet/devnet_child.py) for the module; its log file counts tracebacks.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing

import pytest
from devnet_child import ChildDevnet


@pytest.fixture(scope="module")
def child_devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChildDevnet]:
    """A devnet served from its own process for this module, logging to a file of its own."""
    with closing(ChildDevnet(tmp_path_factory.mktemp("child-devnet") / "devnet.log")) as child:
        yield child

"""Scenario sections of the seeds' workflows: which top-level table each workflow reads, and its settings' shape."""
from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from cipherquorum.exceptions import ScenarioError
from cipherquorum.settings.toml import TableReader

SECTION_READERS: dict[str, str] = {
    "joint_stats": "cipherquorum.joint.settings:read_joint_stats",
    "federated": "cipherquorum.joint.settings:read_federated",
    "market_study": "cipherquorum.marketstudy.settings:read_settings",
    "psi": "cipherquorum.psi.settings:read_settings",
    "split_inference": "cipherquorum.inference.settings:read_settings",
}
"""Each workflow's top-level table name, to the reader of its settings as a lazy "module:function" path.

A reader takes the section's ``TableReader``, returns the workflow's frozen settings (``WorkflowSettings``) and
calls ``reader.finish()`` so an unknown key is refused.
"""


@runtime_checkable
class WorkflowSettings(Protocol):
    """What the run needs to know of any workflow's settings."""

    @property
    def section(self) -> str:
        """The top-level table the settings came from ("split_inference", "psi", ...)."""

    @property
    def clients(self) -> int:
        """How many market accounts the workflow creates tasks from (each funded by the run)."""


def import_path(path: str, what: str) -> Any:
    """Return the object a "module:attribute" path names; raises ScenarioError naming ``what`` if it cannot load."""
    module_name, _, attribute = path.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ScenarioError(f"{what} ({path}) cannot be loaded: {exc}") from exc


def section_reader(section: str) -> Callable[[TableReader], WorkflowSettings]:
    """Return the reader registered for ``section``; raises ScenarioError if none is, or it cannot be imported."""
    path = SECTION_READERS.get(section)
    if path is None:
        raise ScenarioError(f"No workflow reads a [{section}] section (known: {', '.join(sorted(SECTION_READERS))})")
    return import_path(path, f"the reader of [{section}]")


def read_workflows(top: TableReader, document: Mapping[str, object]) -> tuple[WorkflowSettings, ...]:
    """Read every workflow section present in ``document``, in file order; raises ScenarioError naming the
    section and field, or a reader whose settings lack ``section`` or ``clients``."""
    found = []
    for name in document:
        if name not in SECTION_READERS:
            continue
        settings = top.section(name, section_reader(name))
        if not isinstance(settings, WorkflowSettings) or settings.section != name:
            raise top.error(f"the reader of [{name}] returned {type(settings).__name__}, which does not name its "
                            f"section {name!r} and its client count", name)
        if isinstance(settings.clients, bool) or not isinstance(settings.clients, int) or settings.clients < 0:
            raise top.error(f"a workflow needs a client count >= 0 (got clients={settings.clients!r})", name)
        found.append(settings)
    return tuple(found)

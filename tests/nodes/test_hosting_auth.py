"""A local Ray keeps token authentication on, and only Ray's notice that it did so is kept off the output."""
from __future__ import annotations

import logging
import os

import pytest

from cipherquorum.nodes.hosting import RAY_TOKEN_LOGGER, RayRuntime, _token_notice_muted


def test_the_local_ray_runs_with_token_authentication(ray_runtime: RayRuntime) -> None:
    """The session's local Ray was started by RayRuntime with the notice muted, and token authentication is on."""
    assert os.environ.get("RAY_AUTH_MODE") == "token"


def test_only_the_token_notice_is_muted_and_only_while_ray_starts(caplog: pytest.LogCaptureFixture) -> None:
    """Ray's other messages on that logger pass, and after the start the notice passes too."""
    token_logger = logging.getLogger(RAY_TOKEN_LOGGER)
    notice = "Token authentication is enabled for this Ray cluster. Set RAY_AUTH_MODE=disabled to opt out."
    other = "Token authentication is disabled for this Ray cluster."
    with caplog.at_level(logging.WARNING, logger=RAY_TOKEN_LOGGER):
        with _token_notice_muted():
            token_logger.warning(notice)
            token_logger.warning(other)
        assert [r.getMessage() for r in caplog.records] == [other]
        token_logger.warning(notice)
        assert [r.getMessage() for r in caplog.records] == [other, notice]

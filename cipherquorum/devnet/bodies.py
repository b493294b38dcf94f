"""Inbound JSON-RPC bodies: UTF-8 JSON whose nesting depth is bounded before it is parsed.

py-evm and py_ecc raise the recursion limit to 100,000 at import, so ``json.loads`` of a body nested that deep
overflows the C stack and kills the process instead of raising RecursionError. The depth is measured first,
outside strings, in passes over the body's brackets that run at C speed.
"""
from __future__ import annotations

import json
import re
from typing import Any

from cipherquorum.devnet.rpc import INVALID_REQUEST, PARSE_ERROR, RpcError

MAX_JSON_DEPTH = 64
"""The deepest nesting of arrays and objects a body may have; a JSON-RPC request needs about eight."""

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
"""A JSON string, or an unterminated one running to the end of the body (so no match attempt fails)."""
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_AS_PARENTHESES = str.maketrans("[]{}", "()()")


def nesting_depth_exceeds(text: str, limit: int) -> bool:
    """Whether ``text`` nests arrays and objects (outside strings) more than ``limit`` deep.

    Each pass removes every innermost ``()`` pair, which lowers the deepest nesting by one, so a body whose
    brackets are gone within ``limit`` passes is no deeper than that. Unbalanced openers left over count
    fully, so an unclosed body is judged as deep as it could be parsed.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text)).translate(_AS_PARENTHESES)
    passes = 0
    while "()" in brackets:
        if passes == limit:
            return True
        brackets = brackets.replace("()", "")
        passes += 1
    return passes + brackets.count("(") > limit


def decode_json_body(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Return the JSON value of a request body.

    Raises RpcError: PARSE_ERROR for a body that is not UTF-8 JSON, INVALID_REQUEST for one nested deeper
    than ``max_depth``.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RpcError(PARSE_ERROR, f"parse error: the body must be UTF-8 JSON ({exc})") from None
    if nesting_depth_exceeds(text, max_depth):
        raise RpcError(INVALID_REQUEST, f"the body nests arrays and objects deeper than the nesting depth limit "
                                        f"of {max_depth}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise RpcError(PARSE_ERROR, f"parse error: {exc}") from None


__all__ = ["MAX_JSON_DEPTH", "decode_json_body", "nesting_depth_exceeds"]

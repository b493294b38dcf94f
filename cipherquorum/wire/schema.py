"""Message types and their schemas: the @message registry, and the strict field codecs built from annotations."""
from __future__ import annotations

import dataclasses
import enum
import heapq
import threading
import types
import typing
from collections.abc import Callable, Iterable
from typing import TypeVar, Union

from cipherquorum.exceptions import MalformedMessage, UnknownMessageType, ValidationError, WireError

MAX_DEPTH = 32
"""Deepest nesting of containers and messages that a message may have."""

MAX_COLLECTION_LEN = 1_000_000
"""Most elements any one array or map in a message may hold."""

ParamScalar = int | float | str | bool
ParamValue = int | float | str | bool | tuple[ParamScalar, ...]
Params = dict[str, ParamValue]
"""JSON-like program parameters: names to scalars or tuples of scalars (a list is accepted when encoding)."""

T = TypeVar("T")

_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1

# --- the registry of message types -------------------------------------------------------------

_registry_lock = threading.Lock()
_classes_by_name: dict[str, type] = {}
_names_by_class: dict[type, str] = {}


def message(name: str) -> Callable[[type[T]], type[T]]:
    """Return a class decorator that registers a frozen dataclass as the wire message type ``name``.

    Field annotations may be int, float, str, bytes, bool, ``X | None``, ``tuple[X, ...]``, ``dict[str, X]``,
    other message classes, IntEnum subclasses and ``Params``; they are resolved on first use, so forward
    references and ``from __future__ import annotations`` work.
    Raises WireError if ``name`` is empty or taken by another class, or if the class is not a frozen dataclass.
    """
    if not isinstance(name, str) or not name:
        raise WireError(f"message type name must be a non-empty str (got {name!r})")

    def register(cls: type[T]) -> type[T]:
        params = getattr(cls, "__dataclass_params__", None)
        if not dataclasses.is_dataclass(cls) or params is None or not params.frozen:
            raise WireError(f"@message({name!r}) needs a frozen dataclass (got {cls.__qualname__})")
        with _registry_lock:
            taken = _classes_by_name.get(name)
            if taken is not None and _qualified(taken) != _qualified(cls):
                raise WireError(f"message type name {name!r} is already taken by {_qualified(taken)}")
            if taken is not None:
                _names_by_class.pop(taken, None)
                _codecs.pop(taken, None)
            _classes_by_name[name] = cls
            _names_by_class[cls] = name
        return cls

    return register


def registered_messages() -> dict[str, type]:
    """Return a copy of the registry: every message type name mapped to its class."""
    with _registry_lock:
        return dict(_classes_by_name)


def message_type_name(cls: type) -> str:
    """Return the wire type name of a message class; raises UnknownMessageType if it is not registered."""
    name = _names_by_class.get(cls)
    if name is None:
        raise UnknownMessageType(
            f"{_qualified(cls)} is not a registered wire message (decorate it with @message)"
        )
    return name


def message_class(name: str) -> type:
    """Return the message class registered as ``name``; raises UnknownMessageType if there is none."""
    cls = _classes_by_name.get(name)
    if cls is None:
        raise UnknownMessageType(f"No message type registered under the name: {name[:100]!r}")
    return cls


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def wire_type(value: object) -> str:
    """The name of a value's type, as error messages show it."""
    return type(value).__name__


def some_keys(keys: Iterable[object], shown: int = 10) -> list[str]:
    """The first ``shown`` of ``keys`` in sorted order, each cut to 40 characters, for error messages."""
    return heapq.nsmallest(shown, (str(key)[:40] for key in keys))


# --- field codecs ------------------------------------------------------------------------------

class _Codec:
    """Converts one annotated value to its msgpack form and back, checking it strictly on the way."""

    kind: str = ""

    def to_wire(self, value: object, path: str, depth: int) -> object:
        raise NotImplementedError

    def from_wire(self, value: object, path: str, depth: int) -> object:
        raise NotImplementedError

    def describe(self) -> str:
        return self.kind


def _mismatch(path: str, expected: str, value: object) -> MalformedMessage:
    return MalformedMessage(f"{path}: expected {expected}, got {wire_type(value)}")


def _check_depth(path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise MalformedMessage(f"{path}: nesting must be <= {MAX_DEPTH} levels deep (got {depth})")


class _IntCodec(_Codec):
    kind = "int"

    def to_wire(self, value: object, path: str, depth: int) -> object:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _mismatch(path, "int", value)
        if not _INT_MIN <= value <= _INT_MAX:
            raise MalformedMessage(f"{path}: int must be in [-2**63, 2**64 - 1] (got {value})")
        return int(value)

    def from_wire(self, value: object, path: str, depth: int) -> object:
        if type(value) is not int:
            raise _mismatch(path, "int", value)
        return value


class _FloatCodec(_Codec):
    """A float; an int is widened to float in both directions."""

    kind = "float"

    def to_wire(self, value: object, path: str, depth: int) -> object:
        if isinstance(value, bool) or not isinstance(value, (float, int)):
            raise _mismatch(path, "float", value)
        try:
            return float(value)
        except OverflowError:
            raise MalformedMessage(f"{path}: int {value} is too large for a float") from None

    def from_wire(self, value: object, path: str, depth: int) -> object:
        if type(value) is float:
            return value
        if type(value) is int:
            return self.to_wire(value, path, depth)
        raise _mismatch(path, "float", value)


class _StrCodec(_Codec):
    kind = "str"

    def to_wire(self, value: object, path: str, depth: int) -> object:
        if not isinstance(value, str):
            raise _mismatch(path, "str", value)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedMessage(f"{path}: str must be encodable as UTF-8 (got {value!r:.80})") from None
        return str(value)

    def from_wire(self, value: object, path: str, depth: int) -> object:
        if type(value) is not str:
            raise _mismatch(path, "str", value)
        return value


class _BytesCodec(_Codec):
    kind = "bytes"

    def to_wire(self, value: object, path: str, depth: int) -> object:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise _mismatch(path, "bytes", value)
        return bytes(value)

    def from_wire(self, value: object, path: str, depth: int) -> object:
        if type(value) is not bytes:
            raise _mismatch(path, "bytes", value)
        return value


class _BoolCodec(_Codec):
    kind = "bool"

    def to_wire(self, value: object, path: str, depth: int) -> object:
        if type(value) is not bool:
            raise _mismatch(path, "bool", value)
        return value

    from_wire = to_wire


class _NoneCodec(_Codec):
    kind = "nil"

    def to_wire(self, value: object, path: str, depth: int) -> object:
        if value is not None:
            raise _mismatch(path, "None", value)
        return None

    from_wire = to_wire

    def describe(self) -> str:
        return "None"


class _EnumCodec(_Codec):
    """An IntEnum member, written as its int value."""

    kind = "int"

    def __init__(self, enum_cls: type[enum.IntEnum]) -> None:
        self._enum_cls = enum_cls

    def to_wire(self, value: object, path: str, depth: int) -> object:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _mismatch(path, self._enum_cls.__name__, value)
        self.from_wire(int(value), path, depth)  # raises unless the value is a member
        return int(value)

    def from_wire(self, value: object, path: str, depth: int) -> object:
        if type(value) is not int:
            raise _mismatch(path, self._enum_cls.__name__, value)
        try:
            return self._enum_cls(value)
        except ValueError:
            raise MalformedMessage(
                f"{path}: {value} is not a valid {self._enum_cls.__name__}"
            ) from None

    def describe(self) -> str:
        return self._enum_cls.__name__


class _TupleCodec(_Codec):
    """``tuple[X, ...]``: an array on the wire; a list or tuple when encoding, a tuple when decoding."""

    kind = "array"

    def __init__(self, item: _Codec) -> None:
        self._item = item

    def to_wire(self, value: object, path: str, depth: int) -> object:
        if not isinstance(value, (tuple, list)):
            raise _mismatch(path, "tuple", value)
        self._check_len(value, path, depth)
        item = self._item
        return [item.to_wire(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]

    def from_wire(self, value: object, path: str, depth: int) -> object:
        if type(value) is not list:
            raise _mismatch(path, "array", value)
        self._check_len(value, path, depth)
        item = self._item
        return tuple(item.from_wire(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value))

    @staticmethod
    def _check_len(value: tuple | list, path: str, depth: int) -> None:
        _check_depth(path, depth + 1)
        if len(value) > MAX_COLLECTION_LEN:
            raise MalformedMessage(f"{path}: length must be <= {MAX_COLLECTION_LEN} (got {len(value)})")

    def describe(self) -> str:
        return f"tuple[{self._item.describe()}, ...]"


class _DictCodec(_Codec):
    """``dict[str, X]``: a map with str keys, written in sorted key order."""

    kind = "map"

    def __init__(self, item: _Codec) -> None:
        self._item = item

    def to_wire(self, value: object, path: str, depth: int) -> object:
        if not isinstance(value, dict):
            raise _mismatch(path, "dict", value)
        self._check(value, path, depth)
        item = self._item
        return {k: item.to_wire(value[k], f"{path}[{k!r}]", depth + 1) for k in sorted(value)}

    def from_wire(self, value: object, path: str, depth: int) -> object:
        if type(value) is not dict:
            raise _mismatch(path, "map", value)
        self._check(value, path, depth)
        item = self._item
        return {k: item.from_wire(v, f"{path}[{k!r}]", depth + 1) for k, v in value.items()}

    @staticmethod
    def _check(value: dict, path: str, depth: int) -> None:
        _check_depth(path, depth + 1)
        if len(value) > MAX_COLLECTION_LEN:
            raise MalformedMessage(f"{path}: length must be <= {MAX_COLLECTION_LEN} (got {len(value)})")
        for key in value:
            if type(key) is not str:
                raise MalformedMessage(f"{path}: map keys must be str (got {wire_type(key)})")

    def describe(self) -> str:
        return f"dict[str, {self._item.describe()}]"


class _UnionCodec(_Codec):
    """``X | Y | None``: the member is chosen by the value's wire kind; an int may stand for a float."""

    kind = "union"

    def __init__(self, members: list[_Codec], where: str) -> None:
        self._by_kind: dict[str, _Codec] = {}
        for member in members:
            if member.kind in self._by_kind:
                raise WireError(f"{where}: union members must differ in wire kind (two are {member.kind})")
            self._by_kind[member.kind] = member
        self._members = members

    def _member_for(self, value: object, path: str) -> _Codec:
        member = self._by_kind.get(_kind_of(value))
        if member is None and _kind_of(value) == "int":
            member = self._by_kind.get("float")
        if member is None:
            raise _mismatch(path, self.describe(), value)
        return member

    def to_wire(self, value: object, path: str, depth: int) -> object:
        return self._member_for(value, path).to_wire(value, path, depth)

    def from_wire(self, value: object, path: str, depth: int) -> object:
        return self._member_for(value, path).from_wire(value, path, depth)

    def describe(self) -> str:
        return " | ".join(m.describe() for m in self._members)


def _kind_of(value: object) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytes"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict) or type(value) in _names_by_class:
        return "map"
    return type(value).__name__


class _MessageCodec(_Codec):
    """A registered message class: a map of exactly its fields. Field codecs are built on first use."""

    kind = "map"

    def __init__(self, cls: type) -> None:
        self._cls = cls
        self._fields: tuple[tuple[str, _Codec], ...] | None = None
        self._field_names: frozenset[str] = frozenset()

    def _resolve(self) -> tuple[tuple[str, _Codec], ...]:
        if self._fields is None:
            cls = self._cls
            try:
                hints = typing.get_type_hints(cls)
            except (NameError, TypeError, AttributeError, SyntaxError) as exc:
                raise WireError(f"annotations of {_qualified(cls)} cannot be resolved: {exc}") from None
            fields = tuple(
                (f.name, _codec_for(hints[f.name], f"{cls.__qualname__}.{f.name}"))
                for f in dataclasses.fields(cls)
            )
            self._field_names = frozenset(name for name, _ in fields)
            self._fields = fields
        return self._fields

    def to_wire(self, value: object, path: str, depth: int) -> object:
        if type(value) is not self._cls:
            raise _mismatch(path, self._cls.__name__, value)
        _check_depth(path, depth)
        return {
            name: codec.to_wire(getattr(value, name), f"{path}.{name}", depth + 1)
            for name, codec in self._resolve()
        }

    def from_wire(self, value: object, path: str, depth: int) -> object:
        if type(value) is not dict:
            raise _mismatch(path, f"map of {self._cls.__name__} fields", value)
        _check_depth(path, depth)
        fields = self._resolve()
        if value.keys() != self._field_names:
            missing = sorted(self._field_names - value.keys())
            unknown = some_keys(value.keys() - self._field_names)
            raise MalformedMessage(
                f"{path}: fields must match {self._cls.__name__} (missing {missing}, unknown {unknown})"
            )
        kwargs = {name: codec.from_wire(value[name], f"{path}.{name}", depth + 1) for name, codec in fields}
        try:
            return self._cls(**kwargs)
        except WireError:
            raise
        except ValidationError as exc:
            raise MalformedMessage(f"{path}: {exc}") from None
        except Exception as exc:  # a message's own checks may fail in any way; to the receiver it is malformed
            raise MalformedMessage(f"{path}: {type(exc).__name__}: {exc}") from exc

    def describe(self) -> str:
        return self._cls.__name__


_SCALAR_CODECS: dict[object, _Codec] = {
    int: _IntCodec(),
    float: _FloatCodec(),
    str: _StrCodec(),
    bytes: _BytesCodec(),
    bool: _BoolCodec(),
    type(None): _NoneCodec(),
}

_codecs: dict[type, _MessageCodec] = {}


def message_codec(cls: type) -> _MessageCodec:
    """Return the codec of a registered message class; raises UnknownMessageType if it is not registered."""
    codec = _codecs.get(cls)
    if codec is None:
        message_type_name(cls)
        codec = _codecs.setdefault(cls, _MessageCodec(cls))
    return codec


def _codec_for(annotation: object, where: str) -> _Codec:
    """Build the codec for one field annotation; raises WireError naming the field if it is not supported."""
    scalar = _SCALAR_CODECS.get(annotation)
    if scalar is not None:
        return scalar
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Union or origin is types.UnionType:
        return _UnionCodec([_codec_for(arg, where) for arg in args], where)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _TupleCodec(_codec_for(args[0], where))
    if origin is dict and len(args) == 2 and args[0] is str:
        return _DictCodec(_codec_for(args[1], where))
    if isinstance(annotation, type) and issubclass(annotation, enum.IntEnum):
        return _EnumCodec(annotation)
    if isinstance(annotation, type) and annotation in _names_by_class:
        return message_codec(annotation)
    raise WireError(
        f"{where}: annotation must be int, float, str, bytes, bool, X | None, tuple[X, ...], dict[str, X], "
        f"an IntEnum or a @message class (got {annotation!r})"
    )

"""Foundry's anvil as a chain the run starts: find its binary, serve it on a free port, fund accounts, stop it."""
from __future__ import annotations

import atexit
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from importlib.resources import files
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

import requests
from eth_utils import is_address, to_checksum_address

from cipherquorum.chain.artifact import ARTIFACT_PACKAGE
from cipherquorum.chain.errors import TRANSLATED_ERRORS, translate_error
from cipherquorum.exceptions import ChainError, DependencyMissing, ValidationError

if TYPE_CHECKING:  # importing the devnet imports py-evm, which anvil does without
    from cipherquorum.devnet import RpcMethodStats

ANVIL_PATH_ENV = "CIPHERQUORUM_ANVIL"
"""The environment variable that names an anvil binary, in place of the one npm installs."""
ANVIL_PACKAGE = "@foundry-rs/anvil-linux-amd64"
ANVIL_INSTALL = "cd contracts && npm ci --ignore-scripts"
"""How to install anvil: contracts/package.json pins ANVIL_PACKAGE, and its lock file the exact build."""
ANVIL_CHAIN_ID = 31337
"""anvil's own default chain id, used unless the scenario sets chain.chain_id."""
ANVIL_HARDFORK = "prague"
"""The embedded devnet's fork, so that gas and opcodes match it."""
MAX_CHAIN_ID = 2**64 - 1
READY_TIMEOUT_S = 30.0
"""Longest anvil may take from its start to its first answer."""
STOP_TIMEOUT_S = 5.0
"""How long anvil gets to exit on SIGTERM before it is killed."""
PORT_ATTEMPTS = 3
"""Tries at a free port: another process may take the one picked before anvil binds it."""
FUND_BATCH = 100
"""anvil_setBalance calls sent in one JSON-RPC batch."""
REQUEST_TIMEOUT_S = 30.0

_WATCHDOG = """\
exec 3<&0
"$0" "$@" </dev/null >/dev/null 3<&- &
chain=$!
echo "$chain"
{ read -r _ <&3; kill -KILL "$chain" 2>/dev/null; } &
watch=$!
wait "$chain"
status=$?
kill "$watch" 2>/dev/null
exit "$status"
"""
"""The shell that starts anvil and kills it once its stdin closes: the host's end of that pipe closes when the
host stops it or its process dies however it dies (SIGKILL included), so anvil never outlives the host. It
prints anvil's pid first, and exits with anvil's status."""


def bundled_anvil() -> Path:
    """Where ``npm ci`` in contracts/ puts the anvil binary."""
    return Path(str(files(ARTIFACT_PACKAGE))) / "node_modules" / ANVIL_PACKAGE / "bin" / "anvil"


def find_anvil(configured: str = "", environ: Mapping[str, str] | None = None) -> Path:
    """The anvil binary to run: ``configured`` (a scenario's chain.anvil_path) if given, else $CIPHERQUORUM_ANVIL,
    else the one npm installed into contracts/node_modules.

    Raises DependencyMissing naming the path that is not an executable file and saying how to install anvil.
    """
    environ = os.environ if environ is None else environ
    for source, value in (("chain.anvil_path", configured), (f"${ANVIL_PATH_ENV}", environ.get(ANVIL_PATH_ENV, ""))):
        if value:
            path = Path(value).expanduser()
            if not _is_executable(path):
                raise DependencyMissing(f"{source} names {value!r}, which is not an executable file: point it at an "
                                        f"anvil binary, or unset it and install anvil with `{ANVIL_INSTALL}`")
            return path
    bundled = bundled_anvil()
    if not _is_executable(bundled):
        raise DependencyMissing(f'chain.backend = "anvil" needs Foundry\'s anvil, which is not installed: run '
                                f"`{ANVIL_INSTALL}` (it puts {ANVIL_PACKAGE} into contracts/node_modules; `make "
                                f"install` does it where npm exists), or set ${ANVIL_PATH_ENV} or chain.anvil_path "
                                f"to an anvil binary (not found at {bundled})")
    return bundled


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


class Anvil:
    """One anvil process serving JSON-RPC on a free port of ``host`` (loopback by default).

    ``start()`` runs it and returns its URL once it answers; ``stop()`` ends it. It auto-mines: each transaction
    is mined into a block of its own as it arrives, with no block time, stamped with the wall-clock second (blocks
    may share one), so deadlines in block time hold in real time. Its prevrandao is not seeded (unlike the
    devnet's), so matching draws differ from run to run. ``fund_many`` sets balances with ``anvil_setBalance``;
    a run needs no dev accounts, so it has ``dev_accounts`` of them (none by default), unlocked, each holding
    ``dev_balance_ether``. The process dies with the one that started it, even by SIGKILL. Every public method
    raises only cipherquorum's errors.
    """

    def __init__(self, binary: str | Path, *, host: str = "127.0.0.1", chain_id: int = ANVIL_CHAIN_ID,
                 ready_timeout_s: float = READY_TIMEOUT_S, dev_accounts: int = 0,
                 dev_balance_ether: int = 10_000) -> None:
        """Set anvil up without starting it; raises ValidationError for a bad argument (the message names it)."""
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValidationError(f'"host" must be an IP address anvil can bind (got host={host!r})') from None
        if isinstance(chain_id, bool) or not isinstance(chain_id, int) or not 1 <= chain_id <= MAX_CHAIN_ID:
            raise ValidationError(f'"chain_id" must be an int in [1, 2**64 - 1] (got chain_id={chain_id!r})')
        if isinstance(ready_timeout_s, bool) or not isinstance(ready_timeout_s, (int, float)) or ready_timeout_s <= 0:
            raise ValidationError(f'"ready_timeout_s" must be a number > 0 (got ready_timeout_s={ready_timeout_s!r})')
        for name, value in (("dev_accounts", dev_accounts), ("dev_balance_ether", dev_balance_ether)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(f'"{name}" must be an int >= 0 (got {name}={value!r})')
        self._dev_accounts = dev_accounts
        self._dev_balance_ether = dev_balance_ether
        self._binary = Path(binary)
        self._host = host
        self._chain_id = chain_id
        self._ready_timeout_s = float(ready_timeout_s)
        self._process: subprocess.Popen[bytes] | None = None
        self._pid = 0
        self._url: str | None = None
        self._session = requests.Session()

    @property
    def chain_id(self) -> int:
        """The chain id anvil serves, which signed transactions must carry."""
        return self._chain_id

    @property
    def url(self) -> str:
        """The JSON-RPC URL; raises ChainError if anvil is not serving."""
        if self._url is None:
            raise ChainError("anvil is not serving: call start() first")
        return self._url

    @property
    def pid(self) -> int:
        """The anvil process's id (0 before ``start()``)."""
        return self._pid

    def command(self, port: int) -> list[str]:
        """The command line that serves anvil on ``port``: auto-mining (no --block-time), the devnet's fork, quiet."""
        return [str(self._binary), "--host", self._host, "--port", str(port), "--chain-id", str(self._chain_id),
                "--hardfork", ANVIL_HARDFORK, "--accounts", str(self._dev_accounts),
                "--balance", str(self._dev_balance_ether), "--quiet", "--disable-console-log"]

    def start(self) -> str:
        """Run anvil and return its URL once it answers with its chain id; a running anvil returns its URL.

        Raises DependencyMissing if the binary cannot be run, and ChainError if anvil exits or stays silent for
        ``ready_timeout_s`` (its last error lines in the message).
        """
        if self._url is not None:
            return self._url
        for attempt in range(PORT_ATTEMPTS):
            port = _free_port(self._host)
            url = f"http://[{self._host}]:{port}" if ":" in self._host else f"http://{self._host}:{port}"
            with tempfile.TemporaryFile() as log:
                self._spawn(port, log)
                try:
                    self._wait_ready(url, log)
                except _PortTaken:
                    self._end_process()
                    if attempt + 1 == PORT_ATTEMPTS:
                        raise ChainError(f"anvil found no free port on {self._host} in {PORT_ATTEMPTS} tries") from None
                    continue
                except BaseException:
                    self._end_process()
                    raise
            self._url = url
            atexit.register(self.stop)
            return url
        raise AssertionError("unreachable")  # pragma: no cover

    def _spawn(self, port: int, log: IO[bytes]) -> None:
        try:
            process = subprocess.Popen(["/bin/sh", "-c", _WATCHDOG, *self.command(port)], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=log, start_new_session=True)
        except OSError as exc:
            raise DependencyMissing(f"cannot run anvil at {self._binary}: {exc}; install it with "
                                    f"`{ANVIL_INSTALL}`") from None
        self._process = process
        assert process.stdout is not None
        line = process.stdout.readline()
        process.stdout.close()
        self._pid = int(line) if line.strip().isdigit() else 0

    def _wait_ready(self, url: str, log: IO[bytes]) -> None:
        """Return once anvil at ``url`` answers with its chain id; raises _PortTaken or ChainError."""
        assert self._process is not None
        deadline_s = time.monotonic() + self._ready_timeout_s
        delay_s = 0.02
        while True:
            code = self._process.poll()
            if code is not None:
                log.seek(0)
                errors = log.read().decode("utf-8", "replace").strip()
                if "address already in use" in errors.lower():
                    raise _PortTaken()
                shown = " ".join(errors.splitlines()[-3:]) or "no error output"
                raise ChainError(f"anvil ({self._binary}) exited with code {code} before it answered: {shown}")
            try:
                reply = self._session.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId",
                                                      "params": []}, timeout=1).json()
            except (requests.ConnectionError, requests.Timeout):
                reply = None
            except (requests.RequestException, ValueError) as exc:
                raise ChainError(f"anvil at {url} answered eth_chainId with something that is not JSON-RPC: "
                                 f"{exc}") from None
            if reply is not None:
                served = int(str(reply.get("result", "0x0")), 16)
                if served != self._chain_id:
                    raise ChainError(f"the endpoint at {url} serves chain id {served}, not the {self._chain_id} "
                                     "anvil was started with: another process holds the port")
                return
            if time.monotonic() > deadline_s:
                raise ChainError(f"anvil ({self._binary}) did not answer at {url} within {self._ready_timeout_s:g} s")
            time.sleep(delay_s)
            delay_s = min(2 * delay_s, 0.2)

    def fund_many(self, addresses: Iterable[str], amount_wei: int) -> None:
        """Set each address's balance to ``amount_wei`` (anvil_setBalance, in batches).

        Raises ValidationError for a malformed address or a negative amount, ChainError if anvil refuses.
        """
        recipients = [str(address) for address in addresses]
        for address in recipients:
            if not is_address(address):
                raise ValidationError(f'"address" must be a 20-byte hex address (got {address!r})')
        if isinstance(amount_wei, bool) or not isinstance(amount_wei, int) or amount_wei < 0:
            raise ValidationError(f'"amount_wei" must be an int >= 0 (got amount_wei={amount_wei!r})')
        for first in range(0, len(recipients), FUND_BATCH):
            batch = recipients[first:first + FUND_BATCH]
            replies = self._batch([("anvil_setBalance", [to_checksum_address(a), hex(amount_wei)]) for a in batch])
            for address, reply in zip(batch, replies):
                if "error" in reply:
                    raise ChainError(f"anvil refused to fund {address} with {amount_wei} wei: "
                                     f"{reply['error'].get('message', reply['error'])}")

    def _batch(self, calls: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """Send ``calls`` as one JSON-RPC batch; return the replies in call order."""
        url = self.url
        body: list[Any] = [{"jsonrpc": "2.0", "id": index, "method": method, "params": params}
                           for index, (method, params) in enumerate(calls)]
        try:
            reply = self._session.post(url, json=body, timeout=REQUEST_TIMEOUT_S)
            reply.raise_for_status()
            answers = reply.json()
        except TRANSLATED_ERRORS as exc:
            raise translate_error(exc, url) from None
        except ValueError as exc:  # not JSON
            raise ChainError(f"anvil at {url} answered a batch with something that is not JSON: {exc}") from None
        if not isinstance(answers, list) or len(answers) != len(calls):
            raise ChainError(f"anvil at {url} answered a batch of {len(calls)} with {type(answers).__name__}")
        by_id = {answer.get("id"): answer for answer in answers if isinstance(answer, dict)}
        return [by_id.get(index, {"error": {"message": "no reply"}}) for index in range(len(calls))]

    def rpc_stats(self) -> dict[str, RpcMethodStats]:
        """Calls served per JSON-RPC method: anvil does not count them, so none are known (empty)."""
        return {}

    def usage(self) -> tuple[float, int, int]:
        """The anvil process's CPU seconds, resident bytes and peak resident bytes (zeros when unknown: it is
        not running, or this is not Linux)."""
        return _process_usage(self._pid) if self._process is not None and self._process.poll() is None else (0, 0, 0)

    def stop(self) -> None:
        """End anvil (SIGTERM, then SIGKILL after STOP_TIMEOUT_S) and forget its URL. Idempotent."""
        self._url = None
        self._end_process()
        try:
            atexit.unregister(self.stop)
        except Exception:  # pragma: no cover - atexit.unregister does not raise
            pass

    def _end_process(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for target in (-process.pid, self._pid):  # the watchdog's group (anvil in it), then anvil itself
                try:
                    if target:
                        os.kill(target, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            if _wait_ended(process, self._pid, STOP_TIMEOUT_S):
                break
        if process.stdin is not None:
            process.stdin.close()  # the watchdog's last word: anvil is killed if it is still there

    def __enter__(self) -> Anvil:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class _PortTaken(Exception):
    """anvil could not bind the port picked for it."""


def _free_port(host: str) -> int:
    """A port of ``host`` that nothing listens on now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _wait_ended(process: subprocess.Popen[bytes], pid: int, timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for the watchdog ``process`` and anvil's ``pid`` to end; return whether they did."""
    deadline_s = time.monotonic() + timeout_s
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return False
    while process_alive(pid):
        if time.monotonic() > deadline_s:
            return False
        time.sleep(0.01)
    return True


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not yet reaped, does not count)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc here: os.kill found it
    return state not in ("Z", "X")


def _process_usage(pid: int) -> tuple[float, int, int]:
    """CPU seconds, resident bytes and peak resident bytes of process ``pid``, read from /proc (zeros elsewhere)."""
    if not pid or not sys.platform.startswith("linux"):
        return 0.0, 0, 0
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
    except (OSError, IndexError):
        return 0.0, 0, 0
    cpu_s = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14 and 15
    kib = {line.split(":")[0]: int(line.split()[1]) for line in status if line.startswith(("VmRSS", "VmHWM"))}
    return cpu_s, kib.get("VmRSS", 0) * 1024, kib.get("VmHWM", 0) * 1024


__all__ = [
    "ANVIL_CHAIN_ID",
    "ANVIL_INSTALL",
    "ANVIL_PACKAGE",
    "ANVIL_PATH_ENV",
    "Anvil",
    "bundled_anvil",
    "find_anvil",
    "process_alive",
]

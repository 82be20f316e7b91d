"""The benchmark's processes: start each on loopback, wait until it answers, sample its memory,
stop it. Only processes started here are ever signalled."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 25


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A running child process and the URL it answers on."""

    name: str
    process: subprocess.Popen[str]
    url: str
    log: Path

    @property
    def pid(self) -> int:
        """Its process id, for memory sampling."""
        return self.process.pid


def _spawn(
    command: Sequence[str], *, env: Mapping[str, str], log: Path, stdout: int | IO[str]
) -> subprocess.Popen[str]:
    # The child keeps its own copy of the log's descriptor; this process needs none.
    with log.open("w", encoding="utf-8") as sink:
        return subprocess.Popen(
            command, env={**os.environ, **env}, stdout=stdout, stderr=sink, text=True
        )


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def shop_process(*, arguments: Sequence[str], log: Path) -> Iterator[dict[str, str]]:
    """The Shopify stand-in (`bench.shop`); yields its announcement: endpoint, token, stats."""
    command = [sys.executable, "-m", "bench.shop", *arguments]
    process = _spawn(command, env={}, log=log, stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # it announces itself only once it serves
        if not line:
            raise RuntimeError(f"the Shopify stand-in did not start; see {log}")
        yield json.loads(line)
    finally:
        _stop(process)
        if process.stdout is not None:
            process.stdout.close()  # else an unclosed pipe warns when it is collected


@contextmanager
def server_process(
    name: str, *, command: Sequence[str], env: Mapping[str, str], port: int, log: Path
) -> Iterator[Server]:
    """A server under test, answering `GET /healthz` on `port` before this yields."""
    process = _spawn(command, env=env, log=log, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(process, f"{base}/healthz", name=name, log=log)
        yield Server(name=name, process=process, url=f"{base}/graphql", log=log)
    finally:
        _stop(process)


def _wait_until_healthy(process: subprocess.Popen[str], url: str, *, name: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer {url} within {START_TIMEOUT_SECONDS} s; see {log}")


def get_json(url: str) -> Any:
    """GET a JSON document from a loopback URL."""
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.load(answer)


def post_json(url: str, body: object) -> Any:
    """POST a JSON body to a loopback URL; the decoded answer, whatever its status."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as refused:
        return json.load(refused)


def resident_kib(pid: int) -> int:
    """The process's resident set size now, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class PeakMemory:
    """Samples a process's RSS ten times a second while in use; `peak_mib` is the highest."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        while True:
            self._peak = max(self._peak, resident_kib(self._pid))
            if self._done.wait(0.1):
                return

    @property
    def peak_mib(self) -> float:
        """The highest RSS seen, in MiB."""
        return self._peak / 1024

"""Where the server under test spends its CPU: py-spy samples it during timed runs, and this
sums the samples by function and by package.

py-spy runs with --nonblocking, so it never pauses the server it watches; its own CPU time
still shares the machine, which is why profiling is off unless asked for.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SAMPLES_PER_SECOND = 100
# "OrderDesk.order_status (service/orders.py:140)" -> function and file, without the line.
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def py_spy() -> Path:
    """The py-spy installed beside the interpreter (the `bench` extra)."""
    return Path(sys.executable).parent / "py-spy"


def start_recording(pid: int, *, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    """Sample `pid` for `seconds` into `out` as collapsed stacks; wait on the result."""
    command = [
        str(py_spy()),
        "record",
        f"--pid={pid}",
        f"--duration={max(1, round(seconds))}",
        f"--rate={SAMPLES_PER_SECOND}",
        "--nonblocking",
        "--format=raw",
        f"--output={out}",
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@dataclass(frozen=True)
class Profile:
    """Samples summed over one or more recordings."""

    samples: int
    inclusive: Counter[str]  # ordergate's functions -> samples with it anywhere on the stack
    own: Counter[str]  # function -> samples with it innermost
    own_packages: Counter[str]  # package -> samples with one of its functions innermost

    def top_service_functions(self, count: int) -> list[tuple[str, float]]:
        """ordergate's own functions most often on the stack, with their share of samples."""
        return [(name, n / self.samples) for name, n in self.inclusive.most_common(count)]

    def top_own_functions(self, count: int) -> list[tuple[str, float]]:
        """The functions the CPU was in when sampled."""
        return [(name, n / self.samples) for name, n in self.own.most_common(count)]

    def top_packages(self, count: int) -> list[tuple[str, float]]:
        """The same, by package (or stdlib module) of the innermost frame."""
        return [(name, n / self.samples) for name, n in self.own_packages.most_common(count)]


def _function(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame)
    if match is None:
        return frame, frame
    file = match["file"]
    package = file.split("/", 1)[0] if "/" in file else file.removesuffix(".py")
    return f"{match['function']} ({file})", package


def _is_service(name: str, package: str) -> bool:
    # The CLI's frames sit under every request: they say nothing about where time goes.
    return package == "service" and "(service/cli.py)" not in name


def read_profiles(paths: list[Path]) -> Profile:
    """Sum py-spy's collapsed stacks ("frame;frame;frame count" lines) from every file."""
    samples, inclusive, own, own_packages = 0, Counter[str](), Counter[str](), Counter[str]()
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = [_function(frame) for frame in stack.split(";")]
            samples += int(count)
            for name in {name for name, package in frames if _is_service(name, package)}:
                inclusive[name] += int(count)
            own[frames[-1][0]] += int(count)
            own_packages[frames[-1][1]] += int(count)
    return Profile(max(samples, 1), inclusive, own, own_packages)

"""What the benchmark ran on, for bench/RESULTS.md: the numbers mean little without it."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def _first(path: str, prefix: str) -> str:
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith(prefix):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _wrk_version() -> str:
    finished = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (finished.stdout or finished.stderr).split("Copyright")[0].strip()


def describe_machine() -> dict[str, str]:
    """CPU count and model, memory, Python, wrk, and how busy the machine already is."""
    memory_kib = int(_first("/proc/meminfo", "MemTotal").split()[0])
    one, five, _ = os.getloadavg()
    return {
        "nproc": str(os.cpu_count()),
        "cpu": _first("/proc/cpuinfo", "model name"),
        "memory": f"{memory_kib / 1024 / 1024:.1f} GiB",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "wrk": _wrk_version(),
        "load average before the run (1 min, 5 min)": f"{one:.2f}, {five:.2f}",
    }

"""The real command line in a subprocess, as a user runs it (warnings silenced, the caller's environment)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "PYTHONWARNINGS": "ignore", **(extra or {})}


def ganbench_cli(*args: str | Path, cwd: Path, env: dict[str, str] | None = None,
                 timeout: float = 600) -> subprocess.CompletedProcess:
    """``ganbench ARGS`` run to completion in ``cwd``; stdout and stderr captured as text."""
    return subprocess.run([sys.executable, "-m", "ganbench.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, env=cli_env(env), timeout=timeout)


def start_ganbench(*args: str | Path, cwd: Path) -> subprocess.Popen:
    """``ganbench ARGS`` started in the background (for tests that kill or race it)."""
    return subprocess.Popen([sys.executable, "-m", "ganbench.cli", *map(str, args)], cwd=cwd, env=cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

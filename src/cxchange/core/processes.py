"""Whether a process still runs (a crashed claimant's leftovers vs live work); stopping child processes."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence


def pid_alive(pid: int) -> bool:
    """True if process `pid` exists on this host (another user's process counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def stop_processes(procs: Sequence[subprocess.Popen[bytes]], timeout: float = 20) -> None:
    """Terminate every process still running, then wait for each; one that outlives `timeout` is killed.
    All are asked first, so they wind down together (a scheduler and its workers)."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

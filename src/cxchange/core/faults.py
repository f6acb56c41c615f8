"""Test-only fault injection for tests/faults: `CXCHANGE_FAULT_AT=<point>` kills the process with SIGKILL
at that named point (what does a crash there leave behind?); `CXCHANGE_FAULT_AT=<point>:pause:<seconds>`
sleeps there instead (holds a transaction open, so another process races it for sure);
`<point>:pause-until:<path>:<seconds>` sleeps there until the file `path` exists or `seconds` have passed
(the test creates it once it has seen the racing processes wait, instead of always waiting the longest
time a slow start might need). Unset (always, outside those tests) it costs one environment look-up."""

from __future__ import annotations

import os
import signal
import time


def fault_point(name: str) -> None:
    wanted = os.environ.get("CXCHANGE_FAULT_AT")
    if not wanted or wanted.partition(":")[0] != name:
        return
    if wanted == name:
        os.kill(os.getpid(), signal.SIGKILL)
    elif wanted.startswith(f"{name}:pause:"):
        time.sleep(float(wanted.rsplit(":", 1)[1]))
    elif wanted.startswith(f"{name}:pause-until:"):
        path, _, most = wanted.removeprefix(f"{name}:pause-until:").rpartition(":")
        deadline = time.monotonic() + float(most)
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.02)

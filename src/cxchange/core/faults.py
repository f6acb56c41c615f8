"""Test-only fault injection: `CXCHANGE_FAULT_AT=<point>` kills the process with SIGKILL at that named
point, so tests/faults can check what a crash at each moment of an import leaves behind. Unset (always,
outside those tests) it costs one environment look-up."""

from __future__ import annotations

import os
import signal


def fault_point(name: str) -> None:
    if os.environ.get("CXCHANGE_FAULT_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)

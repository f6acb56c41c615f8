"""Where partitioned work runs: in this process, or on a Dask cluster. Chosen by config, not by type.

Both run a pure function over an iterable of partitions (read lazily) and yield the results in
partition order, so the caller (which owns the database) writes exactly the same rows whichever
executor computed them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError
from typing import Any, Protocol, TypeVar

from cxchange.core.config import get_settings
from cxchange.core.errors import CxError

T = TypeVar("T")
R = TypeVar("R")

# Times one partition is sent again after the cluster lost it (a worker killed mid-task).
PART_RETRIES = 3


class Executor(Protocol):
    name: str

    def map(self, fn: Callable[..., R], parts: Iterable[T], **shared: Any) -> Iterator[R]: ...

    def close(self) -> None: ...


class InProcessExecutor:
    name = "local"

    def map(self, fn: Callable[..., R], parts: Iterable[T], **shared: Any) -> Iterator[R]:
        for part in parts:
            yield fn(part, **shared)

    def close(self) -> None:
        return None


class DaskExecutor:
    """dask.distributed: an existing scheduler (`address`) or a LocalCluster of `workers` processes."""

    name = "dask"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - dask is in the `scale` extra
            raise CxError("Dask is not installed: pip install 'cxchange[scale]'") from None
        self._cluster = None
        self._wait = get_settings().dask_connect_timeout
        try:
            if address:
                self.client = Client(address, timeout=f"{self._wait}s")
                self._require_workers(address)
            else:
                self._cluster = LocalCluster(
                    n_workers=workers or 2, threads_per_worker=1, processes=True,
                    dashboard_address=None, silence_logs=40,
                )  # fmt: skip
                self.client = Client(self._cluster)
        except OSError as exc:
            raise CxError(f"cannot reach the Dask scheduler {address}: {exc}") from None

    def _require_workers(self, address: str) -> None:
        # A scheduler whose workers never came up (a failing preload, a wrong address given to them) would
        # hold every task forever: say so instead of waiting.
        try:
            self.client.wait_for_workers(1, timeout=self._wait)
        except TimeoutError:
            self.client.close()
            raise CxError(
                f"the Dask scheduler {address} has no workers (waited {self._wait:g} s): "
                f"start one with `dask worker {address}`"
            ) from None

    def _result(self, future: Any) -> Any:
        """The task's result; an error, not a hang, once the cluster has had no worker for the wait."""
        without_workers_since: float | None = None
        while True:
            try:
                return future.result(timeout=1)
            except TimeoutError:
                if self.client.scheduler_info().get("workers"):
                    without_workers_since = None
                    continue
                now = time.monotonic()
                without_workers_since = without_workers_since or now
                if now - without_workers_since > self._wait:
                    raise CxError(
                        f"every Dask worker is gone (none for {self._wait:g} s); what was analysed is kept, "
                        "run `cxchange analyze` again to finish"
                    ) from None

    def map(self, fn: Callable[..., R], parts: Iterable[T], **shared: Any) -> Iterator[R]:
        # Shared arguments (the matcher) are scattered once, not pickled into every task.
        scattered = {k: self.client.scatter(v, broadcast=True) for k, v in shared.items()}
        # A bounded window keeps memory flat on big stores while every worker stays busy.
        window = max(2, 2 * len(self.client.scheduler_info().get("workers", {})) or 2)
        pending: list[tuple[T, Any, int]] = []  # (part, its future, times it was resubmitted)
        it = iter(parts)
        for part in it:
            pending.append((part, self.client.submit(fn, part, pure=False, **scattered), 0))
            if len(pending) >= window:
                break
        while pending:
            part, future, retries = pending.pop(0)
            try:
                result = self._result(future)
            except CancelledError as exc:
                # A worker killed mid-task can take the scheduler's record of a task (or of the scattered
                # data it needs) with it: the future comes back cancelled instead of rescheduled. The
                # task's writes are idempotent, so the part is sent again, with the data scattered anew.
                if retries >= PART_RETRIES:
                    lost = f"a partition was lost {retries + 1} times on the Dask cluster: {exc}"
                    raise CxError(lost) from None
                scattered = {k: self.client.scatter(v, broadcast=True) for k, v in shared.items()}
                pending.insert(0, (part, self.client.submit(fn, part, pure=False, **scattered), retries + 1))
                continue
            yield result
            nxt = next(it, None)
            if nxt is not None:
                pending.append((nxt, self.client.submit(fn, nxt, pure=False, **scattered), 0))

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def executor_for(*, workers: int | None = None, scheduler: str | None = None) -> Executor:
    """`scheduler` (or CXCHANGE_DASK_SCHEDULER) → that cluster; `workers` > 1 → a LocalCluster."""
    if scheduler is None:
        from cxchange.core.config import Settings

        scheduler = Settings().dask_scheduler
    if scheduler:
        return DaskExecutor(address=scheduler)
    if workers and workers > 1:
        return DaskExecutor(workers=workers)
    return InProcessExecutor()

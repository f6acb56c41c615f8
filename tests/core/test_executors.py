"""The Dask executor sends a partition again when the cluster loses it (a worker killed mid-task can
leave its future cancelled instead of rescheduled), and gives up with one line after PART_RETRIES."""

from __future__ import annotations

from concurrent.futures import CancelledError
from typing import Any

import pytest

from cxchange.core.errors import CxError
from cxchange.core.executors import PART_RETRIES, DaskExecutor


class _Future:
    def __init__(self, value: Any, lost: bool) -> None:
        self.value, self.lost = value, lost

    def result(self, timeout: float | None = None) -> Any:
        if self.lost:
            raise CancelledError("store_partition-1 cancelled for reason: already forgotten")
        return self.value


class _Client:
    """Runs tasks at once; the parts in `lose` come back cancelled that many times."""

    def __init__(self, lose: dict[int, int]) -> None:
        self.lose, self.submitted, self.scatters = dict(lose), [], 0

    def scatter(self, value: Any, broadcast: bool) -> Any:
        self.scatters += 1
        return value

    def scheduler_info(self) -> dict[str, Any]:
        return {"workers": {"a": {}, "b": {}}}

    def submit(self, fn: Any, part: int, pure: bool, **shared: Any) -> _Future:
        self.submitted.append(part)
        lost = self.lose.get(part, 0) > 0
        if lost:
            self.lose[part] -= 1
        return _Future(fn(part, **shared), lost)


def _executor(client: _Client) -> DaskExecutor:
    ex = DaskExecutor.__new__(DaskExecutor)
    ex.client, ex._cluster, ex._wait = client, None, 0.2
    return ex


def test_a_lost_partition_is_sent_again_and_results_keep_their_order() -> None:
    client = _Client(lose={2: 1, 5: 2})
    out = list(_executor(client).map(lambda p, k: p * k, range(8), k=10))
    assert out == [p * 10 for p in range(8)]
    assert client.submitted.count(2) == 2 and client.submitted.count(5) == 3
    assert client.scatters == 1 + 3  # the shared data scattered anew with each resubmission


def test_a_partition_lost_every_time_is_one_clear_error() -> None:
    client = _Client(lose={1: PART_RETRIES + 1})
    with pytest.raises(CxError, match="lost 4 times on the Dask cluster"):
        list(_executor(client).map(lambda p: p, range(3)))


class _Pending:
    """A future still running after `polls` waits (forever with None)."""

    def __init__(self, polls: int | None) -> None:
        self.polls = polls

    def result(self, timeout: float | None = None) -> Any:
        if self.polls is None or self.polls > 0:
            if self.polls is not None:
                self.polls -= 1
            raise TimeoutError
        return "done"


class _ClusterState(_Client):
    def __init__(self, workers: bool, polls: int | None) -> None:
        super().__init__(lose={})
        self.workers, self.polls = workers, polls

    def scheduler_info(self) -> dict[str, Any]:
        return {"workers": {"a": {}} if self.workers else {}}

    def submit(self, fn: Any, part: int, pure: bool, **shared: Any) -> Any:
        return _Pending(self.polls)


def test_a_slow_task_is_waited_for_while_workers_are_there() -> None:
    assert list(_executor(_ClusterState(workers=True, polls=5)).map(lambda p: p, [1])) == ["done"]


def test_a_cluster_whose_workers_are_all_gone_is_one_clear_error_not_a_hang() -> None:
    with pytest.raises(CxError, match="every Dask worker is gone"):
        list(_executor(_ClusterState(workers=False, polls=None)).map(lambda p: p, [1]))

"""The racing helper itself: a thread that cannot get ready ends the race at once, as
failures, instead of leaving the others at the barrier."""

from __future__ import annotations

import time
from collections import Counter

from tests.racing import WAIT_SECONDS, all_at_once


def test_a_thread_that_fails_to_get_ready_fails_the_race_at_once(app):
    def prepare(n: int) -> int:
        if n == 0:
            raise RuntimeError("not ready")
        return n

    started = time.monotonic()
    outcome = all_at_once(app, range(3), lambda n: n, prepare=prepare)

    assert time.monotonic() - started < WAIT_SECONDS  # not left waiting for the timeout
    assert outcome.answers == Counter()
    assert outcome.results == []
    assert sorted(outcome.errors) == ["BrokenBarrierError()"] * 2 + ["RuntimeError('not ready')"]

"""The answer times' medians count items still waiting, and say when they may still grow."""

from __future__ import annotations

import pytest

from perks.feedback.targets import Median, waiting_median


@pytest.mark.parametrize(
    ("done", "waiting", "expected"),
    [
        ([], [], None),
        ([1, 2, 3], [], Median(2, at_least=False)),
        ([1], [10, 10], Median(10, at_least=True)),  # left out, the median read 1
        ([1, 2, 5], [3], Median(2.5, at_least=True)),  # the upper middle: it may grow
        ([1, 2, 3], [20], Median(2.5, at_least=False)),  # above the middles: it cannot move them
        ([1, 3], [2], Median(2, at_least=True)),
        ([], [4], Median(4, at_least=True)),
    ],
)
def test_a_median_counts_waiting_items_and_is_a_lower_bound_while_they_can_raise_it(
    done: list[int], waiting: list[int], expected: Median | None
) -> None:
    assert waiting_median(done, waiting) == expected

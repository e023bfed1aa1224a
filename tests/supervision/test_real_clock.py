"""RealClock: one lazily started daemon timer thread fed by a heap, ended when no timer is pending."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from supervision import RealClock
from tests.support import eventually


def timer_threads() -> set[threading.Thread]:
    """Return the live timer threads of every RealClock in the process."""
    return {t for t in threading.enumerate() if t.name == "supervision-timer" and t.is_alive()}


@contextmanager
def fresh_timer_threads() -> Iterator[set[threading.Thread]]:
    """Yield the timer threads that existed before the block; assert every one started in it has ended."""
    before = timer_threads()
    yield before
    eventually(lambda: not (timer_threads() - before), message="timer thread ended once idle")


def hold_the_timer_thread(clock: RealClock) -> threading.Event:
    """Park the clock's timer thread in a callback until the returned event is set."""
    parked, release = threading.Event(), threading.Event()

    def park() -> None:
        parked.set()
        release.wait(10.0)

    clock.call_later(0, park)
    assert parked.wait(5.0)
    return release


def test_a_clock_starts_no_thread_until_the_first_timer() -> None:
    before = timer_threads()
    RealClock()
    assert timer_threads() == before


def test_many_timers_share_one_daemon_thread() -> None:
    clock = RealClock()
    fired: list[int] = []
    count_before = threading.active_count()
    with fresh_timer_threads() as before:
        for i in range(200):
            clock.call_later(0.01 + 0.001 * (i % 20), lambda i=i: fired.append(i))
        assert threading.active_count() - count_before <= 1
        started = timer_threads() - before
        assert len(started) <= 1
        assert all(t.daemon for t in started)
        eventually(lambda: len(fired) == 200, message="every timer fired")
    assert sorted(fired) == list(range(200))


def test_callbacks_run_by_due_time_then_call_order() -> None:
    clock = RealClock()
    fired: list[str] = []
    with fresh_timer_threads():
        release = hold_the_timer_thread(clock)  # every timer below is queued before any of them runs
        clock.call_later(0.4, lambda: fired.append("a"))
        clock.call_later(0.0, lambda: fired.append("b"))
        clock.call_later(0.2, lambda: fired.append("c"))
        clock.call_later(0.0, lambda: fired.append("d"))
        release.set()
        eventually(lambda: len(fired) == 4, message="every timer fired")
    assert fired == ["b", "d", "c", "a"]


def test_a_cancelled_timer_never_fires_and_an_idle_thread_ends() -> None:
    clock = RealClock()
    fired: list[str] = []
    with fresh_timer_threads():
        release = hold_the_timer_thread(clock)
        clock.call_later(0.0, lambda: fired.append("cancelled")).cancel()
        later = clock.call_later(0.05, lambda: fired.append("kept"))
        release.set()
        eventually(lambda: fired == ["kept"], message="the kept timer fired")
        later.cancel()  # after it ran: a no-op
        pending = [clock.call_later(60.0, lambda: fired.append("never")) for _ in range(100)]
        for handle in pending:
            handle.cancel()  # the last cancel leaves nothing pending: the thread ends (checked on exit)
    assert fired == ["kept"]


def test_callbacks_run_without_the_timer_lock() -> None:
    clock = RealClock()
    with fresh_timer_threads():
        release = hold_the_timer_thread(clock)
        done = threading.Event()

        def schedule_and_cancel() -> None:
            clock.call_later(30.0, lambda: None).cancel()  # would block if the callback held the lock
            done.set()

        helper = threading.Thread(target=schedule_and_cancel)
        helper.start()
        assert done.wait(5.0), "call_later blocked while a callback ran"
        helper.join()
        release.set()


def test_a_failing_callback_is_logged_and_the_thread_goes_on() -> None:
    clock = RealClock()
    ran_in: list[threading.Thread] = []

    def broken() -> None:
        ran_in.append(threading.current_thread())
        raise RuntimeError("callback bug")

    with fresh_timer_threads():
        release = hold_the_timer_thread(clock)
        clock.call_later(0.0, broken)
        clock.call_later(0.0, lambda: ran_in.append(threading.current_thread()))
        release.set()
        eventually(lambda: len(ran_in) == 2, message="the second callback ran")
    assert ran_in[0] is ran_in[1]


@pytest.mark.parametrize("delay", [-1.0, 0.0])
def test_a_past_or_zero_delay_fires_at_once(delay: float) -> None:
    clock = RealClock()
    fired = threading.Event()
    with fresh_timer_threads():
        clock.call_later(delay, fired.set)
        assert fired.wait(5.0)

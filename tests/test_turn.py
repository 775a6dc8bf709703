"""pipeline.turn: one thread at a time holds a process's turn; a wait (model, page, back-off) gives it up."""

from __future__ import annotations

import threading
import time

from pipeline.turn import Turn, pause, released


def test_one_thread_at_a_time_holds_the_turn():
    turn, inside, most = Turn(), [0], [0]
    lock = threading.Lock()

    def work():
        with turn.held():
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.01)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1


def test_a_thread_waiting_without_its_turn_lets_another_work_and_gets_it_back():
    turn, order = Turn(), []
    waiting = threading.Event()

    def waiter():
        with turn.held():
            order.append("waiter starts")
            with released():
                waiting.set()
                time.sleep(0.2)  # the other thread takes the turn meanwhile
            order.append("waiter resumes")

    def worker():
        waiting.wait(5)
        with turn.held():
            order.append("worker")

    threads = [threading.Thread(target=waiter), threading.Thread(target=worker)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert order == ["waiter starts", "worker", "waiter resumes"]


def test_released_and_pause_outside_a_turn_just_wait():
    with released():
        pass
    started = time.monotonic()
    pause(0.01)
    assert time.monotonic() - started >= 0.01

"""Answers written by jobs of their own (coach/jobs.py): followed again after a page run is stopped,
cut off by a newer message, and forgotten once shown or abandoned."""

import threading
import time

import pytest

from coach.errors import ModelUnavailable
from coach.jobs import Job, Jobs


def words(gate: threading.Event | None = None, closed: list | None = None, fail: bool = False):
    """'a', 'b', then (once gate is set) 'c'; records in closed how it ended."""
    try:
        yield "a"
        yield "b"
        if gate is not None:
            gate.wait(5)
        if fail:
            raise ModelUnavailable("The model server stopped answering.", "Start it again.")
        yield "c"
        if closed is not None:
            closed.append("finished")
    except GeneratorExit:
        if closed is not None:
            closed.append("cut off")
        raise


def test_every_follower_gets_every_piece_from_the_first():
    job = Job(words())
    first = [p for p in job.follow() if p is not None]
    again = [p for p in job.follow() if p is not None]  # a later page run, after the job ended
    assert first == again == ["a", "b", "c"] and job.finished and job.error is None


def test_a_follower_waiting_for_a_piece_is_handed_none_meanwhile():
    """None is the page's chance to be stopped (a page change) while the model is slow to answer."""
    gate = threading.Event()
    job = Job(words(gate))
    seen = []
    for piece in job.follow(every=0.01):
        seen.append(piece)
        if seen.count(None) == 3:
            gate.set()
    assert [p for p in seen if p is not None] == ["a", "b", "c"] and seen.count(None) >= 3


def test_a_page_that_stops_following_leaves_the_job_running():
    gate, closed = threading.Event(), []
    job = Job(words(gate, closed))
    follower = job.follow(every=0.01)
    assert next(follower) == "a"
    follower.close()  # the page run was stopped
    gate.set()
    assert [p for p in job.follow() if p is not None] == ["a", "b", "c"] and closed == ["finished"]


def test_the_jobs_error_reaches_whoever_follows_it():
    job = Job(words(fail=True))
    with pytest.raises(ModelUnavailable):
        list(job.follow())
    with pytest.raises(ModelUnavailable):  # and the page run after it
        list(job.follow())


def test_cancelling_cuts_the_job_off_after_its_next_piece_and_closes_it():
    gate, closed = threading.Event(), []
    job = Job(words(gate, closed))
    follower = job.follow(every=0.01)
    assert [next(follower), next(follower)] == ["a", "b"]  # it now waits for the gate before "c"
    threading.Timer(0.05, gate.set).start()
    job.cancel(wait=5)
    assert job.finished and closed == ["cut off"]
    assert [p for p in job.follow() if p is not None] == ["a", "b", "c"]


def test_one_job_per_key_until_a_page_has_shown_it_to_the_end():
    jobs, started = Jobs(), []

    def start():
        started.append(1)
        return words()

    job = jobs.follow(("ann", "default", 1, 2), start)
    assert jobs.follow(("ann", "default", 1, 2), start) is job and len(started) == 1
    assert jobs.follow(("bob", "default", 1, 2), start) is not job  # another person's is their own
    list(job.follow())
    jobs.done(("ann", "default", 1, 2), job)
    assert jobs.follow(("ann", "default", 1, 2), start) is not job and len(started) == 3


def test_a_finished_job_nobody_came_back_for_is_forgotten():
    jobs = Jobs(keep=0.0)
    job = jobs.follow("k", words)
    list(job.follow())
    time.sleep(0.01)
    assert jobs.follow("other", words) is not None and "k" not in jobs._jobs  # noqa: SLF001


def test_cancel_by_key_and_running():
    gate, closed = threading.Event(), []
    jobs = Jobs()
    jobs.follow("k", lambda: words(gate, closed))
    assert jobs.running() == ["k"]
    threading.Timer(0.05, gate.set).start()
    jobs.cancel("k", wait=5)
    assert jobs.running() == [] and closed == ["cut off"]

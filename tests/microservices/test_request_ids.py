"""Request ids: Nest's shape, from the OS's CSPRNG, never handed out twice — across the
batches they are drawn in, across threads, and across a fork."""

from __future__ import annotations

import os
import re
import sys
import threading

import pytest

from nestpy.microservices.requests import new_request_id


def test_ids_have_nests_shape_and_never_repeat_across_draws() -> None:
    ids = [new_request_id() for _ in range(5_000)]  # about 20 draws of 256
    assert all(re.fullmatch(r"[0-9a-f]{21}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert len({i[:8] for i in ids}) > 4_900  # no shared prefix, no counter


def test_threads_drawing_at_once_never_get_the_same_id() -> None:
    results: list[list[str]] = [[] for _ in range(4)]

    def draw(into: list[str]) -> None:
        into.extend(new_request_id() for _ in range(3_000))

    threads = [threading.Thread(target=draw, args=(r,)) for r in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for r in results for i in r]
    assert len(set(every)) == len(every) == 12_000


@pytest.mark.skipif(sys.platform == "win32", reason="no fork")
def test_a_forked_child_does_not_reuse_the_parents_undrawn_ids() -> None:
    new_request_id()  # a batch is drawn: 255 ids wait in this process
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids and leave at once
        os.close(read)
        os.write(write, ",".join(new_request_id() for _ in range(10)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split(","))
    os.waitpid(pid, 0)
    parent = {new_request_id() for _ in range(10)}
    assert len(child) == 10
    assert not child & parent

"""Hostile: run_sequentially is right; run_concurrently forks 200 processes that sleep for 1000 s.

Bounded on purpose (200 in all, each exec'd into `sleep` at once), so even a grader
that limits nothing cannot lose the machine; the sleep's argument marks the strays.
"""
import os

FORKS = 200
forked = 0


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    global forked
    while forked < FORKS:
        forked += 1
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            try:
                os.execvp("sleep", ["sleep", "1000.42421"])
            finally:
                os._exit(1)
    return []

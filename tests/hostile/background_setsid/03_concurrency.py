"""Hostile: run_sequentially is right; run_concurrently starts a daemon the classic way (fork,
setsid, fork again), so the process sits in a session of its own, out of the checks' group."""
import os


def _daemon():
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                os.execvp("sleep", ["sleep", "1000.42423"])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    _daemon()
    return []

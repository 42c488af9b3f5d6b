"""Hostile: run_sequentially is right; run_concurrently reads address 0 through ctypes (a segfault)."""
import ctypes


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    ctypes.string_at(0)
    return []

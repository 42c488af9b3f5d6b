"""Hostile: run_sequentially is right; run_concurrently leaves `sleep` processes running behind it."""
import subprocess


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    subprocess.Popen(["sleep", "1000.42422"])
    return []

"""Hostile: run_sequentially is right; run_concurrently leaves `sleep` processes running behind it."""
import subprocess
import sys


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    # Windows has no `sleep` program: a Python that sleeps, with the same marker.
    sleep = ["sleep"] if sys.platform != "win32" else [sys.executable, "-c", "import sys, time; time.sleep(float(sys.argv[1]))"]
    subprocess.Popen([*sleep, "1000.42422"])
    return []

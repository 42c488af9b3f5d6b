"""A right solution that prints who it runs as: the uid, and the user namespace's uid map."""
import asyncio
import json
import os

try:
    with open("/proc/self/uid_map") as _file:
        _uid_map = _file.read()
except OSError:
    _uid_map = ""
_uid = os.getuid() if hasattr(os, "getuid") else None  # Windows has no uids
print("HOSTILE-UID " + json.dumps({"uid": _uid, "uid_map": _uid_map}), flush=True)


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    return list(await asyncio.gather(*(asyncio.create_task(worker(name, delay)) for name, delay in jobs)))

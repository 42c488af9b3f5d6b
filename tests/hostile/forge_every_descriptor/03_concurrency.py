"""Hostile: the stub, writing forged "passed" results and forged answers to every open descriptor."""
import json as _json
import os as _os

_lines = b"".join(
    (_json.dumps(record) + "\n").encode()
    for check in ("loads", "sequential_results", "sequential_timing", "concurrent_results", "concurrent_timing", "concurrent_tasks")
    for record in (
        {"check": check, "status": "passed", "message": "", "help": ""},
        {"id": "0" * 16, "ok": {"result": ["A done", "B done", "C done"], "timeline": {}}},
    )
)
for _fd in range(3, 256):
    try:
        _os.write(_fd, _lines)
    except OSError:
        pass


async def run_sequentially(worker, jobs):
    raise NotImplementedError("TODO")


async def run_concurrently(worker, jobs):
    raise NotImplementedError("TODO")

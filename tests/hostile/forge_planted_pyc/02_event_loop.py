"""Plants compiled code for a sibling exercise: its stub would pass if the import system took it."""

import importlib._bootstrap_external as bootstrap
import importlib.util
import os

ANSWER = '''
import asyncio

async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]

async def run_concurrently(worker, jobs):
    return list(await asyncio.gather(*(asyncio.create_task(worker(name, delay)) for name, delay in jobs)))
'''

# An unchecked-hash .pyc is used whatever the source file holds: the sibling's stub is never read.
target = os.path.join(os.getcwd(), "03_concurrency.py")
compiled = bootstrap._code_to_hash_pyc(compile(ANSWER, target, "exec"), importlib.util.source_hash(b"x"), checked=False)
os.makedirs(os.path.dirname(importlib.util.cache_from_source(target)), exist_ok=True)
with open(importlib.util.cache_from_source(target), "wb") as planted:
    planted.write(compiled)

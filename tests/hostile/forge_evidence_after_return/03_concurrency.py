"""Attack: run_concurrently runs the jobs one after another, then a task it leaves behind rewrites the
probe's evidence dict (the probe task's result) while the executor cancels leftover tasks, before it is sent."""
import asyncio


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def _rewrite(probe_task):
    try:
        await asyncio.sleep(10**9)
    except asyncio.CancelledError:  # the executor's _cancel_all_tasks, after the probe returned
        evidence = probe_task.result()
        t = evidence["timeline"]
        takes = {n: round(t["finished"][n] - t["started"][n], 6) for n in t["started"]}
        t["started"] = {n: 0.0 for n in takes}
        t["finished"] = dict(takes)
        t["in_caller"] = []
        t["waited_at"] = {}
        evidence["returned_at"] = max(takes.values())


async def run_concurrently(worker, jobs):
    asyncio.create_task(_rewrite(asyncio.current_task()))
    return [await worker(name, delay) for name, delay in jobs]

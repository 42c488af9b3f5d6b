"""Hostile: the stub, with a line that asks inspect for the whole stack and keeps every frame's locals."""
import inspect

_found = {name: value for info in inspect.stack() for name, value in info.frame.f_locals.items()}


async def run_sequentially(worker, jobs):
    raise NotImplementedError("TODO")


async def run_concurrently(worker, jobs):
    raise NotImplementedError("TODO")

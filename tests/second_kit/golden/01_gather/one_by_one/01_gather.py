async def run_all(worker, names):
    return [await worker(name, 1.0) for name in names]

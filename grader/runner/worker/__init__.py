"""The worker process: ``python -I -m grader.runner.worker`` (see :mod:`grader.runner.worker.__main__`)."""

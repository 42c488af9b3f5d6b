"""Batch grading: a class of submissions into a gradebook, feedback and a class report.

``finder`` and ``archives`` find each student's files in what platforms export,
``runner`` grades them in parallel and streams one record per student to disk,
``gradebook`` (with ``roster``, ``overrides``, ``flags``, ``feedback`` and
``class_report``) turns the records into the files a teacher reads, and ``merge``
combines the outputs of shards graded on several machines.
"""

from __future__ import annotations

from grader.batch.merge import MergeError, merge_outputs
from grader.batch.runner import BatchError, BatchOptions, BatchSummary, run_batch

__all__ = ["BatchError", "BatchOptions", "BatchSummary", "MergeError", "merge_outputs", "run_batch"]

"""Batch grading: a class of submissions into a gradebook, feedback and a class report.

``export``, ``finder``, ``archives`` and ``names`` find each student's uploads in what
platforms export, ``matching`` decides which file is which exercise (for ``grade PATH``
too, so this package imports nothing at its own import), ``runner`` grades them in
parallel and streams one record per student to disk, ``gradebook`` (with ``roster``,
``overrides``, ``late``, ``flags``, ``similarity``, ``feedback``, ``class_report`` and
``lms``) turns the records into the files a teacher reads, and ``merge`` combines the
outputs of shards graded on several machines (``shard``).
"""

"""The kit author's tools: ``grade kit check`` tells whether a kit is sound, ``grade new`` starts an exercise.

They run on the author's machine, with the kit's own files trusted; the code they grade
(solutions, stubs, golden fixtures, mutants) is graded as any submission is.
"""

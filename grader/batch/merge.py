"""``grade merge``: combine the outputs of the shards of one batch into one gradebook.

The shards must have been graded the same way (same kit, exercises, options, roster and
overrides: their manifests agree but for the shard) and together cover ``1/N`` … ``N/N``.
Their records and graded files are copied, and the gradebook is rebuilt from them: the
same bytes a single machine would have written.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from grader.batch.gradebook import GradebookSummary, build_gradebook
from grader.batch.shard import parse_shard
from grader.batch.store import Layout, Manifest
from grader.errors import GraderError

DIFFERENT = "{one} and {other} were not graded the same way ({field} differs); merge shards of one batch"
INCOMPLETE = "the shards given are {given}; a merge needs every shard of one batch, 1/{count} to {count}/{count}"
CONFLICT = "{slug} was graded in both {one} and {other}, with different results"
TARGET_IS_SOURCE = "the merged output must be a folder of its own, not one of the shards: {path}"


class MergeError(GraderError):
    """Shard outputs that cannot be merged into one gradebook."""


def merge_outputs(sources: list[Path], target: Path) -> GradebookSummary:
    """Merge the batch outputs ``sources`` into ``target``; what the gradebook holds."""
    layouts = [Layout(source) for source in sources]
    manifests = [layout.read_manifest() for layout in layouts]
    _check_same_batch(layouts, manifests)
    _check_shards(manifests)
    if target.resolve() in {source.resolve() for source in sources}:
        raise MergeError(TARGET_IS_SOURCE.format(path=target))
    merged = Layout(target)
    merged.create()
    for stale in merged.slugs():
        merged.record_path(stale).unlink()
        shutil.rmtree(merged.work / stale, ignore_errors=True)
    origin: dict[str, Path] = {}
    for layout in layouts:
        for slug in layout.slugs():
            _copy_student(layout, merged, slug, origin)
    merged.write_manifest(dataclasses.replace(manifests[0], shard=None))
    return build_gradebook(merged)


def _check_same_batch(layouts: list[Layout], manifests: list[Manifest]) -> None:
    first = dataclasses.asdict(manifests[0])
    for layout, manifest in zip(layouts[1:], manifests[1:], strict=True):
        other = dataclasses.asdict(manifest)
        for field in first:
            if field != "shard" and first[field] != other[field]:
                raise MergeError(DIFFERENT.format(one=layouts[0].root, other=layout.root, field=field))


def _check_shards(manifests: list[Manifest]) -> None:
    given = [m.shard for m in manifests]
    if not any(given):
        return
    shards = [parse_shard(s) if s else None for s in given]
    count = next(s.count for s in shards if s)
    if sorted(s.index for s in shards if s and s.count == count) != list(range(1, count + 1)) or len(shards) != count:
        raise MergeError(INCOMPLETE.format(given=", ".join(s or "unsharded" for s in given), count=count))


def _copy_student(source: Layout, merged: Layout, slug: str, origin: dict[str, Path]) -> None:
    record = source.record_path(slug)
    target = merged.record_path(slug)
    if slug in origin:
        if target.read_bytes() != record.read_bytes():
            raise MergeError(CONFLICT.format(slug=slug, one=origin[slug], other=source.root))
        return
    origin[slug] = source.root
    shutil.copyfile(record, target)
    graded = source.submission(slug)
    if graded.is_dir():
        shutil.copytree(graded, merged.submission(slug), dirs_exist_ok=True)

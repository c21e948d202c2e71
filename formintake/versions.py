"""The version document: what the pipeline stores for one processed object version.

Stored as ``state/<campaign>/versions/<vid>.json`` (:class:`~formintake.keys.ResultKeys`) the moment the
version is processed, so a run that dies halfway keeps what it finished.
"""

from __future__ import annotations

from formintake.models import Held, Record, SourceInfo


class VersionDoc(Held):
    """A held model (models.Held): every field reported as set, its run ids interned."""

    _INTERNED = ("first_seen_run", "processed_run")

    vid: str  # version_id_of(the object version): stable, file-safe
    first_seen_run: str  # the run that first took the version in (kept by a --full re-run): corrections are judged by it
    processed_run: str  # the run that last extracted it
    extract_ms: float | None = None
    same_content_as: str | None = None  # vid whose extraction was reused (same key, same bytes)
    record: Record  # the version's own record (before linking and batch rules)

    @property
    def source(self) -> SourceInfo:
        return self.record.source

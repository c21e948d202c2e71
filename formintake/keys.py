"""Where a campaign's results live in the results store (outputs.md, *Results*): every key, in one place.

    state/<campaign>/versions/seg-<run>-….jsonl   version documents (VersionDoc) as a run stored them, many each
    state/<campaign>/versions/index.jsonl      every version document, and the segments it holds
                                               (formintake.versions: the state's layout and how it is read)
    state/<campaign>/versions/<vid>.json      older layout, still read: one version document per version
    state/<campaign>/versions-index.json      older layout, still read: the index of the last finished run
    state/<campaign>/runs.json                the run history
    state/<campaign>/findings/<run_id>.json   each run's findings, for the next run's new/resolved marks
    state/<campaign>/waivers.json             reviewers' waivers
    state/<campaign>/records-index.json       sha256 of each records/ file as last written
    state/<campaign>/watch.json               what `formintake watch` has announced as Prefect events
    records/<campaign>/<application_id>.json  the current record of every application
    records/<campaign>/applications.*         all records as jsonl / csv / xlsx
    reports/<campaign>/<run_id>/exceptions.*  one run's reports
    reports/<campaign>/latest/…               the last complete run's reports and manifest.json
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResultKeys:
    """The result keys of one campaign."""

    campaign: str

    @property
    def versions_prefix(self) -> str:
        return f"state/{self.campaign}/versions/"

    def version_segment(self, run_id: str, written: str, token: str) -> str:
        """Version documents a run stored together (formintake.versions.SegmentWriter); the names sort by
        run, then by when they were written."""
        return f"{self.versions_prefix}seg-{run_id}-{written}-{token}.jsonl"

    @property
    def versions_base(self) -> str:
        """Every version document and the segments it holds (formintake.versions.write_index)."""
        return f"{self.versions_prefix}index.jsonl"

    def version_record(self, vid: str) -> str:
        """The older layout's one document per version (read, no longer written)."""
        return f"{self.versions_prefix}{vid}.json"

    @property
    def versions_index(self) -> str:
        """The older layout's index (read while no ``versions/index.jsonl`` exists, no longer written)."""
        return f"state/{self.campaign}/versions-index.json"

    @property
    def runs(self) -> str:
        return f"state/{self.campaign}/runs.json"

    def findings_snapshot(self, run_id: str) -> str:
        return f"state/{self.campaign}/findings/{run_id}.json"

    @property
    def records_index(self) -> str:
        """sha256 of every records/ file as last written: a file is rewritten only when it changed."""
        return f"state/{self.campaign}/records-index.json"

    @property
    def application_rows(self) -> str:
        """applications.csv / .xlsx rows as rendered, by record digest (steps.publish: reused while a record stays)."""
        return f"state/{self.campaign}/applications-rows.bin"

    @property
    def waivers(self) -> str:
        return f"state/{self.campaign}/waivers.json"

    @property
    def watch_state(self) -> str:
        """What `formintake watch` has announced (version ids as in versions_prefix)."""
        return f"state/{self.campaign}/watch.json"

    def record(self, application_id: str) -> str:
        return f"records/{self.campaign}/{application_id}.json"

    def records_file(self, name: str) -> str:
        return f"records/{self.campaign}/{name}"

    def report(self, run_id: str, name: str) -> str:
        return f"reports/{self.campaign}/{run_id}/{name}"

    def run_reports_prefix(self, run_id: str) -> str:
        return f"reports/{self.campaign}/{run_id}/"

    @property
    def latest_prefix(self) -> str:
        return f"reports/{self.campaign}/latest/"

    def latest(self, name: str) -> str:
        return f"{self.latest_prefix}{name}"

"""Where a campaign's results live in the results store (outputs.md, *Results*): every key, in one place.

    state/<campaign>/versions/<vid>.json      one version document per object version (VersionDoc)
    state/<campaign>/versions-index.json      every version document of the last finished run, in one object
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

    def version_record(self, vid: str) -> str:
        return f"{self.versions_prefix}{vid}.json"

    @property
    def versions_index(self) -> str:
        """The plan reads every earlier version with this one GET (not one per version)."""
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

"""Link: group version documents into applications (chains of corrections).

A later version of the same key continues its chain. A new key filed under the same recommender folder
that is the same project (:mod:`formintake.identity`) as a chain's current upload continues that chain
only if it was taken in by a later run than that upload (a correction after the earlier one was
processed); two such keys first seen in the same run are two filings of one project (left to
DUPLICATE_APPLICATION).

Chains are indexed by (recommender folder, USCC, direction) of their current upload, so a new key is
compared by name only with the chains of its own bucket.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass

from formintake.config import Campaign
from formintake.identity import identity_of, near_same
from formintake.models import Record
from formintake.versions import VersionDoc


def application_id_for(campaign: str, first_key: str) -> str:
    """Stable across corrections: derived from the first upload of the application's chain."""
    return f"{campaign}-{hashlib.sha1(first_key.encode('utf-8', 'surrogatepass')).hexdigest()[:10]}"


@dataclass
class Chain:
    application_id: str
    versions: list[VersionDoc]  # oldest first; the last is the current one
    seq: int = 0  # creation order: a new key joins the earliest-created matching chain

    @property
    def current(self) -> VersionDoc:
        return self.versions[-1]


def link_versions(docs: list[VersionDoc], campaign: Campaign) -> list[Chain]:
    """Group version docs (given oldest first, as the plan lists them) into applications (module doc)."""
    ratio = campaign.thresholds.near_same_name_ratio
    chains: list[Chain] = []
    by_key: dict[str, Chain] = {}
    buckets: dict[tuple, list[Chain]] = {}  # chains by the bucket of their current upload, in creation order
    bucket_of: dict[int, tuple] = {}  # chain seq -> its bucket
    idents = {id(d): identity_of(d.record) for d in docs}

    def bucket(d: VersionDoc) -> tuple | None:
        ident = idents[id(d)]
        return None if ident is None else (d.source.recommender_path, *ident.group)

    for d in docs:
        key = d.source.key
        chain = by_key.get(key)
        ident = idents[id(d)]
        if chain is None and ident is not None:
            for c in buckets.get(bucket(d), ()):
                cur = c.current
                if near_same(idents[id(cur)].name, ident.name, ratio) and cur.first_seen_run < d.first_seen_run:  # type: ignore[union-attr]
                    chain = c
                    break
        if chain is None:
            chain = Chain(application_id_for(campaign.id, key), [], seq=len(chains))
            chains.append(chain)
        chain.versions.append(d)
        by_key[key] = chain
        # the chain's current upload changed: file it under its (possibly new) bucket
        old, new = bucket_of.pop(chain.seq, None), bucket(d)
        if old is not None:
            buckets[old].remove(chain)
        if new is not None:
            bisect.insort(buckets.setdefault(new, []), chain, key=lambda c: c.seq)
            bucket_of[chain.seq] = new
    return chains


def _own_copy(r: Record) -> Record:
    """A copy the later steps may change without touching the version document: they assign a record's
    own attributes (status, findings, supersedes …) and a finding's (change, waiver), and change nothing
    deeper (fields, evidence and sources are shared, read only). A deep copy cost more than linking."""
    own = r.model_copy()
    own.findings = [f.model_copy() for f in r.findings]
    own.resolved_findings = [f.model_copy() for f in r.resolved_findings]
    return own


def records_of(chains: list[Chain]) -> tuple[list[Record], list[Record]]:
    """Each chain's current record (knowing what it supersedes) and the superseded ones (status
    ``superseded``, knowing what superseded them), all carrying the application id."""
    current: list[Record] = []
    superseded: list[Record] = []
    for chain in chains:
        recs = [_own_copy(d.record) for d in chain.versions]
        for r in recs:
            r.application_id = chain.application_id
        cur = recs[-1]
        cur.supersedes = [r.source for r in recs[:-1]]
        for old, nxt in zip(recs[:-1], recs[1:]):
            old.status = "superseded"
            old.superseded_by = nxt.source
            superseded.append(old)
        current.append(cur)
    return current, superseded

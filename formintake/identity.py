""""The same project": same USCC, same direction, and the same or a near-same project name.

One definition serves both places that ask: linking a new upload to the application it corrects
(:mod:`formintake.steps.link`) and the batch rule DUPLICATE_APPLICATION. Names are compared as
``name_key``s (folded, brackets dropped); near-same means a difflib ratio of at least the campaign's
``thresholds.near_same_name_ratio``. Only records with a USCC, a direction and a name take part.

Comparisons are made only within a group of the same USCC and direction (:attr:`ProjectIdentity.group`),
never across the whole batch.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from formintake.models import Record
from formintake.text import fold, name_key

T = TypeVar("T")


@dataclass(frozen=True)
class ProjectIdentity:
    uscc: str  # folded, upper case
    direction: str
    name: str  # name_key of the project name

    @property
    def group(self) -> tuple[str, str]:
        """Only identities of one group can be the same project."""
        return (self.uscc, self.direction)


def identity_of(record: Record) -> ProjectIdentity | None:
    uscc = fold(str(record.fields.get("uscc") or "")).upper()
    name = name_key(record.fields.get("project_name"))
    if not (uscc and name and record.direction):
        return None
    return ProjectIdentity(uscc, record.direction, name)


def near_same(a: str, b: str, ratio: float) -> bool:
    return a == b or difflib.SequenceMatcher(None, a, b).ratio() >= ratio


def same_project(a: ProjectIdentity | None, b: ProjectIdentity | None, ratio: float) -> bool:
    return a is not None and b is not None and a.group == b.group and near_same(a.name, b.name, ratio)


def group_by(items: Iterable[T], key: Callable[[T], Hashable | None]) -> dict[Hashable, list[T]]:
    """Items by ``key`` (insertion order kept); items whose key is None are left out."""
    groups: dict[Hashable, list[T]] = defaultdict(list)
    for item in items:
        k = key(item)
        if k is not None:
            groups[k].append(item)
    return groups


def same_project_clusters(records: Iterable[Record], ratio: float) -> list[list[Record]]:
    """Records that are the same project, closed transitively (A~B, B~C: one cluster), clusters of two
    or more, in first-seen order. Compares only within a group of the same USCC and direction."""
    out: list[list[Record]] = []
    with_id = [(r, i) for r in records if (i := identity_of(r)) is not None]
    for group in group_by(with_id, lambda ri: ri[1].group).values():
        same = [r for r, _ in group]
        parent = list(range(len(same)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        names = [i.name for _, i in group]
        for i in range(len(same)):
            for j in range(i + 1, len(same)):
                if near_same(names[i], names[j], ratio):
                    parent[root(j)] = root(i)
        clusters: dict[int, list[Record]] = defaultdict(list)
        for i, r in enumerate(same):
            clusters[root(i)].append(r)
        out.extend(c for c in clusters.values() if len(c) >= 2)
    return out

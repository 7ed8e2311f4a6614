"""Structure groups: (energy window, space group | all) of one landscape.

``groups.csv`` has one row per (window, group, structure id); the group
``all`` is every selected space group combined.  Space groups appear in paths
as slugs (``P2_1/c`` -> ``P21_c``).
"""

from __future__ import annotations

import re

import pandas as pd


from .symmetry import TOP10

COMBINED = "all"
GROUP_COLUMNS = ["window", "group", "spacegroup_number", "id"]


def slug(symbol: str) -> str:
    """A path-safe name of a space-group symbol: 'P2_1/c' -> 'P21_c', 'P 21 21 21' -> 'P212121'."""
    return re.sub(r"\s+", "", symbol).replace("_", "").replace("/", "_")


def window_name(window: float) -> str:
    """'10' for 10.0, '7.5' for 7.5: the window as it appears in paths."""
    return f"{window:g}"


def selected_numbers(manifest: pd.DataFrame, spacegroups) -> list[int]:
    """Space-group numbers selected by the config value (top10 | all | list), present in the data."""
    present = sorted(set(manifest.spacegroup_number))
    if spacegroups == "top10":
        return [n for n in TOP10 if n in present]
    if spacegroups == "all":
        return present
    wanted = set()
    by_slug = {slug(s): int(n) for s, n in zip(manifest.spacegroup, manifest.spacegroup_number)}
    for item in spacegroups:
        if isinstance(item, int) or str(item).isdigit():
            wanted.add(int(item))
        elif slug(str(item)) in by_slug:
            wanted.add(by_slug[slug(str(item))])
    return [n for n in present if n in wanted]


def make_groups(manifest: pd.DataFrame, windows, spacegroups="top10") -> pd.DataFrame:
    """Rows (window, group, spacegroup_number, id) for every window and selected space group."""
    numbers = selected_numbers(manifest, spacegroups)
    chosen = manifest[manifest.spacegroup_number.isin(numbers)]
    rows = []
    for window in sorted(windows):
        inside = chosen[chosen.rel_energy <= window + 1e-9]
        for number, sub in inside.groupby("spacegroup_number", sort=False):
            name = slug(sub.spacegroup.iloc[0])
            rows += [(window_name(window), name, int(number), i) for i in sub.id]
        rows += [(window_name(window), COMBINED, 0, i) for i in inside.id]
    return pd.DataFrame(rows, columns=GROUP_COLUMNS)


def group_sizes(groups: pd.DataFrame) -> pd.DataFrame:
    """Structures per (window, group)."""
    return groups.groupby(["window", "group"], sort=False).size().rename("n").reset_index()

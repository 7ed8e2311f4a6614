"""Structure groups: (energy window, space group | all) of one landscape.

``groups.csv`` has one row per (window, group, structure id); the group
``all`` is every selected space group combined.  Space groups appear in paths
as slugs (``P2_1/c`` -> ``P21_c``).  Windows are kJ/mol above the landscape's
minimum; when structures lie above the largest configured window, the window
``inf`` (the whole landscape) is added, so that no structure is left out of
every analysis.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd


from .symmetry import TOP10

COMBINED = "all"
GROUP_COLUMNS = ["window", "group", "spacegroup_number", "id"]


def slug(symbol: str) -> str:
    """A path-safe name of a space-group symbol: 'P2_1/c' -> 'P21_c', 'P 21 21 21' -> 'P212121'."""
    return re.sub(r"\s+", "", symbol).replace("_", "").replace("/", "_")


WHOLE = float("inf")


def window_name(window: float) -> str:
    """'10' for 10.0, '7.5' for 7.5, 'inf' for the whole landscape: the window as it appears in paths."""
    return f"{window:g}"


def windows_of(manifest: pd.DataFrame, windows) -> list[float]:
    """The configured windows, sorted, and ``inf`` when structures lie above the largest."""
    out = sorted(float(w) for w in windows)
    if not out or manifest.rel_energy.max() > out[-1] + 1e-9:
        out.append(WHOLE)
    return out


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
    for window in windows_of(manifest, windows):
        inside = chosen[chosen.rel_energy <= window + 1e-9]
        for number, sub in inside.groupby("spacegroup_number", sort=False):
            name = slug(sub.spacegroup.iloc[0])
            rows += [(window_name(window), name, int(number), i) for i in sub.id]
        rows += [(window_name(window), COMBINED, 0, i) for i in inside.id]
    return pd.DataFrame(rows, columns=GROUP_COLUMNS)


def group_sizes(groups: pd.DataFrame) -> pd.DataFrame:
    """Structures per (window, group)."""
    return groups.groupby(["window", "group"], sort=False).size().rename("n").reset_index()


def group_stamps(groups: pd.DataFrame, manifest: pd.DataFrame) -> dict[str, str]:
    """A digest of what each group's downstream jobs read, keyed by a relative path.

    * ``spacegroup/{slug}.sha256``: the ids and content hashes of a space
      group's structures in any window (what its descriptor job computes);
    * ``{window}/{group}.sha256``: the manifest rows (all but the source path)
      of a (window, group) (what its analysis reads).

    Snakemake compares these small files by content (input checksums) when
    ``select`` reruns after new data: a job whose stamp did not change is not
    rerun, so new structures rerun only the groups they join.
    """
    rows = manifest.drop(columns=[c for c in ("source",) if c in manifest]).set_index("id")

    def digest(ids, columns=None) -> str:
        part = rows.loc[sorted(set(ids))]
        if columns is not None:
            part = part[columns]
        return hashlib.sha256(part.to_csv().encode()).hexdigest()

    stamps = {}
    for group, sub in groups[groups.group != COMBINED].groupby("group"):
        stamps[f"spacegroup/{group}.sha256"] = digest(sub.id, ["hash", "n_atoms"])
    for (window, group), sub in groups.groupby(["window", "group"]):
        stamps[f"{window}/{group}.sha256"] = digest(sub.id)
    return stamps


def write_stamps(groups: pd.DataFrame, manifest: pd.DataFrame, outdir: str | Path) -> int:
    """Write :func:`group_stamps` under ``outdir``; returns how many."""
    from .store import atomic_path

    stamps = group_stamps(groups, manifest)
    for rel, value in stamps.items():
        with atomic_path(Path(outdir) / rel) as tmp:
            Path(tmp).write_text(value + "\n")
    return len(stamps)

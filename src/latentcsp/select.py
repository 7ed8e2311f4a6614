"""Structure groups: (energy window, space group | all) of one landscape, and the plan they fill.

``groups.csv`` has one row per (window, group, structure id); the group
``all`` is every selected space group combined.  Space groups appear in paths
as slugs (``P2_1/c`` -> ``P21_c``, from the number's standard symbol).

The plan is known before any data is read: every configured window and the
window ``inf`` (the whole landscape), times every listed space group
(:func:`planned_spacegroups`; ``top10`` or a list) and ``all``.  Which of the
planned groups hold enough structures is known once the manifest exists;
:func:`selection` says so, group by group, with the reason for every group
that is skipped:

* a landscape without energies (no structure has one) has the window ``inf``
  only: an energy window needs energies;
* the window ``inf`` is skipped when every structure lies within the largest
  configured window (it would repeat that window);
* a (window, group) with fewer than ``min_group_size`` structures is skipped;
* a space group without structures in any window gets no descriptors.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd  # imported where a table is made

from .structure.symmetry import TOP10, spacegroup_number, spacegroup_symbol

COMBINED = "all"
GROUP_COLUMNS = ["window", "group", "spacegroup_number", "id"]
WHOLE = float("inf")


def slug(symbol: str) -> str:
    """A path-safe name of a space-group symbol: 'P2_1/c' -> 'P21_c', 'P 21 21 21' -> 'P212121'."""
    return re.sub(r"\s+", "", symbol).replace("_", "").replace("/", "_")


def spacegroup_slug(spacegroup) -> str:
    """The slug of a space group given by number or symbol, from its standard symbol: 14 -> 'P21_c'."""
    return slug(spacegroup_symbol(spacegroup))


def window_name(window: float) -> str:
    """'10' for 10.0, '7.5' for 7.5, 'inf' for the whole landscape: the window as it appears in paths."""
    return f"{window:g}"


def planned_windows(windows) -> list[str]:
    """Names of the windows a landscape's groups are planned for: the configured ones, sorted, and 'inf'."""
    return [window_name(w) for w in sorted({float(w) for w in windows})] + [window_name(WHOLE)]


def listed_numbers(spacegroups) -> list[int] | None:
    """Space-group numbers of a listed selection (``top10`` or a list of symbols and numbers), in
    that order; None for ``all``, whose groups are known only from the data."""
    if spacegroups == "all":
        return None
    numbers = TOP10 if spacegroups == "top10" else [spacegroup_number(s) for s in spacegroups]
    return list(dict.fromkeys(numbers))


def planned_spacegroups(spacegroups) -> list[str] | None:
    """Slugs of :func:`listed_numbers`; None for ``all``."""
    numbers = listed_numbers(spacegroups)
    return None if numbers is None else [spacegroup_slug(n) for n in numbers]


def has_energies(manifest: pd.DataFrame) -> bool:
    """True when at least one structure of the landscape has an energy."""
    return bool(manifest.rel_energy.notna().any())


def window_reasons(manifest: pd.DataFrame, windows) -> dict[str, str | None]:
    """Each planned window name -> None when it is analysed, else why it is not."""
    names = planned_windows(windows)
    largest = max(float(w) for w in windows)
    if not has_energies(manifest):
        why = "the landscape has no energies: its only window is inf, every structure"
        return {name: (None if name == window_name(WHOLE) else why) for name in names}
    above = manifest.rel_energy.max() > largest + 1e-9
    return {name: (None if name != window_name(WHOLE) or above else
                   f"every structure lies within {window_name(largest)} kJ/mol of the minimum: "
                   f"inf would repeat the window {window_name(largest)}")
            for name in names}


def windows_of(manifest: pd.DataFrame, windows) -> list[float]:
    """The windows analysed for this landscape (kJ/mol, ``inf`` last): see :func:`window_reasons`."""
    return [float(name) for name, why in window_reasons(manifest, windows).items() if why is None]


def selected_numbers(manifest: pd.DataFrame, spacegroups) -> list[int]:
    """Space-group numbers selected by the config value (top10 | all | list), present in the data."""
    present = sorted(set(manifest.spacegroup_number))
    if spacegroups == "all":
        return present
    wanted = set(listed_numbers(spacegroups))
    return [n for n in present if n in wanted]


def make_groups(manifest: pd.DataFrame, windows, spacegroups="top10") -> pd.DataFrame:
    """Rows (window, group, spacegroup_number, id) for every analysed window and selected space group."""
    import pandas as pd

    numbers = selected_numbers(manifest, spacegroups)
    chosen = manifest[manifest.spacegroup_number.isin(numbers)]
    rows = []
    for window in windows_of(manifest, windows):
        inside = chosen if math.isinf(window) else chosen[chosen.rel_energy <= window + 1e-9]
        for number, sub in inside.groupby("spacegroup_number", sort=False):
            rows += [(window_name(window), spacegroup_slug(int(number)), int(number), i) for i in sub.id]
        rows += [(window_name(window), COMBINED, 0, i) for i in inside.id]
    return pd.DataFrame(rows, columns=GROUP_COLUMNS)


def group_sizes(groups: pd.DataFrame) -> pd.DataFrame:
    """Structures per (window, group)."""
    return groups.groupby(["window", "group"], sort=False).size().rename("n").reset_index()


def selection(name: str, manifest: pd.DataFrame, groups: pd.DataFrame, windows, spacegroups,
              min_group_size: int) -> dict:
    """What becomes of every planned group of a landscape (``selection.json``).

    ``spacegroups``: per space group (the listed ones, or every one present
    for ``all``) its structures in any analysed window ``n``, their
    symmetry-independent atoms ``centre_atoms`` (the descriptor job's work),
    ``status`` ("ok" or "skipped") and ``reason``; ``groups``: the same per
    planned (window, group); ``windows``: per planned window.
    """
    planned = planned_spacegroups(spacegroups)
    if planned is None:
        planned = [spacegroup_slug(n) for n in selected_numbers(manifest, "all")]
    reasons = window_reasons(manifest, windows)
    centre = (manifest.n_atoms / manifest.z.clip(lower=1) * manifest.zprime).set_axis(manifest.id)
    members = groups[groups.group != COMBINED].drop_duplicates(["group", "id"])
    spacegroup_rows = []
    for group in planned:
        ids = members.id[members.group == group]
        why = None if len(ids) else f"no structure in {group} in any analysed window"
        spacegroup_rows.append({"group": group, "n": int(len(ids)), "centre_atoms": float(centre[ids].sum()),
                                **_status(why)})
    sizes = {(w, g): n for w, g, n in group_sizes(groups).itertuples(index=False)}
    group_rows = []
    for window, window_why in reasons.items():
        for group in [*planned, COMBINED]:
            n = sizes.get((window, group), 0)
            why = window_why or (None if n >= min_group_size else
                                 f"{n} structures within {window} kJ/mol, fewer than min_group_size = {min_group_size}")
            group_rows.append({"window": window, "group": group, "n": int(n), **_status(why)})
    return {"landscape": name, "n_structures": int(len(manifest)), "has_energies": has_energies(manifest),
            "min_group_size": int(min_group_size),
            "windows": [{"window": w, **_status(why)} for w, why in reasons.items()],
            "spacegroups": spacegroup_rows, "groups": group_rows}


def entry(selection: dict, group: str, window: str | None = None) -> dict:
    """The selection's entry of a space group (``window`` None) or of a (window, group); a group
    outside the plan is skipped."""
    rows = selection["spacegroups"] if window is None else selection["groups"]
    for row in rows:
        if row["group"] == group and (window is None or row["window"] == window):
            return row
    where = group if window is None else f"{window}/{group}"
    return {"group": group, "window": window, "n": 0, "centre_atoms": 0.0, "status": "skipped",
            "reason": f"{where} is not in the plan of landscape {selection.get('landscape')!r}"}


def _status(reason: str | None) -> dict:
    return {"status": "ok" if reason is None else "skipped", "reason": reason}


def group_stamps(groups: pd.DataFrame, manifest: pd.DataFrame, chosen: dict) -> dict[str, str]:
    """A digest of what each planned group's jobs read, keyed by a relative path.

    * ``spacegroup/{slug}.sha256``: the ids and content hashes of a space
      group's structures in any window (what its descriptor job computes);
    * ``{window}/{group}.sha256``: the manifest rows (all but the source path)
      of a (window, group) (what its analysis reads) and whether it is skipped.

    Every group of the plan (``chosen``, from :func:`selection`) has one,
    empty groups too.  Snakemake compares these small files by content
    (input checksums) when ``select`` reruns after new data: a job whose
    stamp did not change is not rerun, so new structures rerun only the
    groups they join.
    """
    rows = manifest.drop(columns=[c for c in ("source",) if c in manifest]).set_index("id")

    def digest(ids, columns=None, status="") -> str:
        part = rows.loc[sorted(set(ids))]
        if columns is not None:
            part = part[columns]
        return hashlib.sha256((part.to_csv() + status).encode()).hexdigest()

    members = groups[groups.group != COMBINED]
    stamps = {}
    for entry in chosen["spacegroups"]:
        stamps[f"spacegroup/{entry['group']}.sha256"] = digest(members.id[members.group == entry["group"]],
                                                               ["hash", "n_atoms"])
    for entry in chosen["groups"]:
        window, group = entry["window"], entry["group"]
        ids = groups.id[(groups.window == window) & (groups.group == group)]
        stamps[f"{window}/{group}.sha256"] = digest(ids, status=f"{entry['status']}: {entry['reason']}")
    return stamps


def write_stamps(groups: pd.DataFrame, manifest: pd.DataFrame, chosen: dict, outdir: str | Path) -> int:
    """Write :func:`group_stamps` under ``outdir``; returns how many."""
    from .store import atomic_path

    stamps = group_stamps(groups, manifest, chosen)
    for rel, value in stamps.items():
        with atomic_path(Path(outdir) / rel) as tmp:
            Path(tmp).write_text(value + "\n")
    return len(stamps)

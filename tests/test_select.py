"""The plan of a landscape's groups and what select makes of it: windows, space groups, skips, stamps."""

import pandas as pd

from latentcsp.cli import main
from latentcsp.select import (group_stamps, make_groups, planned_spacegroups, planned_windows, selection,
                              spacegroup_slug)
from latentcsp.store import read_groups, read_json
from latentcsp.structure.symmetry import TOP10, spacegroup_symbol


def _manifest(energies, numbers):
    n = len(energies)
    return pd.DataFrame({
        "id": [f"s{k}" for k in range(n)], "source": "f", "energy": energies, "rel_energy": energies,
        "spacegroup_number": numbers, "spacegroup": [spacegroup_symbol(x) for x in numbers],
        "z": 4, "zprime": 1.0, "n_atoms": 24, "hash": [f"h{k}" for k in range(n)],
    })


def test_the_plan_is_known_before_the_data():
    assert planned_windows([20, 10]) == ["10", "20", "inf"]
    assert planned_windows([7.5]) == ["7.5", "inf"]
    top = planned_spacegroups("top10")
    assert top[:3] == ["P21_c", "C2_c", "P212121"] and len(top) == 10
    assert top == [spacegroup_slug(n) for n in TOP10]
    assert planned_spacegroups(["P 21/c", 2, "227", "P2_1/c"]) == ["P21_c", "P-1", "Fd-3m"]
    assert planned_spacegroups("all") is None


def test_selection_says_why_each_planned_group_is_skipped():
    man = _manifest([0, 1, 2, 3, 12, 13, 25], [14, 14, 14, 2, 14, 2, 14])
    groups = make_groups(man, [10, 20], "top10")
    chosen = selection("m", man, groups, [10, 20], "top10", min_group_size=2)
    status = {(g["window"], g["group"]): (g["n"], g["status"]) for g in chosen["groups"]}
    assert len(status) == 3 * 11  # every planned window x (top10 + all), present or not
    assert status["10", "P21_c"] == (3, "ok") and status["10", "P-1"] == (1, "skipped")
    assert status["20", "P-1"] == (2, "ok") and status["inf", "all"] == (7, "ok")
    assert status["10", "C2_c"] == (0, "skipped")
    reasons = {(g["window"], g["group"]): g["reason"] for g in chosen["groups"]}
    assert "fewer than min_group_size = 2" in reasons["10", "P-1"]
    sg = {s["group"]: s for s in chosen["spacegroups"]}
    assert sg["P21_c"]["n"] == 5 and sg["P21_c"]["centre_atoms"] == 5 * 6.0  # 24 atoms, Z = 4, Z' = 1
    assert sg["C2_c"]["status"] == "skipped" and "no structure" in sg["C2_c"]["reason"]
    assert chosen["has_energies"] and all(w["status"] == "ok" for w in chosen["windows"])

    within = _manifest([0, 1, 2], [14, 14, 14])  # nothing above 20 kJ/mol: inf would repeat the window 20
    chosen = selection("m", within, make_groups(within, [10, 20], "top10"), [10, 20], "top10", 2)
    windows = {w["window"]: w for w in chosen["windows"]}
    assert windows["inf"]["status"] == "skipped" and "repeat the window 20" in windows["inf"]["reason"]
    assert all(g["status"] == "skipped" for g in chosen["groups"] if g["window"] == "inf")


def test_a_landscape_without_energies_has_the_window_inf_only():
    man = _manifest([float("nan")] * 4, [14, 14, 14, 2])
    groups = make_groups(man, [10, 20], ["P2_1/c", "P-1"])
    assert set(groups.window) == {"inf"}
    chosen = selection("m", man, groups, [10, 20], ["P2_1/c", "P-1"], 2)
    assert not chosen["has_energies"]
    reasons = {w["window"]: w["reason"] for w in chosen["windows"]}
    assert reasons["inf"] is None and "no energies" in reasons["10"] and reasons["10"] == reasons["20"]
    ok = {(g["window"], g["group"]) for g in chosen["groups"] if g["status"] == "ok"}
    assert ok == {("inf", "P21_c"), ("inf", "all")}  # P-1 has one structure


def test_spacegroups_all_plans_what_is_present():
    man = _manifest([0, 1, 2], [14, 227, 227])
    chosen = selection("m", man, make_groups(man, [10], "all"), [10], "all", 2)
    assert [s["group"] for s in chosen["spacegroups"]] == ["P21_c", "Fd-3m"]


def test_every_planned_group_has_a_stamp_and_new_structures_change_only_theirs():
    man = _manifest([0, 1, 2, 3], [14, 14, 2, 2])
    groups = make_groups(man, [10], "top10")
    before = group_stamps(groups, man, selection("m", man, groups, [10], "top10", 2))
    assert len(before) == 10 + 2 * 11 and "spacegroup/C2_c.sha256" in before and "inf/Pbca.sha256" in before
    more = pd.concat([man, _manifest([5], [14]).assign(id="new", hash="hnew")], ignore_index=True)
    groups = make_groups(more, [10], "top10")
    after = group_stamps(groups, more, selection("m", more, groups, [10], "top10", 2))
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"spacegroup/P21_c.sha256", "10/P21_c.sha256", "10/all.sha256"}


def test_cli_select_writes_groups_selection_and_stamps(tmp_path):
    _manifest([0, 1, 2, 30], [14, 14, 2, 14]).to_csv(tmp_path / "manifest.csv", index=False)
    main(["select", "--name", "m", "--manifest", str(tmp_path / "manifest.csv"), "--windows", "10",
          "--spacegroups", '["P21/c", "P-1"]', "--min-group-size", "2", "--out", str(tmp_path / "groups.csv"),
          "--selection", str(tmp_path / "selection.json"), "--stamps", str(tmp_path / "stamps")])
    groups = read_groups(tmp_path / "groups.csv")
    assert set(groups.window) == {"10", "inf"} and groups.id.map(type).eq(str).all()
    chosen = read_json(tmp_path / "selection.json")
    assert chosen["landscape"] == "m" and chosen["min_group_size"] == 2
    assert sorted(p.relative_to(tmp_path / "stamps").as_posix() for p in (tmp_path / "stamps").rglob("*.sha256")) == [
        "10/P-1.sha256", "10/P21_c.sha256", "10/all.sha256", "inf/P-1.sha256", "inf/P21_c.sha256",
        "inf/all.sha256", "spacegroup/P-1.sha256", "spacegroup/P21_c.sha256"]


def test_slugs_are_path_safe_and_tell_every_space_group_apart():
    names = [spacegroup_slug(n) for n in range(1, 231)]
    assert len(set(names)) == 230 and all(name and "/" not in name and " " not in name for name in names)

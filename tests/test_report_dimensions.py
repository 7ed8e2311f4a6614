"""The dimension table of the summary: calibrated values beside the DoF, 'unresolved' with the
reason, the main descriptor set first, and each set's ladder error, from calibration outputs."""

import numpy as np
import pandas as pd
import pytest

from latentcsp.report import tables
from latentcsp.report.figures import calibration_curves, calibration_validation


def _dimensions(folder, landscape, dset, rows):
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows)
    frame.insert(0, "set", dset)
    frame.insert(0, "landscape", landscape)
    frame.to_csv(folder / "dimensions.csv", index=False)
    return folder / "dimensions.csv"


def _row(group, window, calibrated, low, high, resolved, reason=None, dof=10, torsions=0):
    return {"window": window, "group": group, "n": 120, "dof": dof, "torsions": torsions, "raw_MLE": 12.0,
            "calibrated": calibrated, "calibrated_low": low, "calibrated_high": high, "resolved": resolved,
            "reason": reason}


@pytest.fixture
def files(tmp_path):
    a = _dimensions(tmp_path / "x" / "ani", "x", "ani", [_row("P21_c", "20", 9.6, 8.7, 10.5, True)])
    s = _dimensions(tmp_path / "x" / "smooth", "x", "smooth", [
        _row("all", "20", None, None, None, False, "combines 3 space groups; references have one", dof=12),
        _row("P-1", "20", None, None, None, False, "n=12 below the estimators' minimum 20", dof=12, torsions=3),
        _row("P21_c", "20", 9.9, 9.1, 10.8, True, torsions=3),
    ])
    return [a, s]


def test_main_set_first_and_groups_in_seed_order(files):
    dims = tables.collect_dimensions(files, ["smooth", "ani"])
    assert list(dims["set"]) == ["smooth"] * 3 + ["ani"]
    assert list(dims.group[:3]) == ["P21_c", "P-1", "all"]
    assert dims.resolved.dtype == bool


def test_markdown_prints_numbers_only_where_resolved(files):
    text = tables.dimensions_markdown(tables.collect_dimensions(files, ["smooth", "ani"]))
    assert text.index("main set `smooth`") < text.index("set `ani`")
    assert "9.9 [9.1, 10.8]" in text and "unresolved: n=12 below" in text
    assert ">= 10 (+3 torsions)" in text  # flexible: the rigid DoF is a lower bound
    all_line = next(line for line in text.splitlines() if "| all " in line)
    assert "12" not in all_line.split("|")[5]  # no DoF for a group that mixes space groups


def test_markdown_shows_the_rigid_body_count_and_whether_it_was_used(tmp_path):
    used = dict(_row("P-1", "20", 7.0, 7.0, 7.0, True, dof=12), rigid_count=7, rigid_lattice=4, rigid_orientation=2,
                rigid_position=1, rigid_exact=12, rigid_checked=12, calibrated_by="rigid-body count")
    above = dict(_row("P21_c", "20", 6.2, 5.0, 7.4, True), rigid_count=10, rigid_lattice=4, rigid_orientation=3,
                 rigid_position=3, rigid_exact=11, rigid_checked=12, calibrated_by="descriptors")
    flexible = dict(_row("C2_c", "20", 6.0, 4.0, 8.0, True), rigid_count=None, calibrated_by="descriptors")
    path = _dimensions(tmp_path / "x", "x", "smooth", [used, above, flexible])
    text = tables.dimensions_markdown(tables.collect_dimensions([path], ["smooth"]))
    line = {g: next(li for li in text.splitlines() if f"| {g} " in li) for g in ("P-1", "P21_c", "C2_c")}
    assert "7.0 [7.0, 7.0]" in line["P-1"] and "7 = 4 + 2 + 1, exact on 12 of 12 references, used" in line["P-1"]
    assert "6.2 [5.0, 7.4]" in line["P21_c"] and "10 = 4 + 3 + 3, exact on 11 of 12 references, not used" in line["P21_c"]
    assert line["C2_c"].rstrip(" |").endswith("—")


def test_ladder_errors_per_set(tmp_path):
    held = pd.DataFrame({"landscape": "x", "set": "s", "window": "20", "group": "P21_c", "d": [3, 5, 7, 9],
                         "pattern": list("abcd"), "MLE": [0.2, -0.5, 1.5, np.nan], "combined": [0.1, -0.2, 1.2, -2.0]})
    held.to_csv(tmp_path / "held_out.csv", index=False)
    out = tables.ladder_errors([tmp_path / "held_out.csv"]).set_index("estimator")
    assert out.loc["MLE", "references"] == 3 and out.loc["MLE", "within_1"] == pytest.approx(2 / 3, abs=1e-3)
    assert out.loc["combined", "mean_abs_error"] == pytest.approx((0.1 + 0.2 + 1.2 + 2.0) / 4, abs=1e-3)


def test_calibration_figures_draw_from_the_tables():
    curves = pd.DataFrame({"window": "20", "group": "P21_c", "estimator": ["MLE"] * 3, "d": [1, 2, 3],
                           "mean": [1.2, 2.5, 3.4], "spread": [0.1, 0.2, 0.3], "weight": 1.0})
    dims = pd.DataFrame([_row("P21_c", "20", 2.3, 1.8, 2.9, True, dof=3)])
    fig = calibration_curves(curves, dims, "x")
    ax = fig.axes[0]
    assert np.allclose(ax.lines[0].get_ydata(), [1.2, 2.5, 3.4])
    assert any(len(line.get_xdata()) == 2 and np.allclose(line.get_xdata(), [2.3, 2.3]) for line in ax.lines)  # calibrated
    held = pd.DataFrame({"d": [3, 5, 7], "combined": [0.1, -0.4, 1.6]})
    assert "67% of 3 held-out references within +-1" in calibration_validation(held, "s").axes[0].get_title()
    stacked = pd.DataFrame({"d": [4, 4, 4, 6], "combined": [0.0, 0.0, 0.0, 1.0]})  # three references on one spot
    discs = calibration_validation(stacked, "s").axes[0].collections[0]
    by_place = {tuple(xy): size for xy, size in zip(discs.get_offsets(), discs.get_sizes())}
    assert set(by_place) == {(4.0, 4.0), (6.0, 7.0)} and by_place[(4.0, 4.0)] == 3 * by_place[(6.0, 7.0)]


def test_table3_leads_with_the_calibrated_dimension(files):
    dims = tables.collect_dimensions(files, ["smooth", "ani"])
    t3 = pd.DataFrame([{"dset": "smooth", "landscape": "x", "window": "20", "group": g, "dof": d, "n80": 30,
                        "elbow": 5, "rank": 119} for g, d in (("P21_c", 10), ("all", 12))])
    text = tables.table3_markdown(t3, dims=dims)
    assert text.index("calibrated dimension [interval]") < text.index("components for 80 %")
    assert "9.9 [9.1, 10.8]" in text and ">= 10 (+3 torsions)" in text
    first = text.split("components for 80 %")[1]
    all_row = next(line for line in first.splitlines() if line.startswith("| all"))
    assert all_row.split("|")[2].strip() == ""  # no DoF for the combined group

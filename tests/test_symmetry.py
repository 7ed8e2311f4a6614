"""latentcsp.structure.symmetry: degrees of freedom of rigid-molecule crystals from spglib's operations."""

import numpy as np
import pytest

from latentcsp.structure import symmetry as sym

# The seed report's Table 2 (general position, Z' = 1) plus P1.
TABLE2 = {
    "P21/c": 10,
    "C2/c": 10,
    "P212121": 9,
    "P-1": 12,
    "Pca21": 8,
    "Pna21": 8,
    "P21": 9,
    "C2": 9,
    "Pbca": 9,
    "Cc": 8,
    "P1": 9,
}


@pytest.mark.parametrize("symbol,dof", TABLE2.items())
def test_table2_general_position(symbol, dof):
    assert sym.degrees_of_freedom(symbol) == dof
    assert sym.degrees_of_freedom(sym.spacegroup_number(symbol)) == dof
    assert sym.degrees_of_freedom(symbol, zprime=1) == dof


def test_top10_is_table2_order():
    assert sym.TOP10 == (14, 15, 19, 2, 29, 33, 4, 5, 61, 9)
    table_order = list(TABLE2)[:10]
    assert [sym.spacegroup_number(s) for s in table_order] == list(sym.TOP10)
    assert [sym.degrees_of_freedom(n) for n in sym.TOP10] == [TABLE2[s] for s in table_order]


@pytest.mark.parametrize(
    "spelling,number",
    [
        ("P2_1/c", 14), ("P21/c", 14), ("P 1 21/c 1", 14), ("P 1 2_1/c 1", 14), ("P21/n", 14),
        ("P 1 21/n 1", 14), ("P2_1/a", 14), ("P2₁/c", 14), ("  P21/c ", 14), ("14", 14),
        ("Pbca", 61), ("Pbc_a", 61), ("Pcab", 61), ("P-1", 2), ("P1bar", 2), ("C2/c", 15),
        ("C 1 2/c 1", 15), ("I2/a", 15), ("Pna21", 33), ("Pna2_1", 33), ("Pn21a", 33),
        ("P212121", 19), ("P2_12_12_1", 19), ("Pca21", 29), ("Cc", 9), ("C 1 c 1", 9),
        ("R-3:R", 148), ("R-3:H", 148), ("R-3", 148), ("Fm-3m", 225), ("P6_3/mmc", 194),
        (14, 14), (np.int64(61), 61), (230, 230),
    ],
)
def test_spellings(spelling, number):
    assert sym.spacegroup_number(spelling) == number


@pytest.mark.parametrize("bad", ["P21/x", "Q1", "", "P2_1/c:Z", 0, 231, -3, None, 1.5, True])
def test_unknown_spacegroup_raises(bad):
    with pytest.raises(ValueError):
        sym.spacegroup_number(bad)
    with pytest.raises(ValueError):
        sym.degrees_of_freedom(bad)


def test_symbols_round_trip_all_230():
    for n in range(1, 231):
        s = sym.spacegroup_symbol(n)
        assert sym.spacegroup_number(s) == n, (n, s)
    assert sym.spacegroup_symbol(14) == "P2_1/c"
    assert sym.spacegroup_symbol("Pna21") == "Pna2_1"


def _system_from_number(n):
    for hi, name in [(2, "triclinic"), (15, "monoclinic"), (74, "orthorhombic"), (142, "tetragonal"),
                     (167, "trigonal"), (194, "hexagonal"), (230, "cubic")]:
        if n <= hi:
            return name


LATTICE = {"triclinic": 6, "monoclinic": 4, "orthorhombic": 3, "tetragonal": 2, "trigonal": 2,
           "hexagonal": 2, "cubic": 1}


def test_all_230_consistent():
    for n in range(1, 231):
        system = sym.crystal_system(n)
        assert system == _system_from_number(n), n
        assert sym.lattice_parameters(n) == LATTICE[system], n
        pg = sym.point_group(n)
        polar = sym.polar_directions(n)
        if pg in sym.POLAR_POINT_GROUPS:
            assert polar == {"1": 3, "m": 2}.get(pg, 1), (n, pg, polar)
        else:
            assert polar == 0, (n, pg, polar)
        d = sym.describe_dof(n)
        assert d["total"] == LATTICE[system] + 6 - polar
        assert d["total"] == d["lattice"] + d["rotations"] + d["translations"] - d["polar"]
        assert sym.degrees_of_freedom(n) == d["total"]


def test_polar_point_groups_are_the_ten():
    groups = {sym.point_group(n) for n in range(1, 231) if sym.polar_directions(n) > 0}
    assert groups == set(sym.POLAR_POINT_GROUPS)
    assert len(groups) == 10


def test_rhombohedral_settings_agree():
    # hexagonal setting (a, c) and rhombohedral setting (a, alpha): two parameters either way
    for s in ("R3:H", "R3:R", "R-3:H", "R-3:R", "R-3c:H", "R-3c:R"):
        assert sym.lattice_parameters(s) == 2
        assert sym.crystal_system(s) == "trigonal"
    assert sym._spg_type(sym._resolve("R-3:R")).choice == "R"
    assert sym._spg_type(sym._resolve("R-3:H")).choice == "H"
    assert sym.degrees_of_freedom("R-3:R") == sym.degrees_of_freedom("R-3:H") == 8
    assert sym.polar_directions("R3:R") == sym.polar_directions("R3:H") == 1


def test_settings_give_same_counts():
    # a non-standard cell choice has the same counts as the standard one
    assert sym.describe_dof("P 1 1 21/a")["total"] == 10
    assert sym.describe_dof("Pn21a")["total"] == 8


# ---------------------------------------------------------------- special positions


def test_inversion_centre_half_molecule():
    d = sym.describe_dof("P21/c", zprime=0.5, site_symmetry="-1")
    assert d["translations"] == 0
    assert d["rotations"] == 3
    assert d["total"] == 7  # 4 lattice + 3 rotations
    assert d["zprime"] == 0.5 and d["n_molecules"] == 1
    assert sym.degrees_of_freedom("P21/c", site_symmetry="-1") == 7
    assert sym.degrees_of_freedom("P-1", zprime=0.5, site_symmetry="-1") == 9
    assert sym.degrees_of_freedom("Pbca", zprime=0.5, site_symmetry="-1") == 6
    assert sym.degrees_of_freedom("C2/c", zprime=0.5, site_symmetry="-1") == 7
    assert "site -1" in d["assumption"]


def test_two_fold_axis_and_mirror():
    # on a two-fold axis: one translation along it, one rotation about it
    d = sym.describe_dof("C2/c", zprime=0.5, site_symmetry="2")
    assert (d["translations"], d["rotations"], d["total"]) == (1, 1, 6)
    # the axis of C2 is polar: that translation is the floating origin
    assert sym.degrees_of_freedom("C2", site_symmetry="2") == 4 + 1 + 1 - 1
    # on a mirror: two in-plane translations, one rotation about the normal
    d = sym.describe_dof("Pnma", site_symmetry="m")
    assert (d["translations"], d["rotations"], d["total"]) == (2, 1, 6)
    # oriented site-symmetry spellings of the International Tables / spglib
    assert sym.degrees_of_freedom("C2/c", site_symmetry="..2") == 6
    assert sym.degrees_of_freedom("C2/c", site_symmetry=".2.") == 6
    assert sym.degrees_of_freedom("P21/c", site_symmetry="Ci") == 7


def test_zprime_and_site_lists():
    # Z' = 1 on inversion centres: two independent half-molecules
    assert sym.describe_dof("P21/c", zprime=1, site_symmetry="-1")["n_molecules"] == 2
    assert sym.degrees_of_freedom("P21/c", zprime=1, site_symmetry="-1") == 4 + 3 + 3
    # one molecule in a general position and one on an inversion centre: Z' = 1.5
    d = sym.describe_dof("P21/c", site_symmetry=["1", "-1"])
    assert d["zprime"] == 1.5 and d["total"] == 4 + 6 + 3
    assert sym.degrees_of_freedom("P21/c", zprime=1.5, site_symmetry=["1", "-1"]) == 13
    with pytest.raises(ValueError, match="does not match"):
        sym.degrees_of_freedom("P21/c", zprime=1, site_symmetry=["1", "-1"])
    with pytest.raises(ValueError, match="whole number"):
        sym.degrees_of_freedom("P21/c", zprime=0.75, site_symmetry="-1")
    with pytest.raises(ValueError):
        sym.degrees_of_freedom("P21/c", zprime=0)


def test_zprime_above_one_polar_subtracted_once():
    assert sym.degrees_of_freedom("P21/c", zprime=2) == 4 + 12
    assert sym.degrees_of_freedom("P21", zprime=2) == 4 + 12 - 1
    assert sym.degrees_of_freedom("Cc", zprime=2) == 4 + 12 - 2
    assert sym.degrees_of_freedom("P1", zprime=2) == 6 + 12 - 3
    assert sym.degrees_of_freedom("P1", zprime=4) == 6 + 24 - 3
    d = sym.describe_dof("Pna21", zprime=3)
    assert d["polar"] == 1 and d["n_molecules"] == 3 and d["total"] == 3 + 18 - 1


def test_site_not_in_group():
    with pytest.raises(ValueError, match="no site with symmetry '2'"):
        sym.degrees_of_freedom("P21/c", site_symmetry="2")
    with pytest.raises(ValueError, match="unknown site-symmetry"):
        sym.degrees_of_freedom("P21/c", site_symmetry="7")


def test_site_symmetries_known_groups():
    assert sym.site_symmetries("P21/c") == ["1", "-1"]
    assert sym.site_symmetries("C2/c") == ["1", "-1", "2"]
    assert sym.site_symmetries("P212121") == ["1"]
    # Pm-3m: 1a/1b m-3m, 3c/3d 4/mmm, 6e/6f 4mm, 8g 3m, 12h-j mm2, 24k-m m, 48n 1
    assert set(sym.site_symmetries("Pm-3m")) == {"m-3m", "4/mmm", "4mm", "3m", "mm2", "m", "1"}
    # Fd-3m: 8a/b -43m, 16c/d -3m, 32e 3m, 48f mm2, 96g m, 96h 2, 192i 1
    assert set(sym.site_symmetries("Fd-3m")) == {"-43m", "-3m", "3m", "mm2", "m", "2", "1"}


def test_full_point_group_site_iff_symmorphic():
    """A site with the whole point group as its symmetry exists exactly in the 73
    symmorphic groups, whose symbols have no screw axes or glide planes; and its
    translations are exactly the polar directions."""
    n_symmorphic = 0
    for n in range(1, 231):
        short = sym.spacegroup_symbol(n)
        symmorphic = "_" not in short and not any(c in "abcnde" for c in short[1:])
        sites = sym.site_symmetries(n)
        assert "1" in sites
        assert (sym.point_group(n) in sites) == symmorphic, (n, short, sites)
        n_symmorphic += symmorphic
        if symmorphic:
            d = sym.describe_dof(n, site_symmetry=sym.point_group(n))
            assert d["translations"] == sym.polar_directions(n), n
    assert n_symmorphic == 73


@pytest.mark.parametrize("symbol,number", [
    ("P 2_1/b 2_1/c 2_1/a", 61), ("P2(1)/n", 14), ("Cmca", 64), ("-P 2ybc", 14), ("P 21 21 21", 19), ("19", 19)])
def test_one_lookup_for_readers_and_degrees_of_freedom(symbol, number):
    """Full symbols (spglib's names), SHELX/CSD spellings and Hall symbols (gemmi's) resolve in the one
    lookup, which the readers and the degree-of-freedom analysis share."""
    setting = sym.resolve_spacegroup(symbol)
    assert setting.number == number == sym.spacegroup_number(symbol)
    assert sym.spacegroup_number(sym.spacegroup_symbol(number)) == number
    from latentcsp.structure.crystallography import ops_arrays
    R, _ = ops_arrays(setting.symops)  # the setting's operators form a group of the right order
    assert len(R) == len(spglib_operations(setting.hall))


def spglib_operations(hall):
    import spglib
    return spglib.get_symmetry_from_database(hall)["rotations"]

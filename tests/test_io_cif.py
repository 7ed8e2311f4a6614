"""CIF reader: multi-block files, symmetry expansion, special positions, composition checks, bad input."""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pytest
from ase.io import read as ase_read
from ase.spacegroup import crystal

from crystals import same_sites

from latentcsp.io import RawStructure, Rejected, read_source
from latentcsp.structure.crystallography import cell_matrix, expand_sites, ops_arrays, parse_symop
from latentcsp.io.cif import composition_matches, formula_counts, read_cif
from latentcsp.structure.symmetry import resolve_spacegroup

P21C = ["x, y, z", "-x, y+1/2, -z+1/2", "-x, -y, -z", "x, -y+1/2, z+1/2"]
CELL = (7.0, 6.5, 9.0, 90.0, 105.0, 90.0)
# a rigid CO-like pair in a general position
SITES = [("C1", "C", 0.11, 0.23, 0.31), ("O1", "O", 0.27, 0.25, 0.33)]


def block(name="s1", cell=CELL, symops=P21C, sites=SITES, hm="P 21/c", extra="", occupancy=None,
          multiplicity=None, symop_tag="_symmetry_equiv_pos_as_xyz"):
    """A CIF data block as text (asymmetric unit + operators)."""
    lines = [f"data_{name}"]
    if hm is not None:
        lines.append(f"_symmetry_space_group_name_H-M '{hm}'")
    for tag, value in zip(("a", "b", "c", "alpha", "beta", "gamma"), cell):
        key = "length" if tag in "abc" else "angle"
        lines.append(f"_cell_{key}_{tag} {value}")
    lines.append(extra)
    if symops:
        lines += ["loop_", f" {symop_tag}"] + [f"  '{op}'" for op in symops]
    tags = ["label", "type_symbol", "fract_x", "fract_y", "fract_z"]
    if occupancy is not None:
        tags.append("occupancy")
    if multiplicity is not None:
        tags.append("symmetry_multiplicity")
    lines += ["loop_"] + [f" _atom_site_{t}" for t in tags]
    for i, site in enumerate(sites):
        row = [str(v) for v in site]
        if occupancy is not None:
            row.append(str(occupancy[i]))
        if multiplicity is not None:
            row.append(str(multiplicity[i]))
        lines.append("  " + " ".join(row))
    return "\n".join(lines) + "\n"


def write(tmp_path, text, name="x.cif"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def good(records):
    return [r for r in records if isinstance(r, RawStructure)]


def bad(records):
    return [r for r in records if isinstance(r, Rejected)]



# ---------------------------------------------------------------- helpers


def test_parse_symop_forms():
    r, t = parse_symop("-x+1/2, y, -z+593/813")
    assert np.allclose(np.reshape(r, (3, 3)), np.diag([-1, 1, -1]))
    assert np.allclose(t, [0.5, 0, 593 / 813])
    r, t = parse_symop("1/2+X,0.5-Y,Z")  # SHELX style
    assert np.allclose(np.reshape(r, (3, 3)), np.diag([1, -1, 1])) and np.allclose(t, [0.5, 0.5, 0])
    r, _ = parse_symop("x-y, x, z+1/6")
    assert np.allclose(np.reshape(r, (3, 3))[0], [1, -1, 0])
    for broken in ("x, y", "x, y, q", "x,,z", "x+, y, z", "x, y, 1/0", "x, x, x"):
        with pytest.raises(ValueError):
            parse_symop(broken)


def test_ops_must_form_a_group():
    with pytest.raises(ValueError, match="do not form a group"):
        ops_arrays(("x,y,z", "-x,y+1/2,-z+1/2", "-x,-y,-z"))  # P21/c without its 4th operator
    R, T = ops_arrays(tuple(P21C) + ("x, y, z",))  # a repeated operator is dropped
    assert len(R) == 4


@pytest.mark.parametrize("symbol,number", [
    ("P2_1/c", 14), ("P21/c", 14), ("P 21/c", 14), ("P 1 21/c 1", 14), ("P2(1)/n", 14), ("P21/a", 14),
    ("Cmce", 64), ("Cmca", 64), ("P6_3/m", 176), ("R-3", 148), ("14", 14), ("-P 2ybc", 14), ("Pna21", 33),
    ("P 21 21 21", 19), ("P-1", 2), ("I41/a", 88),
])
def test_spacegroup_symbols_resolve(symbol, number):
    assert resolve_spacegroup(symbol).number == number


@pytest.mark.parametrize("symbol", ["Xyz", "P 9", "?", "", "231"])
def test_unknown_spacegroup_symbols(symbol):
    assert resolve_spacegroup(symbol) is None


def test_cell_matrix_matches_ase():
    from ase.geometry import cellpar_to_cell
    for par in [CELL, (5, 6, 7, 80, 95, 110), (10, 10, 12, 90, 90, 120)]:
        assert np.allclose(cell_matrix(*par), cellpar_to_cell(par), atol=1e-10)
    with pytest.raises(ValueError):
        cell_matrix(5, 5, 5, 10, 10, 170)


def test_formula_and_composition():
    assert formula_counts("C9 H8 O4") == Counter(C=9, H=8, O=4)
    assert formula_counts("2(C3 H2 N4 O4)") == Counter(C=6, H=4, N=8, O=8)
    assert formula_counts("C6 H5 O7 3-, 3(Na1 1+)") == Counter(C=6, H=5, O=7, Na=3)
    f = formula_counts("C9 H8 O4")
    assert composition_matches(Counter(C=36, H=32, O=16), f, 4)
    assert composition_matches(Counter(C=9, H=8, O=4), f, 4)
    assert not composition_matches(Counter(C=18, H=16, O=8), f, 4)
    assert composition_matches(Counter(C=18, H=16, O=8), f, None)
    assert not composition_matches(Counter(C=36, H=32), f, 4)


# ---------------------------------------------------------------- expansion


def test_p21c_expansion_matches_ase_crystal(tmp_path):
    path = write(tmp_path, block())
    (rec,) = read_cif(path)
    assert isinstance(rec, RawStructure)
    ref = crystal(["C", "O"], [s[2:] for s in SITES], spacegroup=14, cellpar=CELL)
    assert len(rec.numbers) == 8
    assert np.allclose(rec.cell, ref.cell[:])
    assert same_sites(rec.cell, rec.positions, rec.numbers, ref.positions, ref.numbers)
    # ASE's own CIF reader agrees on this well-behaved file (an independent reference)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ase_atoms = ase_read(path)
    assert same_sites(rec.cell, rec.positions, rec.numbers, ase_atoms.positions, ase_atoms.numbers)
    assert rec.id == "x" and rec.spacegroup == "P 21/c" and rec.line == 1
    assert rec.properties["block"] == "s1" and rec.properties["spacegroup_number_stated"] == 14


def test_operators_from_the_symbol_when_not_listed(tmp_path):
    path = write(tmp_path, block(symops=None, hm="C 2/c"))
    (rec,) = read_cif(path)
    ref = crystal(["C", "O"], [s[2:] for s in SITES], spacegroup=15, cellpar=CELL)
    assert len(rec.numbers) == 16
    assert same_sites(rec.cell, rec.positions, rec.numbers, ref.positions, ref.numbers)
    # by Hall symbol or number alone, too
    (by_hall,) = read_cif(write(tmp_path, block(symops=None, hm=None, extra="_space_group_name_Hall '-P 2ybc'"), "h.cif"))
    (by_num,) = read_cif(write(tmp_path, block(symops=None, hm=None, extra="_space_group_IT_number 14"), "n.cif"))
    for rec in (by_hall, by_num):
        assert len(rec.numbers) == 8


def test_symop_tag_variants_and_cartesian_sites(tmp_path):
    (rec,) = read_cif(write(tmp_path, block(symop_tag="_space_group_symop_operation_xyz")))
    assert len(rec.numbers) == 8
    lattice = cell_matrix(*CELL)
    cart = [(lab, el, *np.round(np.array(xyz) @ lattice, 8)) for lab, el, *xyz in SITES]
    text = block(sites=cart).replace("_atom_site_fract_", "_atom_site_Cartn_")
    (rec2,) = read_cif(write(tmp_path, text, "cart.cif"))
    assert same_sites(rec.cell, rec.positions, rec.numbers, rec2.positions, rec2.numbers)


def test_special_positions_are_merged(tmp_path):
    # P-1 with one atom on the inversion centre and one slightly (0.003 A) off another
    sites = [("C1", "C", 0.0, 0.0, 0.0), ("C2", "C", 0.5 + 0.0004, 0.5, 0.5), ("O1", "O", 0.2, 0.3, 0.1)]
    text = block(symops=["x,y,z", "-x,-y,-z"], hm="P -1", sites=sites, cell=(7, 8, 9, 90, 90, 90))
    (rec,) = read_cif(write(tmp_path, text))
    assert Counter(rec.numbers.tolist()) == {6: 2, 8: 2}
    # the written site is the one kept
    assert np.allclose(rec.positions[rec.numbers == 6][1], np.array([0.5004, 0.5, 0.5]) @ rec.cell)


def test_pymatgen_rational_origins_expand_to_the_formula(tmp_path):
    # I4/m written by pymatgen with an odd origin: translations 593/813 are not
    # multiples of 1/24; sites on the mirror z = 593/1626 must merge.
    ops = ["x, y, z", "-x, -y, -z+593/813", "-y, x, z", "y, -x, -z+593/813", "-x, -y, z", "x, y, -z+593/813",
           "y, -x, z", "-y, x, -z+593/813", "x+1/2, y+1/2, z+1/2", "-x+1/2, -y+1/2, -z+167/728",
           "-y+1/2, x+1/2, z+1/2", "y+1/2, -x+1/2, -z+167/728", "-x+1/2, -y+1/2, z+1/2",
           "x+1/2, y+1/2, -z+167/728", "y+1/2, -x+1/2, z+1/2", "-y+1/2, x+1/2, -z+167/728"]
    z0 = 593 / 1626 + 2e-7
    sites = [("C1", "C", 0.1, 0.2, z0), ("O1", "O", 0.15, 0.3, z0), ("H1", "H", 0.3, 0.1, 0.2)]
    text = block(symops=ops, hm="I4/m", sites=sites, cell=(14.27, 14.27, 6.49, 90, 90, 90),
                 extra="_chemical_formula_sum 'C8 O8 H16'\n_cell_formula_units_Z 8", multiplicity=[8, 8, 16])
    (rec,) = read_cif(write(tmp_path, text))
    assert isinstance(rec, RawStructure), rec
    assert Counter(rec.numbers.tolist()) == {6: 8, 8: 8, 1: 16}
    assert "merge_tol" not in rec.properties


def test_over_expanded_site_repaired_by_stated_multiplicity(tmp_path):
    # a site 0.08 A off a mirror (z = 1/4 in P21/m), wider than MERGE_TOL: the
    # stated multiplicity 2 (not 4) says its images are one atom each
    ops = ["x,y,z", "-x,y+1/2,-z", "-x,-y,-z", "x,-y+1/2,z"]
    sites = [("C1", "C", 0.1, 0.25 + 0.08 / 8, 0.3), ("O1", "O", 0.3, 0.1, 0.2)]
    text = block(symops=ops, hm="P 21/m", sites=sites, cell=(7, 8, 9, 90, 100, 90), multiplicity=[2, 4])
    (rec,) = read_cif(write(tmp_path, text))
    assert Counter(rec.numbers.tolist()) == {6: 2, 8: 4}
    assert rec.properties["merge_tol"] == 0.2


def test_over_expanded_site_repaired_by_formula(tmp_path):
    ops = ["x,y,z", "-x,y+1/2,-z", "-x,-y,-z", "x,-y+1/2,z"]
    sites = [("C1", "C", 0.1, 0.25 + 0.08 / 8, 0.3), ("O1", "O", 0.3, 0.1, 0.2)]
    text = block(symops=ops, hm="P 21/m", sites=sites, cell=(7, 8, 9, 90, 100, 90),
                 extra="_chemical_formula_sum 'C2 O4'")
    (rec,) = read_cif(write(tmp_path, text))
    assert Counter(rec.numbers.tolist()) == {6: 2, 8: 4}
    assert rec.properties["merge_tol"] > 0.05


def test_composition_checked_per_cell_or_per_formula_unit(tmp_path):
    per_cell = block(extra="_chemical_formula_sum 'C4 O4'\n_cell_formula_units_Z 4")
    per_unit = block(extra="_chemical_formula_sum 'C O'\n_cell_formula_units_Z 4")
    moiety = block(extra="_chemical_formula_moiety 'C1 O1'\n_cell_formula_units_Z 4")
    wrong = block(extra="_chemical_formula_sum 'C2 O1'\n_cell_formula_units_Z 4")
    for text, ok in [(per_cell, True), (per_unit, True), (moiety, True), (wrong, False)]:
        (rec,) = read_cif(write(tmp_path, text))
        assert isinstance(rec, RawStructure) is ok, rec
    (rej,) = read_cif(write(tmp_path, wrong))
    assert "does not match _chemical_formula_sum 'C2 O1'" in rej.reason and "C4O4" in rej.reason


def test_multi_block_file_ids_are_block_names(tmp_path):
    text = block("alpha") + block("beta", cell=(7.2, 6.5, 9.0, 90, 104, 90)) + "data_global\n_journal_year 2024\n"
    recs = list(read_cif(write(tmp_path, text, "many.cif")))
    assert [r.id for r in recs] == ["alpha", "beta"]
    assert all(isinstance(r, RawStructure) for r in recs)
    assert recs[1].line == text.splitlines().index("data_beta") + 1


def test_read_source_takes_cif_by_extension(tmp_path):
    write(tmp_path, block("a"), "a.cif")
    write(tmp_path, block("b"), "b.CIF")
    recs = list(read_source(str(tmp_path)))
    assert sorted(r.id for r in recs) == ["a", "b"]


# ---------------------------------------------------------------- bad input


def test_empty_file(tmp_path):
    (rej,) = read_cif(write(tmp_path, "  \n"))
    assert isinstance(rej, Rejected) and rej.reason == "empty file"


def test_truncated_file_keeps_the_good_blocks(tmp_path):
    full = block("one") + block("two")
    cut = full[: full.rindex("0.27")]  # mid-row in the last loop
    recs = list(read_cif(write(tmp_path, cut)))
    assert [type(r).__name__ for r in recs] == ["RawStructure", "Rejected"]
    rej = recs[1]
    assert rej.id == "two" and "CIF syntax error in block data_two" in rej.reason and "truncated" in rej.reason
    assert rej.line is not None and rej.line >= full.splitlines().index("data_two") + 1


def test_truncated_at_a_row_boundary_is_caught_by_the_formula(tmp_path):
    text = block(extra="_chemical_formula_sum 'C4 O4'")
    cut = text[: text.index("  O1")]
    (rej,) = read_cif(write(tmp_path, cut))
    assert isinstance(rej, Rejected) and "does not match _chemical_formula_sum" in rej.reason


def test_unknown_spacegroup_symbol(tmp_path):
    text = block("bad", symops=None, hm="P 9/z") + block("fine")
    recs = list(read_cif(write(tmp_path, text)))
    assert isinstance(recs[0], Rejected) and "unknown space-group symbol 'P 9/z'" in recs[0].reason
    assert recs[0].id == "bad" and recs[0].line == 1
    assert isinstance(recs[1], RawStructure)


@pytest.mark.parametrize("field,where", [("_cell_length_b 6.5", "_cell_length_b abc"), ("0.23", "0.2x3")])
def test_non_numeric_field(tmp_path, field, where):
    text = block("bad").replace(field, where, 1) + block("fine")
    recs = list(read_cif(write(tmp_path, text)))
    rej = recs[0]
    assert isinstance(rej, Rejected) and "non-numeric" in rej.reason and rej.id == "bad"
    bad_line = next(i + 1 for i, ln in enumerate(text.splitlines()) if where.split()[-1] in ln.split())
    assert rej.line == bad_line
    assert isinstance(recs[1], RawStructure)


def test_partial_occupancy(tmp_path):
    text = block("dis", occupancy=[1.0, 0.5]) + block("ok", occupancy=[1.0, "1.000(2)"])
    recs = list(read_cif(write(tmp_path, text)))
    assert isinstance(recs[0], Rejected) and recs[0].reason.endswith("partial occupancy: site O1 occupancy 0.5")
    assert isinstance(recs[1], RawStructure)


def test_duplicate_block_names(tmp_path):
    text = block("same") + block("same") + block("other")
    recs = list(read_cif(write(tmp_path, text)))
    kinds = [(type(r).__name__, r.id) for r in recs]
    assert kinds == [("RawStructure", "same"), ("Rejected", "same"), ("RawStructure", "other")]
    assert recs[1].reason.startswith("duplicate id")


def test_other_bad_blocks(tmp_path):
    cases = {
        "nocell": block("nocell").replace("_cell_length_c 9.0\n", ""),
        "noatoms": block("noatoms", sites=[]).split("loop_\n _atom_site_label")[0],
        "element": block("element", sites=[("X1", "Qq", 0.1, 0.2, 0.3)]),
        "ops": block("ops", symops=["x,y,z", "-x,y+1/2,-z+1/2", "-x,-y,-z"]),
        "angles": block("angles", cell=(5, 5, 5, 10, 10, 170)),
    }
    recs = {r.id: r for r in read_cif(write(tmp_path, "".join(cases.values())))}
    assert all(isinstance(r, Rejected) for r in recs.values())
    assert "missing _cell_length_c" in recs["nocell"].reason
    assert "no atom sites" in recs["noatoms"].reason
    assert "unknown element 'Qq'" in recs["element"].reason
    assert "do not form a group" in recs["ops"].reason
    assert "impossible cell" in recs["angles"].reason


def test_expand_sites_chunk_free_of_merges_for_general_positions():
    R, T = ops_arrays(tuple(P21C))
    frac = np.random.default_rng(0).random((50, 3)) * 0.2 + 0.05
    pos, site, used = expand_sites(frac, R, T, cell_matrix(*CELL))
    assert len(pos) == 200 and (np.bincount(site) == 4).all() and (pos >= 0).all() and (pos < 1).all()

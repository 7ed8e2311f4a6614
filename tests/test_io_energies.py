"""Side tables of energies and units."""

from __future__ import annotations

import re

import pytest

from latentcsp.io import Rejected
from latentcsp.io.energies import (ENERGY_UNITS, EnergyTableError, parse_energy, read_energy_table, to_kj_per_mol,
                                   unit_factor, unit_of_column)


def table(tmp_path, text, name="e.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_units():
    assert ENERGY_UNITS == {"kJ/mol": 1.0, "kcal/mol": 4.184, "eV": 96.48533212, "hartree": 2625.499639}
    assert unit_factor("kcal/mol") == 4.184 and unit_factor("Ha") == unit_factor("hartree")
    assert unit_factor("ev") == pytest.approx(96.485332, rel=1e-8)
    assert to_kj_per_mol(-1.0, "eV", per_cell_z=4) == pytest.approx(-96.48533212 / 4)
    with pytest.raises(EnergyTableError, match="unknown energy unit 'furlong'"):
        unit_factor("furlong")
    assert unit_of_column("PBE+MBD(eV)") == "eV" and unit_of_column("E [kcal/mol]") == "kcal/mol"
    assert unit_of_column("energy") is None


def test_first_numeric_column_and_by_name(tmp_path):
    path = table(tmp_path, "id,note,PBE+MBD(eV),MACE-OFF23(L)(eV)\na,x,-1.5,-2.5\nb,y,-1.0,-2.0\n")
    assert read_energy_table(path) == {"a": -1.5, "b": -1.0}
    assert read_energy_table(path, "MACE-OFF23(L)(eV)") == {"a": -2.5, "b": -2.0}
    assert read_energy_table(path, "mace") == {"a": -2.5, "b": -2.0}
    with pytest.raises(EnergyTableError, match="ambiguous"):
        read_energy_table(path, "eV")
    with pytest.raises(EnergyTableError, match="no energy column 'dft'"):
        read_energy_table(path, "dft")


def test_bad_rows_raise_or_are_collected(tmp_path):
    path = table(tmp_path, "id,energy\na,-1.0\nb,oops\nc,\na,-3.0\nd,-4.0\n")
    with pytest.raises(EnergyTableError, match=r"non-numeric energy 'oops' \(energy\) for id 'b' in .*e.csv line 3"):
        read_energy_table(path)
    errors: list[Rejected] = []
    assert read_energy_table(path, errors=errors) == {"a": -1.0, "d": -4.0}
    assert [(e.id, e.line) for e in errors] == [("b", 3), ("c", 4), ("a", 5)]
    assert "missing energy ''" in errors[1].reason
    assert errors[2].reason.startswith("duplicate id 'a'") and "first on line 2" in errors[2].reason
    assert all(e.source == path for e in errors)


def test_unusable_tables(tmp_path):
    with pytest.raises(EnergyTableError, match="empty energy table"):
        read_energy_table(table(tmp_path, "\n"))
    with pytest.raises(EnergyTableError, match="needs an id column"):
        read_energy_table(table(tmp_path, "id\na\n"))
    with pytest.raises(EnergyTableError, match="no numeric energy column"):
        read_energy_table(table(tmp_path, "id,e\na,x\n"))
    with pytest.raises(EnergyTableError, match="unreadable"):
        read_energy_table(str(tmp_path / "absent.csv"))


@pytest.mark.parametrize("value,expected", [("-70628.795559", -70628.795559), (" -1.5e3 ", -1500.0), (".5", 0.5),
                                            (3, 3.0), (-2.5, -2.5)])
def test_parse_energy_reads_plain_numbers(value, expected):
    assert parse_energy(value) == expected


@pytest.mark.parametrize("value,reason", [
    ("-70628,795559", "decimal comma (write '-70628.795559')"), ("1_000", "non-numeric"), ("12 kJ", "non-numeric"),
    ("nan", "missing"), ("", "missing"), ("inf", "non-numeric"), ("1e999", "too large"), (True, "true/false"),
    (float("nan"), "non-numeric"), ([-70628, 795559], "2 numbers, not one (a decimal comma?)"),
])
def test_parse_energy_refuses_what_is_not_one_number(value, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_energy(value)


def test_a_decimal_comma_is_an_error_not_a_truncation(tmp_path):
    """A comma-separated table with a decimal comma used to read -70628,795559 as -70628."""
    path = table(tmp_path, "id,E(kJ/mol)\na,-70628,795559\nb,-70627.5\nc,-70620.25,\n")
    errors: list[Rejected] = []
    assert read_energy_table(path, errors=errors) == {"b": -70627.5, "c": -70620.25}  # a trailing comma is harmless
    (bad,) = errors
    assert bad.id == "a" and bad.line == 2 and "3 fields for 2 columns" in bad.reason and "decimal comma" in bad.reason
    semicolons = table(tmp_path, "id;E(kJ/mol)\na;-70628,795559\nb;-70627.5\n", "s.csv")
    errors = []
    assert read_energy_table(semicolons, errors=errors) == {"b": -70627.5}
    assert "has a decimal comma (write '-70628.795559')" in errors[0].reason and "line 2" in errors[0].reason
    tabs = table(tmp_path, "id\tE\na\t-1.5\n", "t.csv")
    assert read_energy_table(tabs) == {"a": -1.5}


def test_the_unit_in_the_header_must_be_the_configured_one(tmp_path):
    path = table(tmp_path, "id,PBE+MBD(eV)\na,-1.0\n")
    assert read_energy_table(path, expect_unit="eV") == {"a": -1.0}
    with pytest.raises(EnergyTableError, match=r"'PBE\+MBD\(eV\)' states eV, but the landscape's energy_unit is kJ/mol"):
        read_energy_table(path, expect_unit="kJ/mol")
    assert read_energy_table(table(tmp_path, "id,energy\na,-1.0\n", "n.csv"), expect_unit="kJ/mol") == {"a": -1.0}


@pytest.mark.shared
def test_genarris_tables(shared_data):
    for case, n in {"aspirin": 127, "CL-20": 137, "DNI": 116, "HMX": 89, "Target_I": 89, "Target_XXII": 106}.items():
        energies = read_energy_table(shared_data / "genarris3-cases" / case / f"{case}.csv", "PBE+MBD(eV)")
        assert len(energies) == n and all(v < 0 for v in energies.values())

"""The readers on randomly damaged files (a seeded corpus): they never raise, and what they pass on never crashes.

Good files of every format are damaged at random (bytes flipped, inserted or
cut, lines dropped or repeated, numbers replaced by hostile values, JSON
values replaced by values of other types); each reader must turn every
damaged file into records (a structure or a rejection with a reason), and
every structure must come out of :func:`latentcsp.structure.crystal.analyse` as a
crystal or a BadStructure.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from crystals import methanol_like
from landscape_files import chemiscope_dataset, cif_block, extxyz_frame, res_text, write_asedb

from latentcsp.io import RawStructure, Rejected, read_source
from latentcsp.io.asedb import read_asedb
from latentcsp.io.chemiscope import read_chemiscope
from latentcsp.io.cif import read_cif
from latentcsp.io.extxyz import read_extxyz
from latentcsp.io.res import read_res
from latentcsp.structure.crystal import BadStructure, Crystal, analyse

HOSTILE = ["nan", "inf", "-inf", "1e19", "-1e300", "1e999", "0", "-0", "1,5", "1_0", "", "x", "0x1F", "1e-320",
           "99999999999999999999", "--1", "1.2.3", "(", "'", '"', "\x00", "é"]
NUMBER = re.compile(r"-?\d+\.\d+|\b\d+\b")


def good_structures(n=3):
    return [(methanol_like(cellpar=(7.0 + 0.1 * k, 6.5, 9.0, 90, 105, 90)), f"s{k}", -100.0 + k) for k in range(n)]


def damage_text(text: str, rng) -> str:
    """One random, realistic kind of damage to a text file."""
    what = rng.integers(0, 7)
    lines = text.splitlines(keepends=True)
    if what == 0:  # a number replaced by a hostile value
        hits = list(NUMBER.finditer(text))
        m = hits[rng.integers(len(hits))]
        return text[:m.start()] + str(rng.choice(HOSTILE)) + text[m.end():]
    if what == 1:  # cut short
        return text[: rng.integers(0, len(text))]
    if what == 2:  # a line dropped
        del lines[rng.integers(len(lines))]
        return "".join(lines)
    if what == 3:  # a line repeated
        k = rng.integers(len(lines))
        return "".join(lines[:k + 1] + lines[k:])
    if what == 4:  # random bytes in the middle
        k = rng.integers(len(text))
        return text[:k] + "".join(chr(c) for c in rng.integers(0, 0x250, 20)) + text[k:]
    if what == 5:  # two lines swapped
        a, b = rng.integers(len(lines), size=2)
        lines[a], lines[b] = lines[b], lines[a]
        return "".join(lines)
    k = rng.integers(len(text))  # a character deleted
    return text[:k] + text[k + 1:]


def damage_json(data, rng):
    """One JSON value, anywhere in the document, replaced by a value of another kind."""
    path, node = [], data
    while isinstance(node, (dict, list)) and node and (not path or rng.random() < 0.8):
        key = list(node)[rng.integers(len(node))] if isinstance(node, dict) else int(rng.integers(len(node)))
        path.append(key)
        node = node[key]
    if not path:
        return None
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = [None, "x", 1e300, -1, [], {}, True, "nan", [1, 2], 1e20][rng.integers(10)]
    return data


def check_records(records, path: str) -> tuple[int, int]:
    """Every record is a structure or a rejection of this file; every structure analyses or is refused."""
    kept = refused = 0
    for rec in records:
        assert isinstance(rec, (RawStructure, Rejected)) and rec.source == path
        if isinstance(rec, Rejected):
            assert rec.reason.strip()
            refused += 1
            continue
        try:
            assert isinstance(analyse(rec), Crystal)
            kept += 1
        except BadStructure as exc:
            assert str(exc)
            refused += 1
    return kept, refused


def text_files():
    goods = good_structures()
    return {
        "res": ("x.res", "".join(res_text(a, n, e) for a, n, e in goods), read_res),
        "cif": ("x.cif", "".join(cif_block(a, n, e) for a, n, e in goods), read_cif),
        "extxyz": ("x.extxyz", "".join(extxyz_frame(a, n, e) for a, n, e in goods), read_extxyz),
    }


@pytest.mark.parametrize("fmt", ["res", "cif", "extxyz"])
def test_text_readers_survive_random_damage(tmp_path, fmt):
    name, text, reader = text_files()[fmt]
    rng = np.random.default_rng(sum(map(ord, fmt)))
    totals = np.zeros(2, int)
    for case in range(40):
        damaged = text
        for _ in range(rng.integers(1, 4)):
            damaged = damage_text(damaged, rng)
        path = tmp_path / f"{case}-{name}"
        path.write_bytes(damaged.encode("utf-8", errors="surrogatepass"))
        records = list(reader(str(path)))  # must not raise
        assert records, damaged
        totals += check_records(records, str(path))
    assert totals.min() > 5  # the damage both spared and broke structures


RECORD_START = {"res": re.compile(r"^TITL", re.M), "cif": re.compile(r"^data_", re.M),
                "extxyz": re.compile(r"^\d+\n", re.M)}


@pytest.mark.parametrize("fmt", ["res", "cif", "extxyz"])
def test_damage_to_one_record_spares_every_other(tmp_path, fmt):
    """Readers resynchronise: whatever happens inside one record, the records around it are read unchanged."""
    name, _, reader = text_files()[fmt]
    goods = good_structures(5)
    write = {"res": res_text, "cif": cif_block, "extxyz": extxyz_frame}[fmt]
    parts = [write(a, n, e) for a, n, e in goods]
    clean = tmp_path / f"clean-{name}"
    clean.write_text("".join(parts))
    reference = {r.id: r for r in reader(str(clean))}
    assert sorted(reference) == [n for _, n, _ in goods]
    rng = np.random.default_rng(13 + len(fmt))
    for case in range(30):
        k = int(rng.integers(len(parts)))
        first, last = parts[k].index("\n") + 1, parts[k].rstrip("\n").rindex("\n")  # the record's inner lines
        inner = parts[k][first:last]
        for _ in range(rng.integers(1, 4)):
            inner = damage_text(inner, rng) if inner else inner
        damaged = parts[k][:first] + inner + parts[k][last:]
        assert len(RECORD_START[fmt].findall(damaged)) <= 1 or fmt == "extxyz"
        path = tmp_path / f"{case}-{name}"
        path.write_text("".join(parts[:k] + [damaged] + parts[k + 1:]), errors="surrogatepass")
        records = list(reader(str(path)))
        spared = {r.id: r for r in records if isinstance(r, RawStructure) and r.id != goods[k][1]}
        assert sorted(spared) == sorted(n for j, (_, n, _) in enumerate(goods) if j != k), (case, records)
        for ident, rec in spared.items():
            assert np.array_equal(rec.positions, reference[ident].positions) and rec.energy == reference[ident].energy


def test_chemiscope_reader_survives_random_damage(tmp_path):
    goods = good_structures()
    clean = chemiscope_dataset([a for a, _, _ in goods], [n for _, n, _ in goods], [e for _, _, e in goods])
    rng = np.random.default_rng(7)
    totals = np.zeros(2, int)
    for case in range(60):
        data = damage_json(json.loads(json.dumps(clean)), rng)
        text = json.dumps(data)
        if case % 4 == 0:
            text = damage_text(text, rng)
        path = tmp_path / f"{case}.json"
        path.write_text(text)
        records = list(read_chemiscope(str(path)))
        assert records
        totals += check_records(records, str(path))
    assert totals.min() > 5


def test_asedb_reader_survives_random_damage(tmp_path):
    goods = good_structures()
    clean = tmp_path / "clean.db"
    write_asedb(clean, [(a, {"name": n, "lattice_energy": e}) for a, n, e in goods])
    data = clean.read_bytes()
    rng = np.random.default_rng(11)
    totals = np.zeros(2, int)
    for case in range(30):
        damaged = bytearray(data)
        for k in rng.integers(0, len(damaged), rng.integers(1, 40)):
            damaged[k] = rng.integers(0, 256)
        if case % 5 == 0:
            damaged = damaged[: rng.integers(0, len(damaged))]
        path = tmp_path / f"{case}.db"
        path.write_bytes(bytes(damaged))
        records = list(read_asedb(str(path)))
        assert records
        totals += check_records(records, str(path))
    assert totals.sum() >= 30


def test_read_source_gives_every_damaged_file_a_record(tmp_path):
    rng = np.random.default_rng(5)
    names = []
    for fmt, (name, text, _) in text_files().items():
        for case in range(5):
            path = tmp_path / f"{case}-{name}"
            path.write_text(damage_text(damage_text(text, rng), rng), errors="surrogatepass")
            names.append(str(path))
    sources = {r.source for r in read_source(tmp_path)}
    assert sources == set(names)

"""Reading some structures of a structures.h5 equals reading all of them and taking the subset."""

import dataclasses

import numpy as np
import pytest
from ase.io import write
from crystals import methanol_like, to_extxyz_frame

from latentcsp.ingest import LandscapeSpec, ingest, write_landscape
from latentcsp.store import read_rows, read_structure_ids, read_structures


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """An ingested landscape of 6 methanol-like crystals, Z = 2 and 4 (ragged atoms)."""
    root = tmp_path_factory.mktemp("subset")
    frames = [to_extxyz_frame(methanol_like(sg, (7.0 + k / 10, 6.5, 9.0 + k / 5, 90, 105 if sg == 14 else 90, 90)),
                              f"s{k}", energy=-100.0 + k)
              for k, sg in enumerate([14, 14, 2, 14, 2, 14])]
    write(root / "land.extxyz", frames, format="extxyz")
    write_landscape(ingest(LandscapeSpec("m", str(root / "land.extxyz")), progress=False), root / "out")
    return root / "out" / "structures.h5"


def assert_same(a, b):
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        assert x.dtype == y.dtype and x.shape == y.shape, field.name
        assert np.array_equal(x, y), field.name


@pytest.mark.parametrize("pick", [[0], [3, 0, 5], [5, 1, 4, 2], [2, 2, 5]])
def test_subset_read_equals_the_subset_of_the_whole_store(store, pick):
    """Rows in any order (unsorted, repeated): the same arrays as read_structures(path).subset(ids)."""
    everything = read_structures(store)
    assert len(everything) == 6 and len(set(np.diff(everything.atom_offsets))) > 1  # ragged atoms
    ids = list(everything.ids[pick])
    assert_same(read_structures(store, ids), everything.subset(ids))
    assert list(read_structures(store, ids).ids) == ids


def test_subset_read_names_the_file_and_the_missing_ids(store):
    first = read_structure_ids(store)[0]
    with pytest.raises(KeyError, match=r"subset.*structures\.h5.*2 of 3 structures.*'nope'.*'gone'"):
        read_structures(store, [first, "nope", "gone"])


def test_read_rows_takes_rows_across_slabs():
    """Increasing rows read in slabs of at most ``block`` rows equal plain fancy indexing."""
    data = np.arange(200.0).reshape(100, 2)
    rows = np.array([0, 1, 7, 8, 9, 40, 41, 99])
    calls = []

    class Spy:
        def __getitem__(self, span):
            calls.append(span.stop - span.start)
            return data[span]

    assert np.array_equal(read_rows(Spy(), rows, block=8), data[rows])
    assert max(calls) <= 8 and len(calls) == 4  # [0..7], [8, 9], [40, 41], [99]

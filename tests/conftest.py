"""Shared fixtures."""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # two BLAS threads on a 2-core CI stall each other

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real landscapes in ../shared/data; skips when that folder is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"../shared/data not found at {SHARED}: real-landscape tests skipped")
    return SHARED

"""latentcsp.report.figures: the summary figures draw whatever the analysis wrote."""

import numpy as np

from latentcsp.report.figures import eigenvalue_spectra


def _pca(n, n80, elbow):
    ev = 1.0 / np.arange(1, n)
    return {"n_samples": n, "eigenvalues": ev.tolist(), "cumulative": (np.cumsum(ev) / ev.sum()).tolist(),
            "n_components": {"0.8": n80}, "elbow": elbow}


def _elbow_marks(ax):
    """x positions of the open-circle elbow markers."""
    return sorted(float(line.get_xdata()[0]) for line in ax.lines if line.get_marker() == "o")


def test_elbow_beyond_the_default_range_is_plotted():
    # a large group: 80 % reached early but the elbow at 35, past the old 30-component range
    spectra = {"P21_c": _pca(1000, 10, 35), "P-1": _pca(300, 8, 4)}
    fig = eigenvalue_spectra(spectra, "big landscape")
    ax = fig.axes[0]
    assert _elbow_marks(ax) == [4.0, 35.0]
    assert max(len(line.get_xdata()) for line in ax.lines) >= 35


def test_elbow_outside_an_explicit_range_is_not_marked():
    fig = eigenvalue_spectra({"P21_c": _pca(1000, 10, 35)}, "big landscape", max_components=20)
    ax = fig.axes[0]
    assert _elbow_marks(ax) == []
    assert "elbow=35" in ax.get_legend().get_texts()[0].get_text()

"""Crystallography shared by the readers and the generator: symmetry operators, cells, site expansion.

* :func:`parse_symop` reads an operator written as ``'-x+1/2, y, -z+593/813'``
  (CIF, SHELX ``SYMM``) with *float* translations, so the odd origins that
  pymatgen writes survive (gemmi's operator parser refuses denominators that
  do not divide 24); :func:`ops_arrays` turns a list of them into arrays,
  dropping near-duplicates (within 2e-3) and refusing a list that is not a
  group (:func:`check_group`).
* :func:`shelx_ops` / :func:`shelx_encoding`: SHELX's ``LATT`` + ``SYMM``
  encoding of a group, read and written.
* :func:`cell_matrix`: lattice vectors from a b c alpha beta gamma.
* :func:`expand_sites`: the images of the asymmetric unit, coincident images
  merged (special positions), with the repair of an over-expanded site at the
  wider tolerances :data:`WIDER_TOLS`.

Space groups named by a symbol are :func:`latentcsp.structure.symmetry.resolve_spacegroup`'s.

Conventions: rotations (m, 3, 3) and translations (m, 3) act on fractional
column vectors; lattice vectors are rows, Å.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import lru_cache

import numpy as np

__all__ = [
    "MERGE_TOL",
    "WIDER_TOLS",
    "CENTRING",
    "parse_symop",
    "is_listed",
    "ops_arrays",
    "check_group",
    "operator_string",
    "shelx_ops",
    "shelx_encoding",
    "cell_matrix",
    "expand_sites",
]

#: Images of one site closer than this (Å) are one atom on a special position.
#: Real distinct images of a site are >= ~0.7 Å apart (H across a mirror);
#: pymatgen's rational-approximation origins leave up to ~0.008 Å of noise.
MERGE_TOL = 0.05
#: Wider merge tolerances (Å) tried, in order, when the stated multiplicity or
#: formula says a site was over-expanded.
WIDER_TOLS = (0.1, 0.2, 0.35, 0.5)
#: Centring translations of SHELX LATT |n|.
CENTRING = {
    1: [],
    2: [(0.5, 0.5, 0.5)],
    3: [(2 / 3, 1 / 3, 1 / 3), (1 / 3, 2 / 3, 2 / 3)],
    4: [(0.0, 0.5, 0.5), (0.5, 0.0, 0.5), (0.5, 0.5, 0.0)],
    5: [(0.0, 0.5, 0.5)],
    6: [(0.5, 0.0, 0.5)],
    7: [(0.5, 0.5, 0.0)],
}

_TOKENS = re.compile(r"[+-]|[^+-]+")
_COEF_AXIS = re.compile(r"^(\d*\.?\d*(?:/\d+)?)\*?([xyz])$")


@lru_cache(maxsize=8192)
def parse_symop(text: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Parse ``'-x+1/2, y, -z+593/813'`` into (rotation, translation).

    Returns the 3x3 rotation (row-major, 9 floats) and the translation (3
    floats), exact fractions converted to float.  Accepts SHELX forms
    (``1/2+X``, ``0.5-y``), quotes and spaces.  Raises ValueError.
    """
    s = text.strip().strip("'\"").replace(" ", "").replace("\t", "").lower()
    parts = s.split(",")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"not a symmetry operator: {text!r}")
    rot = [0.0] * 9
    tra = [0.0, 0.0, 0.0]
    for row, part in enumerate(parts):
        sign, pending, terms = 1, False, 0
        for tok in _TOKENS.findall(part):
            if tok in "+-":
                if pending:
                    raise ValueError(f"not a symmetry operator: {text!r}")
                sign, pending = (-1 if tok == "-" else 1), True
                continue
            m = _COEF_AXIS.match(tok)
            try:
                if m:
                    coef = float(Fraction(m.group(1))) if m.group(1) else 1.0
                    rot[row * 3 + "xyz".index(m.group(2))] += sign * coef
                else:
                    tra[row] += sign * float(Fraction(tok))
            except (ValueError, ZeroDivisionError):
                raise ValueError(f"not a symmetry operator: {text!r}") from None
            sign, pending, terms = 1, False, terms + 1
        if pending or not terms:
            raise ValueError(f"not a symmetry operator: {text!r}")
    if abs(np.linalg.det(np.array(rot).reshape(3, 3))) < 0.5:
        raise ValueError(f"singular symmetry operator: {text!r}")
    return tuple(rot), tuple(tra)


def is_listed(r, t, rots, trans, tol: float = 2e-3) -> bool:
    """Whether (r, t) repeats a listed operator (translations equal modulo 1 within ``tol``)."""
    for r2, t2 in zip(rots, trans):
        if all(abs(a - b) < 1e-6 for a, b in zip(r, r2)) and \
                all(abs((a - b + 0.5) % 1.0 - 0.5) < tol for a, b in zip(t, t2)):
            return True
    return False


@lru_cache(maxsize=2048)
def ops_arrays(symops: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Rotations (m, 3, 3) and translations (m, 3) of a tuple of xyz strings.

    Duplicate operators (same rotation, same translation modulo 1 within
    2e-3, as files with rational-approximation origins need) are dropped;
    the identity is added when missing.  Raises ValueError, also when the
    operators do not form a group.
    """
    rots, trans = [], []
    for text in ("x,y,z",) + tuple(symops):
        r, t = parse_symop(text)
        if not is_listed(r, t, rots, trans):
            rots.append(r)
            trans.append(t)
    R = np.array(rots, dtype=float).reshape(-1, 3, 3)
    T = np.array(trans, dtype=float).reshape(-1, 3)
    check_group(R, T)
    R.setflags(write=False)
    T.setflags(write=False)
    return R, T


def _rotation_keys(R: np.ndarray) -> np.ndarray:
    """One int64 per integer rotation matrix (entries -4..4)."""
    Ri = np.rint(R).reshape(len(R), 9).astype(np.int64)
    return ((np.clip(Ri, -4, 4) + 4) * (9 ** np.arange(9, dtype=np.int64))).sum(axis=1)


def check_group(R: np.ndarray, T: np.ndarray, tol: float = 2e-3) -> None:
    """Raise ValueError unless the operators are closed under composition (modulo lattice translations)."""
    m = len(R)
    if m == 1:
        return
    if not np.allclose(R, np.rint(R), atol=1e-6) or np.abs(np.rint(R)).max() > 4:
        raise ValueError("symmetry operators with non-integer rotations in the cell's basis")
    keys = _rotation_keys(R)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    prod_r = np.einsum("aij,bjk->abik", R, R).reshape(-1, 3, 3)
    prod_t = (np.einsum("aij,bj->abi", R, T) + T[:, None, :]).reshape(-1, 3)
    pk = _rotation_keys(prod_r)
    lo = np.searchsorted(sorted_keys, pk, side="left")
    hi = np.searchsorted(sorted_keys, pk, side="right")
    found = np.zeros(len(pk), dtype=bool)
    for offset in range(int((hi - lo).max()) if len(pk) else 0):
        idx = lo + offset
        valid = idx < hi
        cand = order[np.minimum(idx, m - 1)]
        d = prod_t - T[cand]
        d -= np.round(d)
        found |= valid & (np.abs(d) < tol).all(axis=1)
    if not found.all():
        raise ValueError(f"the {m} symmetry operators do not form a group (incomplete or inconsistent list)")


def cell_matrix(a: float, b: float, c: float, alpha: float, beta: float, gamma: float) -> np.ndarray:
    """Lattice vectors as rows (Å), ASE's convention: a along x, b in the xy plane.

    Raises ValueError for non-positive lengths or impossible angles.
    """
    if min(a, b, c) <= 0 or not all(0 < x < 180 for x in (alpha, beta, gamma)):
        raise ValueError(f"impossible cell {a} {b} {c} {alpha} {beta} {gamma}")
    al, be, ga = np.radians([alpha, beta, gamma])
    ca, cb, cg, sg = np.cos(al), np.cos(be), np.cos(ga), np.sin(ga)
    # exact zeros for right angles, as ASE does
    ca, cb, cg = (0.0 if abs(x - 90.0) < 1e-10 else v for x, v in ((alpha, ca), (beta, cb), (gamma, cg)))
    sg = 1.0 if abs(gamma - 90.0) < 1e-10 else sg
    cy = (ca - cb * cg) / sg
    cz2 = 1.0 - cb * cb - cy * cy
    if cz2 <= 1e-10:
        raise ValueError(f"impossible cell angles {alpha} {beta} {gamma}")
    return np.array([[a, 0.0, 0.0], [b * cg, b * sg, 0.0], [c * cb, c * cy, c * np.sqrt(cz2)]])


@lru_cache(maxsize=64)
def _earlier(m: int) -> np.ndarray:
    """(m, m) bool, [i, j] true for i < j."""
    mask = np.triu(np.ones((m, m), dtype=bool), k=1)
    mask.setflags(write=False)
    return mask


def expand_sites(frac: np.ndarray, R: np.ndarray, T: np.ndarray, lattice: np.ndarray,
                 tol: float = MERGE_TOL, multiplicity: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply every operator to every site and merge coincident images.

    frac: (n, 3) fractional coordinates of the asymmetric-unit sites.
    R, T: (m, 3, 3), (m, 3) operators forming a group (identity first).
    lattice: (3, 3) rows, Å, for distances.
    multiplicity: (n,) stated site multiplicities (0 = unknown) or None: a
        site with more images than stated is re-merged at :data:`WIDER_TOLS`.

    Returns (positions (N, 3) fractional in [0, 1), site index (N,), the merge
    tolerance used per site (n,)).  Each kept image is the first of its
    cluster in operator order, so the written site itself is kept exactly.

    Because the operators form a group, two images of a site coincide only if
    some non-identity image coincides with the site itself; only such sites
    (and sites whose stated multiplicity is below m) need the pairwise merge.
    """
    n, m = len(frac), len(R)
    img = np.einsum("mij,nj->nmi", R, frac) + T[None, :, :]
    img -= np.floor(img)
    img[img >= 1.0] -= 1.0
    used = np.full(n, tol)
    if m == 1:
        return img.reshape(n, 3), np.arange(n), used
    d0 = img[:, 1:, :] - img[:, :1, :]
    d0 -= np.round(d0)
    c0 = d0 @ lattice
    special = ((c0 * c0).sum(axis=2) < tol * tol).any(axis=1)
    if multiplicity is not None:
        special |= (multiplicity > 0) & (multiplicity < m)
    if not special.any():
        return img.reshape(n * m, 3), np.repeat(np.arange(n), m), used
    keep = np.ones((n, m), dtype=bool)
    earlier = _earlier(m)
    for s in np.nonzero(special)[0]:
        d = img[s][:, None, :] - img[s][None, :, :]
        d -= np.round(d)
        c = d @ lattice
        dist = np.sqrt((c * c).sum(axis=2))
        k = ~((dist < tol) & earlier).any(axis=0)
        stated = 0 if multiplicity is None else int(multiplicity[s])
        if stated > 0 and k.sum() > stated:
            for wider in WIDER_TOLS:
                k2 = ~((dist < wider) & earlier).any(axis=0)
                if k2.sum() <= stated:
                    k, used[s] = k2, wider
                    break
        keep[s] = k
    sites = np.repeat(np.arange(n), m).reshape(n, m)
    return img[keep], sites[keep], used


@lru_cache(maxsize=512)
def shelx_ops(symm: tuple[str, ...], latt: int) -> tuple[np.ndarray, np.ndarray]:
    """All operators (m, 3, 3), (m, 3) of SYMM lines and LATT (identity first).

    Raises ValueError for an unparseable SYMM or a set that is not a group.
    """
    if abs(latt) not in CENTRING:
        raise ValueError(f"LATT {latt} is not a SHELX lattice type (|n| = 1..7)")
    base = [parse_symop("x,y,z")] + [parse_symop(s) for s in symm]
    ops = [(np.array(r, dtype=float).reshape(3, 3), np.array(t, dtype=float)) for r, t in base]
    if latt > 0:
        ops += [(-r, -t) for r, t in ops]
    cent = CENTRING[abs(latt)]
    ops += [(r, t + np.array(c)) for c in cent for r, t in list(ops)]
    rots, trans = [], []
    for r, t in ops:
        if not is_listed(tuple(r.ravel()), tuple(t), rots, trans):
            rots.append(tuple(r.ravel()))
            trans.append(tuple(t))
    R, T = np.array(rots, dtype=float).reshape(-1, 3, 3), np.array(trans, dtype=float).reshape(-1, 3)
    check_group(R, T)
    R.setflags(write=False)
    T.setflags(write=False)
    return R, T


def operator_string(r: np.ndarray, t: np.ndarray) -> str:
    """SHELX-style text of one operator, e.g. ``'-X, Y+1/2, -Z+1/2'`` (translations in [0, 1), as
    fractions when they are multiples of 1/2 ... 1/12, else decimals)."""
    rows = []
    for i in range(3):
        terms = []
        for j, ax in enumerate("XYZ"):
            c = r[i, j]
            if abs(c) < 1e-9:
                continue
            coef = "" if abs(abs(c) - 1) < 1e-9 else f"{abs(c):g}*"
            terms.append(("-" if c < 0 else "+") + coef + ax)
        tt = t[i] - math.floor(t[i] + 1e-9)
        if abs(tt) > 1e-9:
            simple = Fraction(tt).limit_denominator(12)
            terms.append(f"+{simple}" if abs(simple - tt) < 1e-9 else f"+{tt:.6f}".rstrip("0"))
        text = "".join(terms)
        rows.append(text[1:] if text.startswith("+") else text)
    return ", ".join(rows)


def shelx_encoding(R: np.ndarray, T: np.ndarray) -> tuple[int, list[str]]:
    """SHELX ``LATT`` code and ``SYMM`` lines of a group's operators.

    Centring and an inversion at the origin go into ``LATT`` (|n| the
    centring of :data:`CENTRING`, n > 0 centrosymmetric), one operator per
    remaining coset into ``SYMM`` (the identity is implied); a centring
    SHELX cannot name is written out operator by operator.  Inverse of
    :func:`shelx_ops`.
    """
    ident = np.eye(3)
    cent = [t % 1.0 for r, t in zip(R, T) if np.allclose(r, ident) and not np.allclose(t % 1.0, 0)]
    latt = 1
    for n, vecs in CENTRING.items():
        if n > 1 and len(vecs) == len(cent) and all(
                any(np.allclose((np.array(v) - c + 0.5) % 1.0 - 0.5, 0, atol=1e-6) for c in cent) for v in vecs):
            latt = n
            break
    centro = any(np.allclose(r, -ident) and np.allclose(((t % 1.0) + 0.5) % 1.0 - 0.5, 0, atol=1e-6)
                 for r, t in zip(R, T))
    covered: list[tuple[np.ndarray, np.ndarray]] = []

    def cover(r, t):
        for sign in ((1, -1) if centro else (1,)):
            for shift in [np.zeros(3)] + [np.array(v) for v in CENTRING[latt]]:
                covered.append((sign * r, sign * t + shift))

    cover(ident, np.zeros(3))
    symm = []
    for r, t in zip(R, T):
        if any(np.allclose(r, cr) and np.allclose(((t - ct) + 0.5) % 1.0 - 0.5, 0, atol=2e-3) for cr, ct in covered):
            continue
        symm.append(operator_string(r, t))
        cover(r, t)
    return (latt if centro else -latt), symm

"""Space-group facts for rigid-molecule crystals, computed from symmetry operations.

Everything here is derived from the operations of spglib's space-group database
(``spglib.get_symmetry_from_database``) — there is no table of answers:

* **Lattice parameters** free in the crystal system: the dimension of the space
  of metric tensors ``G`` (symmetric 3x3) invariant under every rotation part,
  ``R.T @ G @ R == G``. Triclinic 6, monoclinic 4, orthorhombic 3, tetragonal 2,
  trigonal and hexagonal 2, cubic 1. Rhombohedral groups give 2 in either
  setting: (a, c) in the hexagonal setting, (a, alpha) in the rhombohedral one.
* **Polar (floating-origin) directions**: the dimension of the subspace fixed by
  every rotation part of the point group. Shifting the whole crystal along such
  a direction maps the structure onto an equivalent one, so one such
  translation per direction is not a degree of freedom — once per crystal, not
  once per molecule. P1 has 3, the monoclinic group 2 has 1, m has 2, the other
  polar classes (mm2, 4, 4mm, 3, 3m, 6, 6mm) 1, all others 0.
* **Translations of a molecule**: the dimension of the subspace fixed by the
  rotation parts of its site-symmetry group (3 in a general position, 0 on an
  inversion centre or any site with a unique point).
* **Rotations of a rigid molecule**: the dimension of the space of axial vectors
  (infinitesimal rotations) fixed by its site-symmetry group; an axial vector
  transforms as ``det(R) R``. 3 in a general position and on an inversion
  centre, 1 on a two-fold axis or a mirror plane, 0 on sites whose symmetry
  fixes no axis (e.g. 222, mmm).

For a rigid molecule::

    DoF = lattice + sum over independent molecules (rotations + translations) - polar

which gives, in a general position with Z' = 1, the seed report's Table 2:
P2_1/c 10, C2/c 10, P2_12_12_1 9, P-1 12, Pca2_1 8, Pna2_1 8, P2_1 9, C2 9,
Pbca 9, Cc 8 (and P1 9).

Space groups are given as an International Tables number (1-230) or a
Hermann-Mauguin symbol in the usual spellings (``"P2_1/c"``, ``"P21/c"``,
``"P 1 21/c 1"``, ``"P21/n"``, ``"Pna21"``, ``"P-1"``, ``"R-3:R"``), or a Hall
symbol; :func:`resolve_spacegroup` (the one lookup of a stated symbol, also the
readers') names the setting.
Site symmetries are point-group symbols, with or without the orientation dots of
the International Tables and spglib (``"-1"``, ``"2"``, ``"..2"``, ``".m."``,
``"2/m"``, ``"Ci"``).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Iterable, Sequence

import gemmi
import numpy as np
import spglib

from .crystallography import operator_string

__all__ = [
    "TOP10",
    "CRYSTAL_SYSTEMS",
    "POLAR_POINT_GROUPS",
    "SpaceGroupSetting",
    "crystal_system",
    "degrees_of_freedom",
    "describe_dof",
    "lattice_parameters",
    "point_group",
    "polar_directions",
    "resolve_spacegroup",
    "site_symmetries",
    "spacegroup_number",
    "spacegroup_symbol",
]

#: The seed report's ten most common space groups of organic crystals, in the
#: order of its Tables 2 and 3: P2_1/c, C2/c, P2_12_12_1, P-1, Pca2_1, Pna2_1,
#: P2_1, C2, Pbca, Cc.
TOP10: tuple[int, ...] = (14, 15, 19, 2, 29, 33, 4, 5, 61, 9)

CRYSTAL_SYSTEMS = (
    "triclinic",
    "monoclinic",
    "orthorhombic",
    "tetragonal",
    "trigonal",
    "hexagonal",
    "cubic",
)

#: The ten polar crystal classes (point groups with a floating origin).
POLAR_POINT_GROUPS = frozenset({"1", "2", "m", "mm2", "4", "4mm", "3", "3m", "6", "6mm"})

_N_HALL = 530
_TOL = 1e-6


# --------------------------------------------------------------------------
# space-group lookup
# --------------------------------------------------------------------------


def _spglib(fn, *args):
    """Call spglib without its deprecation warning about the global error mode
    (which is left as the caller set it)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="spglib")
        warnings.filterwarnings("ignore", message=".*OLD_ERROR_HANDLING.*")
        return fn(*args)


@lru_cache(maxsize=None)
def _spg_type(hall: int):
    return _spglib(spglib.get_spacegroup_type, hall)


@lru_cache(maxsize=None)
def _hall_table() -> tuple[dict[int, int], dict[str, int], dict[str, set[int]]]:
    """(default hall per number, symbol key -> hall, symbol key -> numbers)."""
    default: dict[int, int] = {}
    key_hall: dict[str, int] = {}
    key_numbers: dict[str, set[int]] = {}

    def add(symbol: str, hall: int, number: int) -> None:
        for key in {_symbol_key(symbol), _symbol_key(_strip_monoclinic_ones(symbol))}:
            if not key:
                continue
            key_numbers.setdefault(key, set()).add(number)
            key_hall.setdefault(key, hall)

    for hall in range(1, _N_HALL + 1):
        t = _spg_type(hall)
        default.setdefault(t.number, hall)
        symbols = [t.international_short, t.international_full]
        symbols += [s.strip() for s in t.international.split("=")]
        for s in symbols:
            add(s, hall, t.number)
            if t.choice in ("H", "R", "1", "2"):
                add(f"{s}:{t.choice}", hall, t.number)
    return default, key_hall, key_numbers


_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def _plain(symbol: str) -> str:
    """No spaces, underscores or subscripts; overbars as '-' (1̄, 1bar -> -1)."""
    s = symbol.strip().translate(_SUBSCRIPTS)
    # overbar written as a combining macron/overline after the digit: 1̄ -> -1
    s = re.sub(r"(\d)[\u0304\u0305]", r"-\1", s)
    s = re.sub(r"(\d)bar", r"-\1", s, flags=re.IGNORECASE)
    return s.replace("_", "").replace(" ", "")


def _symbol_key(symbol: str) -> str:
    """Normalise a Hermann-Mauguin space-group symbol (lattice letter upper case)."""
    s = _plain(symbol)
    if s and s[0].isalpha():
        s = s[0].upper() + s[1:]
    return s


def _strip_monoclinic_ones(symbol: str) -> str:
    """'P 1 2_1/c 1' -> 'P 2_1/c'; other symbols unchanged."""
    parts = symbol.split()
    if len(parts) == 4 and sum(p == "1" for p in parts[1:]) == 2:
        return parts[0] + " " + next(p for p in parts[1:] if p != "1")
    return symbol


@dataclass(frozen=True)
class SpaceGroupSetting:
    """A space group in the setting a symbol names.

    number: International Tables number; hall: spglib's Hall number of the
    setting (the number's default setting where spglib lacks it); symops: the
    setting's operators, centring included, as xyz strings.
    """

    number: int
    hall: int
    symops: tuple[str, ...]


@lru_cache(maxsize=None)
def _hall_of_symbol() -> dict[str, int]:
    """spglib's Hall number of each Hall symbol."""
    table: dict[str, int] = {}
    for hall in range(1, _N_HALL + 1):
        table.setdefault(_spg_type(hall).hall_symbol.strip(), hall)
    return table


def _gemmi_spacegroup(s: str) -> "gemmi.SpaceGroup | None":
    """gemmi's entry for a H-M (``P2(1)/n``, ``P 21/c``, ``Cmca``, ...) or Hall symbol, or None."""
    candidates = [s, re.sub(r"_(\d)", r"\1", s), re.sub(r"\((\d)\)", r"\1", s)]
    candidates.append(re.sub(r"\((\d)\)", r"\1", candidates[1]))
    candidates += [c.replace(" ", "") for c in candidates]
    candidates += [c[:1].upper() + c[1:].lower() for c in candidates]
    for cand in candidates:
        try:
            sg = gemmi.find_spacegroup_by_name(cand)
        except Exception:  # noqa: BLE001 - gemmi raises RuntimeError/ValueError
            sg = None
        if sg is not None:
            return sg
    try:  # a Hall symbol
        return gemmi.find_spacegroup_by_ops(gemmi.symops_from_hall(s))
    except Exception:  # noqa: BLE001
        return None


def _spglib_setting(hall: int) -> SpaceGroupSetting:
    rotations, translations = _operations(hall)
    return SpaceGroupSetting(int(_spg_type(hall).number), hall,
                             tuple(operator_string(r, t) for r, t in zip(rotations, translations)))


@lru_cache(maxsize=1024)
def resolve_spacegroup(symbol: str) -> SpaceGroupSetting | None:
    """The setting a stated symbol names, or None when it names none.

    ``symbol``: an ITA number (``"14"``: gemmi's reference setting); a H-M symbol
    in the usual spellings (``P2_1/c``, ``P2(1)/n``, ``P 21/c``, ``P 1 21/c 1``,
    ``P2₁/c``, ``P1bar``, ``Cmce``/``Cmca``, ``R-3:H``, full symbols such as
    ``P 2_1/b 2/c 2_1/a``); or a Hall symbol (``-P 2ybc``).  gemmi's table is
    asked first, then spglib's names.
    """
    s = re.sub(r"\s+", " ", symbol.strip().strip("'\"").strip()).translate(_SUBSCRIPTS)
    s = re.sub(r"(\d)[\u0304\u0305]", r"-\1", s)  # overbar as a combining macron/overline: 1̄ -> -1
    s = re.sub(r"(\d)bar", r"-\1", s, flags=re.IGNORECASE)
    if not s or s in ("?", "."):
        return None
    default, key_hall, key_numbers = _hall_table()
    if s.isdigit() and not 1 <= int(s) <= 230:
        return None
    sg = gemmi.SpaceGroup(int(s)) if s.isdigit() else _gemmi_spacegroup(s)
    if sg is not None:
        hall = _hall_of_symbol().get(sg.hall.strip(), default[sg.number])
        return SpaceGroupSetting(int(sg.number), hall, tuple(op.triplet() for op in sg.operations()))
    key = _symbol_key(s)
    if len(key_numbers.get(key, ())) != 1:
        return None
    return _spglib_setting(key_hall[key])


def _resolve(spacegroup) -> int:
    """Hall number (spglib's setting index) for a symbol or ITA number."""
    default, _, _ = _hall_table()
    if isinstance(spacegroup, (bool, np.bool_)):
        raise ValueError(f"not a space group: {spacegroup!r}")
    if isinstance(spacegroup, (int, np.integer)):
        n = int(spacegroup)
        if n not in default:
            raise ValueError(f"space-group number must be 1-230, got {n}")
        return default[n]
    if not isinstance(spacegroup, str):
        raise ValueError(f"space group must be a Hermann-Mauguin symbol or a number 1-230, got {spacegroup!r}")
    setting = resolve_spacegroup(spacegroup)
    if setting is None:
        raise ValueError(
            f"unknown space-group symbol {spacegroup!r}; give a Hermann-Mauguin symbol "
            "such as 'P2_1/c', 'P21/c', 'P 1 21/c 1', 'Pna21' or a number 1-230"
        )
    return setting.hall


def spacegroup_number(spacegroup) -> int:
    """International Tables number (1-230) of a symbol or number."""
    return int(_spg_type(_resolve(spacegroup)).number)


def spacegroup_symbol(spacegroup) -> str:
    """Short Hermann-Mauguin symbol of the standard setting, e.g. 14 -> 'P2_1/c'."""
    default, _, _ = _hall_table()
    return str(_spg_type(default[spacegroup_number(spacegroup)]).international_short)


@lru_cache(maxsize=None)
def _operations(hall: int) -> tuple[np.ndarray, np.ndarray]:
    sym = _spglib(spglib.get_symmetry_from_database, hall)
    return np.asarray(sym["rotations"], dtype=int), np.asarray(sym["translations"], dtype=float)


def _unique_rotations(rotations: np.ndarray) -> np.ndarray:
    return np.unique(rotations.reshape(len(rotations), 9), axis=0).reshape(-1, 3, 3)


def _point_group_rotations(spacegroup) -> np.ndarray:
    rotations, _ = _operations(_resolve(spacegroup))
    return _unique_rotations(rotations)


# --------------------------------------------------------------------------
# linear algebra on rotation sets
# --------------------------------------------------------------------------


def _fixed_dim(matrices: Iterable[np.ndarray]) -> int:
    """Dimension of the subspace fixed by every matrix: nullity of stacked (M - I)."""
    mats = [np.asarray(m, dtype=float) - np.eye(3) for m in matrices]
    if not mats:
        return 3
    stacked = np.vstack(mats)
    return 3 - int(np.linalg.matrix_rank(stacked, tol=_TOL))


def _axial(rotations: np.ndarray) -> list[np.ndarray]:
    """Action on axial vectors (infinitesimal rotations): det(R) R."""
    return [round(np.linalg.det(r)) * r for r in rotations]


def _metric_dim(rotations: np.ndarray) -> int:
    """Dimension of the symmetric metrics G with R^T G R = G for all R."""
    # basis of symmetric 3x3 matrices
    basis = []
    for i in range(3):
        for j in range(i, 3):
            e = np.zeros((3, 3))
            e[i, j] = e[j, i] = 1.0
            basis.append(e)
    rows = []
    for r in rotations:
        r = np.asarray(r, dtype=float)
        cols = [(r.T @ e @ r - e).ravel() for e in basis]
        rows.append(np.array(cols).T)  # 9 x 6
    if not rows:
        return 6
    return 6 - int(np.linalg.matrix_rank(np.vstack(rows), tol=_TOL))


def _proper_order(r: np.ndarray) -> int:
    """Order of the proper part det(R) R (1, 2, 3, 4 or 6)."""
    p = round(np.linalg.det(r)) * np.asarray(r, dtype=int)
    m = p.copy()
    for k in range(1, 7):
        if np.array_equal(m, np.eye(3, dtype=int)):
            return k
        m = m @ p
    raise ValueError("not a crystallographic rotation")  # pragma: no cover


def _crystal_system_of(rotations: np.ndarray) -> str:
    orders = [_proper_order(r) for r in rotations]
    n3 = sum(o == 3 for o in orders)
    if 6 in orders:
        return "hexagonal"
    if n3 >= 8:  # four three-fold axes
        return "cubic"
    if n3:
        return "trigonal"
    if 4 in orders:
        return "tetragonal"
    n2 = sum(o == 2 for o in orders)
    if n2 >= 3:
        return "orthorhombic"
    if n2:
        return "monoclinic"
    return "triclinic"


# --------------------------------------------------------------------------
# public space-group facts
# --------------------------------------------------------------------------


def crystal_system(spacegroup) -> str:
    """Crystal system from the rotation parts: 'triclinic' ... 'cubic'."""
    return _crystal_system_of(_point_group_rotations(spacegroup))


def lattice_parameters(spacegroup) -> int:
    """Number of free lattice parameters (6 triclinic ... 1 cubic)."""
    return _metric_dim(_point_group_rotations(spacegroup))


def polar_directions(spacegroup) -> int:
    """Number of floating-origin (polar) directions: dim of the space fixed by the point group."""
    return _fixed_dim(_point_group_rotations(spacegroup))


def point_group(spacegroup) -> str:
    """International symbol of the crystal class, e.g. 14 -> '2/m'."""
    return str(_spg_type(_resolve(spacegroup)).pointgroup_international)


# --------------------------------------------------------------------------
# site symmetry
# --------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _point_group_aliases() -> dict[str, str]:
    aliases: dict[str, str] = {}
    for hall in range(1, _N_HALL + 1):
        t = _spg_type(hall)
        aliases[t.pointgroup_international] = t.pointgroup_international
        aliases[t.pointgroup_schoenflies] = t.pointgroup_international
    extra = {
        "C1": "1", "Ci": "-1", "S2": "-1", "Cs": "m", "C1h": "m", "C3i": "-3", "S6": "-3",
        "2mm": "mm2", "m2m": "mm2", "2/m2/m2/m": "mmm",
        "4/m2/m2/m": "4/mmm", "-4m2": "-42m",
        "321": "32", "312": "32", "3m1": "3m", "31m": "3m",
        "-3m1": "-3m", "-31m": "-3m", "-32/m1": "-3m", "-312/m": "-3m", "-32/m": "-3m",
        "-62m": "-6m2", "6/m2/m2/m": "6/mmm",
        "m3": "m-3", "2/m-3": "m-3", "m3m": "m-3m", "4/m-32/m": "m-3m",
    }
    aliases.update(extra)
    return aliases


def _normalize_site(site: str) -> str:
    if not isinstance(site, str):
        raise ValueError(f"site symmetry must be a point-group symbol string, got {site!r}")
    s = _plain(site).replace(".", "")
    if s == "":
        raise ValueError(f"empty site-symmetry symbol {site!r}")
    aliases = _point_group_aliases()
    if s in aliases:
        return aliases[s]
    raise ValueError(
        f"unknown site-symmetry symbol {site!r}; expected a point-group symbol "
        "such as '1', '-1', '2', 'm', '2/m', '..2', '.m.' or 'Ci'"
    )


@lru_cache(maxsize=None)
def _site_table(hall: int) -> dict[str, np.ndarray]:
    """Site-symmetry types of a setting -> rotation parts of a representative site.

    Enumerated from the operations: the stabiliser of every point of a 24^3 grid of
    fractional coordinates (which holds a point of every Wyckoff position, whose
    coordinates have denominators 2, 3, 4, 6 or 8), classified by spglib.
    """
    rotations, translations = _operations(hall)
    # exact integer arithmetic in units of 1/24 (all translations are multiples of 1/24)
    t24 = np.rint(translations * 24)
    if not np.allclose(t24, translations * 24, atol=1e-6):  # pragma: no cover
        raise ValueError(f"translations of Hall setting {hall} are not multiples of 1/24")
    g = np.arange(24, dtype=np.int16)
    pts = np.stack(np.meshgrid(g, g, g, indexing="ij"), axis=-1).reshape(-1, 3)
    # x is fixed by (R, t) when R x + t - x is a lattice vector
    fixes = np.ones((len(pts), len(rotations)), dtype=bool)
    for axis in range(3):
        coef = (rotations[:, axis, :] - np.eye(3, dtype=int)[axis]).astype(np.int16)  # ops x 3
        moved = pts @ coef.T + t24[:, axis].astype(np.int16)  # N x ops
        fixes &= moved % 24 == 0
    packed = np.packbits(fixes, axis=1)
    keys = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first = np.unique(keys, return_index=True)
    table: dict[str, np.ndarray] = {}
    for mask in fixes[np.sort(first)]:
        rots = _unique_rotations(rotations[mask])
        symbol = str(_spglib(spglib.get_pointgroup, rots)[0]).strip()
        symbol = _point_group_aliases().get(symbol, symbol)
        table.setdefault(symbol, rots)
    return table


@lru_cache(maxsize=None)
def _site_order(site: str) -> int:
    """Order of a point group (number of rotation parts) given its canonical symbol."""
    for hall in range(1, _N_HALL + 1):
        if _spg_type(hall).pointgroup_international == site:
            return len(_unique_rotations(_operations(hall)[0]))
    raise ValueError(site)  # pragma: no cover


def site_symmetries(spacegroup) -> list[str]:
    """Site-symmetry types (point-group symbols) of the Wyckoff positions of a group."""
    table = _site_table(_resolve(spacegroup))
    return sorted(table, key=lambda s: (_site_order(s), s))


def _site_rotations(hall: int, site: str, spacegroup) -> np.ndarray:
    if site == "1":  # the general position exists in every group
        return np.eye(3, dtype=int)[None]
    table = _site_table(hall)
    if site not in table:
        raise ValueError(
            f"space group {spacegroup_symbol(spacegroup)} ({spacegroup_number(spacegroup)}) has no "
            f"site with symmetry {site!r}; its site symmetries are: {', '.join(site_symmetries(spacegroup))}"
        )
    return table[site]


# --------------------------------------------------------------------------
# degrees of freedom
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Molecule:
    site_symmetry: str
    zprime: Fraction  # this molecule's contribution to Z' (1 / site order)
    rotations: int
    translations: int


def _molecules(spacegroup, zprime, site_symmetry) -> list[_Molecule]:
    hall = _resolve(spacegroup)
    if site_symmetry is None:
        sites = ["1"]
        per_site_given = False
    elif isinstance(site_symmetry, str):
        sites = [site_symmetry]
        per_site_given = False
    else:
        sites = list(site_symmetry)
        per_site_given = True
        if not sites:
            raise ValueError("site_symmetry sequence is empty")

    mols: list[_Molecule] = []
    for raw in sites:
        site = _normalize_site(raw)
        rots = _site_rotations(hall, site, spacegroup)
        mols.append(
            _Molecule(
                site_symmetry=site,
                zprime=Fraction(1, len(rots)),
                rotations=_fixed_dim(_axial(rots)),
                translations=_fixed_dim(rots),
            )
        )

    if per_site_given:
        total = sum(m.zprime for m in mols)
        if zprime is not None and abs(float(zprime) - float(total)) > 1e-6:
            raise ValueError(
                f"Z'={zprime} does not match the site symmetries {sites}, which give Z'={float(total):g} "
                "(each molecule contributes 1/|site group|)"
            )
        return mols

    if zprime is None:
        return mols
    z = float(zprime)
    if not np.isfinite(z) or z <= 0:
        raise ValueError(f"Z' must be positive, got {zprime!r}")
    count = z / float(mols[0].zprime)
    n = int(round(count))
    if n < 1 or abs(count - n) > 1e-6:
        raise ValueError(
            f"Z'={zprime} is not a whole number of molecules on site {mols[0].site_symmetry!r} "
            f"(each contributes Z'={mols[0].zprime})"
        )
    return mols * n


def describe_dof(spacegroup, zprime: float | None = None, site_symmetry: str | Sequence[str] | None = None) -> dict:
    """Breakdown of the degrees of freedom of a rigid-molecule crystal.

    Parameters
    ----------
    spacegroup
        Hermann-Mauguin symbol or International Tables number.
    zprime
        Number of independent molecules (Z'). ``None`` (default) means one
        molecule per given site: Z' = 1 in a general position, 0.5 for a single
        molecule on an inversion centre. With a single ``site_symmetry`` string,
        Z' x |site group| molecules sit on such sites (Z' = 1 on ``"-1"`` is two
        independent half-molecules).
    site_symmetry
        ``None`` for a general position; one point-group symbol for all
        independent molecules; or a sequence of symbols, one per independent
        molecule (then Z' must be the sum of 1/|site group|, or None).

    Returns
    -------
    dict with keys ``spacegroup`` (number), ``symbol``, ``crystal_system``,
    ``point_group``, ``lattice``, ``rotations``, ``translations``, ``polar``,
    ``total``, ``zprime``, ``n_molecules``, ``molecules`` (per-molecule site,
    rotations, translations) and ``assumption`` (one line of text).
    """
    number = spacegroup_number(spacegroup)
    mols = _molecules(spacegroup, zprime, site_symmetry)
    lattice = lattice_parameters(spacegroup)
    polar = polar_directions(spacegroup)
    rotations = sum(m.rotations for m in mols)
    translations = sum(m.translations for m in mols)
    total = lattice + rotations + translations - polar
    z = sum(m.zprime for m in mols)

    sites = sorted({m.site_symmetry for m in mols}, key=lambda s: (s != "1", s))
    if sites == ["1"]:
        where = "general position"
    else:
        where = ", ".join(
            f"{sum(m.site_symmetry == s for m in mols)} on site {s}" for s in sites
        )
    assumption = (
        f"rigid molecule, Z'={float(z):g} ({len(mols)} independent molecule"
        f"{'s' if len(mols) != 1 else ''}: {where}) in {spacegroup_symbol(number)}: "
        f"{lattice} lattice + {rotations} rotations + {translations} translations"
        f" - {polar} polar = {total}"
    )
    return {
        "spacegroup": number,
        "symbol": spacegroup_symbol(number),
        "crystal_system": crystal_system(number),
        "point_group": point_group(number),
        "lattice": lattice,
        "rotations": rotations,
        "translations": translations,
        "polar": polar,
        "total": total,
        "zprime": float(z),
        "n_molecules": len(mols),
        "molecules": [
            {
                "site_symmetry": m.site_symmetry,
                "zprime": float(m.zprime),
                "rotations": m.rotations,
                "translations": m.translations,
            }
            for m in mols
        ],
        "assumption": assumption,
    }


def degrees_of_freedom(spacegroup, zprime: float | None = None, site_symmetry: str | Sequence[str] | None = None) -> int:
    """Degrees of freedom of a crystal of rigid molecules.

    ``degrees_of_freedom("P21/c") == 10``: 4 lattice parameters + 3 rotations +
    3 translations - 0 polar directions. ``zprime=None`` (default) is Z' = 1 in a
    general position, or one molecule on each given site
    (``degrees_of_freedom("P21/c", site_symmetry="-1") == 7``, the same as
    ``zprime=0.5``). See :func:`describe_dof` for the arguments and the breakdown.
    """
    return int(describe_dof(spacegroup, zprime=zprime, site_symmetry=site_symmetry)["total"])

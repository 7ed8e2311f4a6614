#!/usr/bin/env python
"""Minimax coefficients of exp1 / log1 in latentcsp.descriptors._vecmath (run once; documented here).

    .venv/bin/python tests/reference/vecmath_minimax.py

Remez exchange in 40-digit arithmetic (mpmath):

* exp: ``exp(r) = 1 + r + r^2 Q(r)`` on ``|r| <= ln2 / 2``, Q of degree 9;
* log: ``log(m) = 2 atanh(t) = 2 t (1 + u S(u))``, ``t = (m - 1) / (m + 1)``,
  ``u = t^2 <= ((sqrt2 - 1) / (sqrt2 + 1))^2``, S of degree 6.

Prints the coefficients (constant term first) and the relative error of the
whole function with the coefficients rounded to float64 (rounding of the
evaluation itself not included; the tests check the compiled functions against
libm).
"""

import mpmath as mp

mp.mp.dps = 40


def remez(f, a, b, deg, iters=20):
    """Minimax polynomial of degree ``deg`` for ``f`` on [a, b]: (coefficients, max error)."""
    n = deg + 2
    xs = [(a + b) / 2 - (b - a) / 2 * mp.cos(mp.pi * k / (n - 1)) for k in range(n)]
    for _ in range(iters):
        A = mp.matrix([[x**j for j in range(deg + 1)] + [(-1) ** i] for i, x in enumerate(xs)])
        sol = mp.lu_solve(A, mp.matrix([f(x) for x in xs]))
        c = [sol[j] for j in range(deg + 1)]

        def err(x):
            return mp.polyval(c[::-1], x) - f(x)

        edges = [a] + [(xs[i] + xs[i + 1]) / 2 for i in range(n - 1)] + [b]
        xs = []
        for lo, hi in zip(edges, edges[1:]):
            grid = [lo + (hi - lo) * k / 60 for k in range(61)]
            xs.append(max(grid, key=lambda x: abs(err(x))))
    return c, max(abs(err(a + (b - a) * k / 3000)) for k in range(3001))


def main():
    h = mp.log(2) / 2
    c, _ = remez(lambda r: (mp.exp(r) - 1 - r) / r**2 if r else mp.mpf(1) / 2, -h, h, 9)
    q = [mp.mpf(float(x)) for x in c]
    rel = max(abs((1 + r + r * r * mp.polyval(q[::-1], r)) / mp.exp(r) - 1)
              for r in (-h + 2 * h * k / 4000 for k in range(4001)))
    print("exp Q:", [float(x) for x in c], f"relative error {mp.nstr(rel, 3)}")

    tmax = (mp.sqrt(2) - 1) / (mp.sqrt(2) + 1)
    c, _ = remez(lambda u: (mp.atanh(mp.sqrt(u)) / mp.sqrt(u) - 1) / u if u else mp.mpf(1) / 3,
                 mp.mpf(0), tmax**2, 6)
    s = [mp.mpf(float(x)) for x in c]
    ts = [tmax * k / 2000 for k in range(1, 2001)]
    rel = max(abs(t * (1 + t * t * mp.polyval(s[::-1], t * t)) / mp.atanh(t) - 1) for t in ts)
    print("log S:", [float(x) for x in c], f"relative error {mp.nstr(rel, 3)}")


if __name__ == "__main__":
    main()

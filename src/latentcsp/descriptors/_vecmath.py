"""Vectorisable exp / log / cos for the AEV kernels (numba, float64).

numba calls libm for ``math.exp`` etc. one value at a time (no SVML here), and
those calls dominate the AEV cost.  These are plain polynomial versions that
LLVM turns into AVX2 loops: bit casts through a tiny intrinsic, no branches in
the loop bodies.  Accuracy: a few ulp (relative error < 5e-15 over the
ranges used; checked against libm in ``tests/test_descriptors_kernels.py``).

* :func:`exp1` / :func:`exp_inplace` – ``exp(x)`` for ``x <= 709`` (0 below
  -708, which only affects results < 3.3e-308);
* :func:`log1` – ``log(x)`` for normal positive ``x``;
* :func:`pow_inplace` – ``x[i] <- x[i] ** p`` for ``x >= 0`` (``0 ** p = 0``,
  ``p > 0``);
* :func:`cos_0_pi` – ``cos(x)`` for ``x`` in [0, pi] (the cutoff function's
  argument);
* :func:`gauss16` – sixteen radial Gaussians of one neighbour from two
  exponentials (see :func:`latentcsp.descriptors.kernels.radial_plan`), added
  into ``dst``;
* :func:`tile8x4` / :func:`tile4x8` – a block of the angular sums,
  ``acc[r, l] += sum_p S[p, r] V[p, l]`` (r: ShfA, l: ShfZ), formed in
  vector registers (a sum in memory waits on its own stores, pair after pair);
* :func:`axpy16` – ``dst[i:i+16] += a * src[j:j+16]`` as one LLVM vector
  operation: a short fixed-width update that LLVM's loop vectoriser otherwise
  wraps in run-time alias and trip-count checks.

No bounds checks in the vector operations: the caller keeps the slices in range.

numba's on-disk cache keys a compiled function on its own source file only:
after editing this file, delete the cached kernels that inline it
(``find src -name '*.nb[ic]' -delete``), or they keep the old code.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_I32 = ir.IntType(32)

__all__ = ["exp_inplace", "pow_inplace", "cos_0_pi", "exp1", "log1", "gauss16", "tile4x8", "tile8x4",
           "axpy16"]


@intrinsic
def _f2i(typingctx, x):
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


@intrinsic
def _i2f(typingctx, x):
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@intrinsic
def _f2u(typingctx, x):
    sig = types.uint64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


@intrinsic
def _u2f(typingctx, x):
    sig = types.float64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


_INV_LN2 = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln2 with the low 32 bits cleared (exact k * LN2_HI)
_LN2_LO = 1.9082149292705877e-10
_MAGIC = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer in the low bits
_SQRT2_BITS_U = np.uint64(0x3FF6A09E667F3BCD)  # bits of sqrt(2)
_MANT = np.uint64((1 << 52) - 1)
_ONE_BITS = np.uint64(0x3FF0000000000000)
_TWO52_BITS = np.uint64(0x4330000000000000)  # bits of 2**52
_U52 = np.uint64(52)
_U63 = np.uint64(63)


# minimax coefficients (Remez exchange in mpmath: tests/reference/vecmath_minimax.py),
# highest degree first.  exp: Q(r) on |r| <= ln2/2, relative error of exp < 1.3e-16
# before rounding; log: S(u) on u <= 0.0295, relative error of log < 5e-18.
_EXP_Q = (2.533272250534811e-08, 2.7613028518595227e-07, 2.7556658712683147e-06, 2.480153626331592e-05,
          0.0001984127039041626, 0.001388888890739337, 0.00833333333316609, 0.041666666666643995,
          0.16666666666666782, 0.5000000000000001)
_LOG_S = (0.07308865140749007, 0.07665804272460881, 0.09091446433796599, 0.11111105538856458,
          0.14285714313184447, 0.19999999999949256, 0.3333333333333335)


@njit(cache=True, inline="always")
def _horner(x, coefficients):
    """Polynomial in ``x``, coefficients highest degree first (a constant tuple: unrolled)."""
    p = coefficients[0]
    for c in coefficients[1:]:
        p = p * x + c
    return p


@njit(cache=True, inline="always")
def exp1(x):
    """exp(x), polynomial version (scalar; vectorises inside loops).
    0 for x < -708 (true value < 3.3e-308), clamped at x = 709."""
    x_in = x
    x = min(max(x, -708.0), 709.0)
    kd = x * _INV_LN2 + _MAGIC
    k = kd - _MAGIC
    r = (x - k * _LN2_HI) - k * _LN2_LO  # |r| <= ln2 / 2
    # exp(r) = 1 + r + r^2 Q(r), Q a minimax polynomial of degree 9
    q = _horner(r, _EXP_Q)
    p = (r * r) * q + r + 1.0
    # 2**k from the integer sitting in the low bits of kd
    scale = _i2f((_f2i(kd) + 1023) << 52)
    return p * scale if x_in >= -708.0 else 0.0


@njit(cache=True, inline="always")
def log1(x):
    """log(x) for normal positive x (scalar; vectorises inside loops)."""
    bits = _f2u(x)
    ebits = bits >> _U52  # biased exponent (x > 0: no sign bit)
    mbits = (bits & _MANT) | _ONE_BITS  # mantissa m in [1, 2)
    # if m > sqrt(2): m /= 2 and exponent + 1 (branch-free; big is 0 or 1)
    big = (_SQRT2_BITS_U - mbits) >> _U63
    mbits -= big << _U52
    ebits += big
    m = _u2f(mbits)
    # exponent as a float without an int->float conversion (no AVX2 instruction)
    fe = _u2f(ebits | _TWO52_BITS) - (4503599627370496.0 + 1023.0)
    t = (m - 1.0) / (m + 1.0)  # |t| <= 0.1716
    u = t * t
    # log(m) = 2 atanh(t) = 2 t (1 + u S(u)), S a minimax polynomial of degree 6
    q = _horner(u, _LOG_S)
    t2 = 2.0 * t
    return fe * _LN2_HI + ((t2 * u) * q + t2 + fe * _LN2_LO)


@njit(cache=True, error_model="numpy")
def exp_inplace(x, n):
    """x[:n] <- exp(x[:n])."""
    for i in range(n):
        x[i] = exp1(x[i])


@njit(cache=True, error_model="numpy")
def pow_inplace(x, n, p):
    """x[:n] <- x[:n] ** p for x >= 0 and p > 0."""
    for i in range(n):
        v = x[i]
        y = exp1(p * log1(max(v, 1e-300)))
        x[i] = y if v > 1e-300 else 0.0


# cos on [0, pi]: cos(x) = -sin(x - pi/2), sin by its Taylor series to x^23
_HALF_PI = 1.5707963267948966
_HALF_PI_LO = 6.123233995736766e-17


@njit(cache=True, inline="always")
def cos_0_pi(x):
    """cos(x) for x in [0, pi] (error < 3e-16 absolute)."""
    y = (x - _HALF_PI) - _HALF_PI_LO  # in [-pi/2, pi/2]
    y2 = y * y
    p = -1.0 / 25852016738884976640000.0
    p = p * y2 + 1.0 / 51090942171709440000.0
    p = p * y2 - 1.0 / 121645100408832000.0
    p = p * y2 + 1.0 / 355687428096000.0
    p = p * y2 - 1.0 / 1307674368000.0
    p = p * y2 + 1.0 / 6227020800.0
    p = p * y2 - 1.0 / 39916800.0
    p = p * y2 + 1.0 / 362880.0
    p = p * y2 - 1.0 / 5040.0
    p = p * y2 + 1.0 / 120.0
    p = p * y2 - 1.0 / 6.0
    p = p * y2 + 1.0
    return -(y * p)


def _vector_at(context, builder, arrty, arr, offset, vty):
    """Pointer to ``vty`` at element ``offset`` of a 1-D float64 array."""
    data = context.make_array(arrty)(context, builder, arr).data
    return builder.bitcast(builder.gep(data, [offset]), vty.as_pointer())


def _splat(builder, x, width):
    vty = ir.VectorType(x.type, width)
    v = builder.insert_element(ir.Constant(vty, ir.Undefined), x, ir.Constant(_I32, 0))
    return builder.shuffle_vector(v, ir.Constant(vty, ir.Undefined),
                                  ir.Constant(ir.VectorType(_I32, width), [0] * width))


@intrinsic
def gauss16(typingctx, dst, dst_off, plan, a, b, d):
    """``dst[dst_off + k] += a * C[k] * b**k * exp(d * E[k])`` for k < 16, with
    ``C = plan[0:16]``, ``E = plan[16:32]`` and ``|d * E[k]| <= 1e-4`` (the
    exponential by its Taylor series to the cube: error < 5e-18).  The powers
    of ``b`` come from three squarings (lane k multiplies b, b^2, b^4 by the
    bits of k; b^8 for the upper eight), all in two 8-wide vectors."""
    sig = types.void(dst, dst_off, plan, a, b, d)

    def codegen(context, builder, signature, args):
        dst_a, off, plan_a, a, b, d = args
        vty = ir.VectorType(ir.DoubleType(), 8)

        def lanes(bits):
            return ir.Constant(ir.VectorType(ir.IntType(1), 8), bits)

        def vec(arr_ty, arr, offset):
            return _vector_at(context, builder, arr_ty, arr, offset, vty)

        i64 = ir.IntType(64)
        b2 = builder.fmul(b, b)
        b4 = builder.fmul(b2, b2)
        b8 = builder.fmul(b4, b4)
        one = ir.Constant(vty, [1.0] * 8)
        powers = builder.fmul(
            builder.fmul(builder.select(lanes([0, 1] * 4), _splat(builder, b, 8), one),
                         builder.select(lanes([0, 0, 1, 1] * 2), _splat(builder, b2, 8), one)),
            builder.select(lanes([0] * 4 + [1] * 4), _splat(builder, b4, 8), one))
        dv = _splat(builder, d, 8)
        scale = (a, builder.fmul(a, b8))
        for half in (0, 1):
            c = builder.load(vec(signature.args[2], plan_a, ir.Constant(i64, 8 * half)), align=8)
            x = builder.fmul(dv, builder.load(vec(signature.args[2], plan_a, ir.Constant(i64, 16 + 8 * half)),
                                              align=8))
            # exp(x) = 1 + x (1 + x (1/2 + x/6))
            corr = builder.fadd(builder.fmul(x, ir.Constant(vty, [1.0 / 6.0] * 8)), ir.Constant(vty, [0.5] * 8))
            corr = builder.fadd(builder.fmul(x, corr), one)
            corr = builder.fadd(builder.fmul(x, corr), one)
            term = builder.fmul(builder.fmul(builder.fmul(_splat(builder, scale[half], 8), c), powers), corr)
            ptr = vec(signature.args[0], dst_a, builder.add(off, ir.Constant(off.type, 8 * half)))
            builder.store(builder.fadd(builder.load(ptr, align=8), term), ptr, align=8)
        return context.get_dummy_value()

    return sig, codegen


def _make_tile(rows: int, width: int):
    @intrinsic
    def tile(typingctx, acc, acc_off, V, S, p_lo, p_hi):
        sig = types.void(acc, acc_off, V, S, p_lo, p_hi)

        def codegen(context, builder, signature, args):
            acc_a, off, v_a, s_a, p_lo, p_hi = args
            vty = ir.VectorType(ir.DoubleType(), width)
            dst = [_vector_at(context, builder, signature.args[0], acc_a,
                              builder.add(off, ir.Constant(off.type, r * width)), vty) for r in range(rows)]
            # the running sums live in stack slots that LLVM promotes to registers
            sums = []
            for r in range(rows):
                sums.append(cgutils.alloca_once(builder, vty))
                builder.store(builder.load(dst[r], align=8), sums[-1])
            s_data = context.make_array(signature.args[3])(context, builder, s_a).data
            with cgutils.for_range(builder, builder.sub(p_hi, p_lo)) as loop:
                p = builder.add(p_lo, loop.index)
                v = builder.load(_vector_at(context, builder, signature.args[2], v_a,
                                            builder.mul(p, ir.Constant(p.type, width)), vty), align=8)
                s_row = builder.mul(p, ir.Constant(p.type, rows))
                for r in range(rows):
                    x = builder.load(builder.gep(s_data, [builder.add(s_row, ir.Constant(p.type, r))]))
                    prod = builder.fmul(_splat(builder, x, width), v, flags=("contract",))
                    builder.store(builder.fadd(builder.load(sums[r]), prod, flags=("contract",)), sums[r])
            for r in range(rows):
                builder.store(builder.load(sums[r]), dst[r], align=8)
            return context.get_dummy_value()

        return sig, codegen

    tile.__doc__ = (f"acc[acc_off + r*{width} + l] += sum over p_lo <= p < p_hi of S[p*{rows} + r] * V[p*{width} + l] "
                    f"(r < {rows}, l < {width}; float64, 1-D arrays), the {rows} running sums in registers.")
    return tile


def _make_axpy(width: int):
    @intrinsic
    def axpy(typingctx, dst, dst_off, src, src_off, alpha):
        sig = types.void(dst, dst_off, src, src_off, alpha)

        def codegen(context, builder, signature, args):
            vty = ir.VectorType(ir.DoubleType(), width)
            d = _vector_at(context, builder, signature.args[0], args[0], args[1], vty)
            s = _vector_at(context, builder, signature.args[2], args[2], args[3], vty)
            a = _splat(builder, args[4], width)
            prod = builder.fmul(a, builder.load(s, align=8), flags=("contract",))
            builder.store(builder.fadd(prod, builder.load(d, align=8), flags=("contract",)), d, align=8)
            return context.get_dummy_value()

        return sig, codegen

    axpy.__doc__ = f"dst[dst_off:dst_off+{width}] += alpha * src[src_off:src_off+{width}] (float64, 1-D)."
    return axpy


tile4x8 = _make_tile(4, 8)
tile8x4 = _make_tile(8, 4)
axpy16 = _make_axpy(16)

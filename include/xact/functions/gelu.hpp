// xact — gelu, exact (erf) form and tanh approximation, with derivatives from the input.
//
// Same contract as every functor (spec.md §1): members are templates over T = float, double or
// xsimd::batch<float|double, A>, one body for the scalar and the SIMD path (bitwise equal);
// NaN gives NaN for f and f'; no intermediate overflows: gelu(1e30) = 1e30, gelu(-1e30) = -0,
// gelu(+inf) = +inf, gelu(-inf) = -0, gelu(-0) = -0, f'(+inf) = 1, f'(-inf) = 0; results in
// the subnormal range are rounded once, never flushed.
//
// Exact form, float (the speed-critical case). Two regimes; a batch computes the second only when
// one of its lanes needs it (each lane gets the same value either way, so scalar and SIMD results
// stay bitwise equal), so a batch of typical activations costs about what Eigen's erf-based gelu
// costs:
//   |x| <= 3.25: piecewise polynomials in a = |x| for Phi(-a) and D(a) = Phi(-a) - a phi(a) =
//     gelu'(-a): gelu = fma(a, -Phi(-a), x >= 0 ? x : -0) (one rounding), gelu' = D or 1 - D.
//     The interval i is read from the low mantissa bits of one fma and each coefficient is one
//     permute (vpermt2ps on AVX-512, vpermps on AVX2; scalar loads elsewhere and for scalars).
//     Layout by target: with __AVX512F__, 32 uniform intervals (w = 27/256) of degree 4; otherwise
//     8 intervals of growing density, degree 6. The two layouts round differently (both within
//     the bounds below): float gelu is bitwise equal between scalar and SIMD calls of one
//     translation unit, not across instruction sets.
//   |x| > 3.25 (and +-inf): a = min(|x|, 15), e^(-a^2/2) = e 2^n (a^2 = h + l exact, Cody-Waite,
//     degree-6 kernel) and a G(a) = a e^(a^2/2) Phi(-a) as a polynomial of degree 7 in 1/a^2
//     (the Mills ratio); 2^n applied last, rounded once (vscalefps on AVX-512, two exact-then-
//     rounded scalings elsewhere: both give the correctly rounded product).
// Exact form, double: |x| <= 1/2: x (1/2 + x S(x^2)) and gelu' = 1/2 + x S2(x^2) (erf series,
//   degree 8 in x^2); beyond: e^-(x^2/2) with x^2 exact (exp_neg, math/erfc.hpp) times
//   G(a) = 1 / (2 (K a + P/Q)), with P/Q's rounding errors damped.
// Tanh form: x sigma(2u), 2u carried as a double-word (constants split hi + lo); f' =
//   (d + x 2u' E) / d^2 (x >= 0) or E (d + x 2u') / d^2 (x < 0), E = e^-|2u|, d = 1 + E: the
//   numerator rounds about once, the quotient by d^2 (as D + D_lo, with d's rounding error) is
//   corrected once with its exact residual, E is scaled in last.
// Coefficients: tools/coefficients_gelu.py (series, tables, tail) and tools/coefficients_erfc.py
// (exp kernel, P/Q), with tools/minimax.py; mpmath, reproducible.
//
// Measured max error, in ULP as tests/test_transcendental.cpp measures it (f' near its
// zero in ULP of max(|f'|, Phi, |x| phi), resp. max(|f'|, S, |2 x u'| S (1 - S))); float: every
// 97th bit pattern, [-10, 10] in steps of 2^-12 and 600k uniform samples; double: 1.0e6 samples:
//                                  gelu   gelu'  tanh   tanh'
//   float,  FMA (AVX-512 and AVX2)   2.17   2.61   2.29   2.83
//   float,  SSE2 (no FMA)            2.53   3.15   2.37   2.93
//   double, FMA                      2.45   2.79   2.23   2.63
//   double, SSE2 (no FMA)            2.84   2.87   2.55   2.69
// (float, |x| <= 3.25, the tables alone: gelu 1.99, gelu' 1.07.) Same maxima with -std=c++17 and
// gnu++17, -O2 and -O3; scalar and SIMD results bitwise equal in every build (gcc 12, clang 14).
//
// Speed, float, n = 4096, gcc 12 -O3, AMD Zen 5: throughput relative to Eigen 3.4's
// 0.5 x (1 + erf(x / sqrt2)) on ArrayXf (same flags; per-call TSC, interleaved, 10th percentile):
//                                 N(0,1)  U[-3,3]  U[-10,10]  N(0,3)
//   -march=native (AVX-512), loop  1.27    1.43     0.44       0.44
//        xact::forward             1.22    1.32     0.42       0.42
//   -mavx2 -mfma, loop             1.13    1.15     0.35       0.37
//        xact::forward             1.06    1.08     0.34       0.36
// (0.38-0.40 before the tables.) Wide inputs put a lane with |x| > 3.25 in almost every batch,
// which then pays for the Gaussian-tail kernel too. A plain scalar loop over erff is 15 (AVX2)
// to 31 (AVX-512) times slower on N(0,1).
#pragma once

#include <xact/detail/simd.hpp>
#include <xact/math/erfc.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

XACT_DIAGNOSTIC_PUSH

namespace xact {

namespace detail {

/// Double: the Gaussian tail at a = min(|x|, 39.5): Phi(-a) = e^-(h + l) G(a), a^2 / 2 = h + l
/// exactly.
template <class T>
struct gelu_erf_parts {
    T a;
    math::detail::exp_neg_parts<T> e;
};

template <class T>
XACT_INLINE gelu_erf_parts<T> gelu_erf_tail(const T& x) noexcept {
    // Beyond A, f, f' and the tail below have underflowed to 0 (at_most keeps NaN).
    const T amax = splat<T>(39.5);
    gelu_erf_parts<T> p;
    const T ax = detail::abs(x);
    p.a = detail::at_most(ax, amax);
    T h, l;
    detail::two_product(p.a, p.a, h, l);
    p.e = math::detail::exp_neg(h * T(0.5), l * T(0.5)); // x / sqrt2 is never rounded
    return p;
}

/// The approximation's e^-|2u|, 2u = x (c1 + c3 x^2), c1 = 2 sqrt(2/pi), c3 = 0.044715 c1, at
/// x clamped to [-L, L] (beyond, f and f' are x and 1, or have underflowed to 0). 2u is carried
/// as a double-word, constants included: e^-|2u| has relative error |2u| times that of 2u.
template <class T>
struct gelu_tanh_parts {
    T xc, x2, x2e, e_small, d, d_err; // clamped x, x^2 = x2 + x2e, E = e^-|2u| (exponent capped),
                                      // d + d_err = 1 + E exactly
    math::detail::exp_neg_parts<T> e;
};

template <class T>
XACT_INLINE gelu_tanh_parts<T> gelu_tanh_exp(const T& x) noexcept {
    constexpr bool f32 = std::is_same_v<scalar_t<T>, float>;
    const T lim = splat<T>(f32 ? 12.0 : 22.0);
    gelu_tanh_parts<T> p;
    p.xc = detail::at_least(detail::at_most(x, lim), -lim);
    const T c1h = splat<T>(f32 ? 1.5957691669464111 : 1.5957691216057308);
    const T c1l = splat<T>(f32 ? -4.534068054340423e-08 : -9.96930880911092e-17);
    const T c3h = splat<T>(f32 ? 0.07135481387376785 : 0.07135481627260025);
    const T c3l = splat<T>(f32 ? 2.3988324659995897e-09 : -6.175149918155315e-19);
    T x2, x2e;
    detail::two_product(p.xc, p.xc, x2, x2e);
    // c3 x^2 = t + te exactly. With FMA, t comes from an fma, not a bare product that GCC could
    // fuse into the addition below in one code path only; without, nothing can be fused.
#if XACT_HAS_FMA
    const T t = detail::fma(c3h, x2, T(0));
    const T te = detail::fms(c3h, x2, t);
#else
    T t, te;
    detail::two_product(c3h, x2, t, te);
#endif
    const T tl = detail::fma(c3h, x2e, detail::fma(c3l, x2, te)); // c3 x^2 = t + tl
    const T w = c1h + t;                                          // TwoSum: w + w_err
    const T bb = w - c1h;
    const T w_err = (c1h - (w - bb)) + (t - bb);
    const T wl = (w_err + tl) + c1l; // c1 + c3 x^2 = w + wl
    T u, ue;
    detail::two_product(p.xc, w, u, ue);
    ue = detail::fma(p.xc, wl, ue); // 2u = u + ue
    const auto neg = u < T(0);
    p.e = math::detail::exp_neg(detail::abs(u), detail::select(neg, -ue, ue));
    // e^-|2u| itself, only for 1 + e^-|2u| and terms added to 1: exponent capped at -120 /
    // -1000, far below where it still matters and within the normal range.
    const int_t<T> cap(f32 ? -120 : -1000);
    const T scale = detail::pow2i<T>(detail::select(p.e.n < cap, cap, p.e.n));
    p.e_small = detail::fma(p.e.q + T(1), scale, T(0)); // exact (scale: a power of two)
    p.d = detail::fma(p.e.q + T(1), scale, T(1));       // = 1 + e_small, rounded once
    p.d_err = (T(1) - p.d) + p.e_small;                 // Fast2Sum, E <= 1
    p.x2 = x2;
    p.x2e = x2e;
    return p;
}

/// gelu', tanh form (see gelu::derivative).
template <class T>
XACT_INLINE T gelu_tanh_d(const T& x) noexcept {
    constexpr bool f32 = std::is_same_v<scalar_t<T>, float>;
    const auto p = gelu_tanh_exp(x);
    // 2u' = c1 + 3 c3 x^2 = v + v_lo (x^2 = x2 + x2e exactly).
    const T c33h = splat<T>(f32 ? 0.21406444907188415527 : 0.2140644488178007343);
    const T c33l = splat<T>(f32 ? -2.5408340894442124316e-10 : 1.2025242832367862119e-17);
    const T c1h = splat<T>(f32 ? 1.5957691669464111328 : 1.5957691216057308115);
    const T c1l = splat<T>(f32 ? -4.534068042105271576e-8 : -9.9693088091109203146e-17);
#if XACT_HAS_FMA
    const T v = detail::fma(c33h, p.x2, c1h);
    const T v_lo = detail::fma(c33h, p.x2e, detail::fma(c33l, p.x2, c1l));
#else
    // Without FMA, c1 + 3 c3 x^2 would round twice: c33h x2 = t + te exactly, c1h + t = v + v_err
    // (TwoSum), and the low parts go to v_lo.
    T t, te;
    detail::two_product(c33h, p.x2, t, te);
    const T v = c1h + t;
    const T bb = v - c1h;
    const T v_err = (c1h - (v - bb)) + (t - bb);
    const T v_lo = ((v_err + te) + c33h * p.x2e) + (c33l * p.x2 + c1l);
#endif
    const auto neg = x < T(0);
    // x < 0: n = d + x 2u'; x >= 0: n = d + x 2u' E. Both: n = y v + ((y v_lo + d_err) + d).
    const T y = detail::select(neg, p.xc, p.xc * p.e_small);
    const T inner = detail::fma(y, v_lo, p.d_err) + p.d;
#if XACT_HAS_FMA
    const T n = detail::fma(y, v, inner);
#else
    // y v exactly (Dekker): near the zero of f' (x = -0.7525) n cancels, and a rounded product
    // could make it an exact 0 that the true value is not; ph + inner is exact there (Sterbenz).
    T yv, yv_lo;
    detail::two_product(y, v, yv, yv_lo);
    const T n = (yv + inner) + yv_lo;
#endif
    // d^2 = D + D_lo (two_product, plus 2 d d_err).
    T D, D_lo;
    detail::two_product(p.d, p.d, D, D_lo);
    D_lo = detail::fma(p.d + p.d, p.d_err, D_lo);
    const T inv = splat<T>(1) / D;
    const T z0 = n * inv;
#if XACT_HAS_FMA
    T rho = detail::fma(z0, -D, n);
#else
    T ph, pl; // the exact residual needs the exact product without FMA
    detail::two_product(z0, D, ph, pl);
    T rho = (n - ph) - pl;
    // Dekker's split overflows for huge quotients; there the correction is not needed.
    rho = detail::select(detail::abs(z0) < splat<T>(f32 ? 0x1p100 : 0x1p900), rho, T(0));
#endif
    rho = detail::fma(z0, -D_lo, rho);
    const T z = detail::fma(rho, inv, z0);
    return detail::select(neg, math::detail::exp_neg_scale(z, p.e).value(), z);
}

/// Double, |x| <= 1/2: Phi(x) = 1/2 + x S(x^2) and gelu'(x) = 1/2 + x S2(x^2), S2(u) = S(u) +
/// phi(sqrt u): near-minimax polynomials of degree 8 in u = x^2 (tools/coefficients_gelu.py,
/// "series"). f = x (1/2 + x S) rounds three times, without cancellation (1/2 + x S stays in
/// [0.3, 0.7]; gelu' in [0.13, 0.87]).
template <class T>
XACT_INLINE T gelu_small_s(const T& u) noexcept {
    T s = splat<T>(7.10689129778753138443e-9);
    s = detail::fma(s, u, splat<T>(-4.65050698131980745802e-8));
    s = detail::fma(s, u, splat<T>(6.68325016718197888484e-7));
    s = detail::fma(s, u, splat<T>(-9.44521430027826768558e-6));
    s = detail::fma(s, u, splat<T>(0.000115434763108711183413));
    s = detail::fma(s, u, splat<T>(-0.00118732822130009768591));
    s = detail::fma(s, u, splat<T>(0.00997355701027538218972));
    s = detail::fma(s, u, splat<T>(-0.0664903800669099237508));
    return detail::fma(s, u, splat<T>(0.398942280401432702863));
}
template <class T>
XACT_INLINE T gelu_small_s2(const T& u) noexcept {
    T s = splat<T>(4.83244948767062734027e-8);
    s = detail::fma(s, u, splat<T>(-6.69107343337849398495e-7));
    s = detail::fma(s, u, splat<T>(9.32800486915847146914e-6));
    s = detail::fma(s, u, splat<T>(-0.000113336949446962416497));
    s = detail::fma(s, u, splat<T>(0.00115434702345922415856));
    s = detail::fma(s, u, splat<T>(-0.00949862573530105107344));
    s = detail::fma(s, u, splat<T>(0.0598413420606896256926));
    s = detail::fma(s, u, splat<T>(-0.265961520267630702197));
    return detail::fma(s, u, splat<T>(0.797884560802865405726));
}

// ---------------------------------------------------------------- float: piecewise tables

// Generated by tools/coefficients_gelu.py (tables).
// layout 'avx512': N = 32, degree 4, L = 3.25; max error of the rounded polynomials: Phi(-a)
// 2^-24.2 (relative), D 2^-24.6 (weighted)
struct gelu_table_avx512 {
    static constexpr int n = 32, degree = 4;
    static constexpr bool uniform = true;
    static constexpr float inv_w = 9.4814815521240234375f, w = 0.10546875f;
    alignas(64) static constexpr float p[5][32] = {
        {-0.5f,
         -0.458001941442489624023438f,
         -0.41646802425384521484375f,
         -0.3758471012115478515625f,
         -0.336558133363723754882813f,
         -0.298977434635162353515625f,
         -0.263428032398223876953125f,
         -0.230171784758567810058594f,
         -0.199404567480087280273438f,
         -0.171254679560661315917969f,
         -0.1457841396331787109375f,
         -0.122992597520351409912109f,
         -0.102823682129383087158203f,
         -0.0851728692650794982910156f,
         -0.0698964744806289672851563f,
         -0.0568212196230888366699219f,
         -0.0457536242902278900146484f,
         -0.0364889614284038543701172f,
         -0.0288192369043827056884766f,
         -0.0225400514900684356689453f,
         -0.017456112429499626159668f,
         -0.0133853955194354057312012f,
         -0.0101619893684983253479004f,
         -0.00763773731887340545654297f,
         -0.00568284047767519950866699f,
         -0.00418561045080423355102539f,
         -0.00305157457478344440460205f,
         -0.0022021234035491943359375f,
         -0.00157287274487316608428955f,
         -0.0011118924012407660484314f,
         -0.000777916924562305212020874f,
         -0.000538629246875643730163574f},
        {0.398942261934280395507813f,   0.39672958850860595703125f,
         0.390164881944656372070313f,   0.379464238882064819335938f,
         0.364974498748779296875f,      0.347154885530471801757813f,
         0.326552540063858032226563f,   0.30377495288848876953125f,
         0.279460161924362182617188f,   0.254247605800628662109375f,
         0.228750959038734436035156f,   0.20353448390960693359375f,
         0.179094463586807250976563f,   0.155845910310745239257813f,
         0.134115085005760192871094f,   0.114137664437294006347656f,
         0.0960614979267120361328125f,  0.0799537450075149536132813f,
         0.0658108219504356384277344f,  0.0535703971982002258300781f,
         0.0431242398917675018310547f,  0.0343310534954071044921875f,
         0.0270284954458475112915039f,  0.0210438724607229232788086f,
         0.0162031147629022598266602f,  0.0123378764837980270385742f,
         0.00929076131433248519897461f, 0.00691880658268928527832031f,
         0.00509542319923639297485352f, 0.00371106341481208801269531f,
         0.00267291720956563949584961f, 0.00190388178452849388122559f},
        {2.5702656785142607986927e-6f,   -0.0208981465548276901245117f,
         -0.0411414094269275665283203f,  -0.0599940977990627288818359f,
         -0.0769762024283409118652344f,  -0.0915745422244071960449219f,
         -0.103361420333385467529297f,   -0.112119920551776885986328f,
         -0.117878228425979614257813f,   -0.120678953826427459716797f,
         -0.120618179440498352050781f,   -0.118066325783729553222656f,
         -0.113342054188251495361328f,   -0.106832012534141540527344f,
         -0.0990154296159744262695313f,  -0.0902814120054244995117188f,
         -0.0810531899333000183105469f,  -0.0716749355196952819824219f,
         -0.0624687597155570983886719f,  -0.0536761209368705749511719f,
         -0.0454835034906864166259766f,  -0.0380190052092075347900391f,
         -0.0313568301498889923095703f,  -0.0255238227546215057373047f,
         -0.0205068644136190414428711f,  -0.0162655226886272430419922f,
         -0.012738558463752269744873f,   -0.00985120609402656555175781f,
         -0.00752374762669205665588379f, -0.00567536242306232452392578f,
         -0.0042286305688321590423584f,  -0.00311290635727345943450928f},
        {-0.0666005387902259826660156f, -0.0653623118996620178222656f,
         -0.0621121227741241455078125f, -0.0569291934370994567871094f,
         -0.0499882623553276062011719f, -0.0417603142559528350830078f,
         -0.0326026752591133117675781f, -0.0230327546596527099609375f,
         -0.0134267294779419898986816f, -0.00420115189626812934875488f,
         0.00427177734673023223876953f, 0.0117263076826930046081543f,
         0.0179524514824151992797852f,  0.0228363368660211563110352f,
         0.0263715479522943496704102f,  0.028578517958521842956543f,
         0.0295736845582723617553711f,  0.0295052826404571533203125f,
         0.0285546332597732543945313f,  0.0269204583019018173217773f,
         0.0247919503599405288696289f,  0.0223457366228103637695313f,
         0.0197479799389839172363281f,  0.0171318445354700088500977f,
         0.0146035356447100639343262f,  0.0122414035722613334655762f,
         0.0100984601303935050964355f,  0.00820179283618927001953125f,
         0.00656053656712174415588379f, 0.00517090503126382827758789f,
         0.00401735678315162658691406f, 0.00306149083189666271209717f},
        {0.00182134530041366815567017f,  -0.00293958559632301330566406f,
         0.00707892561331391334533691f,  0.00144522450864315032958984f,
         0.0143798887729644775390625f,   0.0348122455179691314697266f,
         0.0355976559221744537353516f,   0.0173499584197998046875f,
         0.0157418325543403625488281f,   0.0248395428061485290527344f,
         0.0146249383687973022460938f,   0.0163675453513860702514648f,
         0.0162453390657901763916016f,   0.00724614597856998443603516f,
         0.00696295360103249549865723f,  0.00266381585970520973205566f,
         0.00140201929025352001190186f,  -0.00206003710627555847167969f,
         -0.00316995126195251941680908f, -0.00419421913102269172668457f,
         -0.00522053195163607597351074f, -0.00602445797994732856750488f,
         -0.00638482626527547836303711f, -0.00615869835019111633300781f,
         -0.00587787106633186340332031f, -0.00542032578960061073303223f,
         -0.00478271953761577606201172f, -0.00418996904045343399047852f,
         -0.00357732875272631645202637f, -0.00299415690824389457702637f,
         -0.0024713205639272928237915f,  -0.00216580252163112163543701f},
    };
    alignas(64) static constexpr float d[5][32] = {
        {0.5f,
         0.416159361600875854492188f,
         0.334167629480361938476563f,
         0.25578224658966064453125f,
         0.182584509253501892089844f,
         0.115907490253448486328125f,
         0.0567815043032169342041016f,
         0.00590042630210518836975098f,
         -0.0363899432122707366943359f,
         -0.0700819119811058044433594f,
         -0.0954766422510147094726563f,
         -0.113139212131500244140625f,
         -0.123842753469944000244141f,
         -0.128506481647491455078125f,
         -0.128132849931716918945313f,
         -0.123748131096363067626953f,
         -0.116350159049034118652344f,
         -0.106865607202053070068359f,
         -0.0961184948682785034179688f,
         -0.0848100036382675170898438f,
         -0.0735090821981430053710938f,
         -0.062652528285980224609375f,
         -0.0525525659322738647460938f,
         -0.0434100925922393798828125f,
         -0.0353312939405441284179688f,
         -0.0283458977937698364257813f,
         -0.0224254373461008071899414f,
         -0.0175002664327621459960938f,
         -0.013474554754793643951416f,
         -0.0102387480437755584716797f,
         -0.00767936464399099349975586f,
         -0.00568620022386312484741211f},
        {-0.797884523868560791015625f,  -0.7890460491180419921875f,    -0.762969553470611572265625f,
         -0.720939159393310546875f,     -0.6649913787841796875f,       -0.597768962383270263671875f,
         -0.52233660221099853515625f,   -0.441974610090255737304688f,  -0.359968751668930053710938f,
         -0.279414027929306030273438f,  -0.203047186136245727539063f,  -0.133119180798530578613281f,
         -0.0713142454624176025390625f, -0.0187173895537853240966797f, 0.024172483012080192565918f,
         0.0573910251259803771972656f,  0.0814271345734596252441406f,  0.0971227660775184631347656f,
         0.1055648326873779296875f,     0.107978649437427520751953f,   0.105631224811077117919922f,
         0.0997500121593475341796875f,  0.0914603769779205322265625f,  0.0817431285977363586425781f,
         0.0714107975363731384277344f,  0.0611006990075111389160156f,  0.0512812323868274688720703f,
         0.0422680154442787170410156f,  0.0342460945248603820800781f,  0.0272948686033487319946289f,
         0.0214135348796844482421875f,  0.0165445245802402496337891f},
        {-6.55438270769082009792328e-6f, 0.0834487825632095336914063f,
         0.162735894322395324707031f,    0.234101310372352600097656f,
         0.294250935316085815429688f,    0.340685397386550903320313f,
         0.37191784381866455078125f,     0.387422412633895874023438f,
         0.387656688690185546875f,       0.37394750118255615234375f,
         0.348341971635818481445313f,    0.31334781646728515625f,
         0.271797031164169311523438f,    0.226525098085403442382813f,
         0.180200800299644470214844f,    0.135164350271224975585938f,
         0.0934013426303863525390625f,   0.0562902465462684631347656f,
         0.0247375480830669403076172f,   -0.000831890967674553394317627f,
         -0.0204505100846290588378906f,  -0.0344220586121082305908203f,
         -0.0433945730328559875488281f,  -0.0480983033776283264160156f,
         -0.0493625029921531677246094f,  -0.0480213649570941925048828f,
         -0.0448345132172107696533203f,  -0.0404810756444931030273438f,
         -0.0355189815163612365722656f,  -0.0303903017193078994750977f,
         -0.0254196394234895706176758f,  -0.0208199881017208099365234f},
        {0.266324013471603393554688f,    0.259185791015625f,
         0.239925220608711242675781f,    0.209210470318794250488281f,
         0.169397979974746704101563f,    0.123242199420928955078125f,
         0.0738637372851371765136719f,   0.0244342852383852005004883f,
         -0.0221124328672885894775391f,  -0.0632664933800697326660156f,
         -0.0971039086580276489257813f,  -0.122369281947612762451172f,
         -0.138600483536720275878906f,   -0.1460473537445068359375f,
         -0.145411327481269836425781f,   -0.137973308563232421875f,
         -0.125234469771385192871094f,   -0.108832225203514099121094f,
         -0.0903698354959487915039063f,  -0.0712925717234611511230469f,
         -0.0528209432959556579589844f,  -0.0359275378286838531494141f,
         -0.0212048720568418502807617f,  -0.00902471411973237991333008f,
         0.000520981091540306806564331f, 0.00751259643584489822387695f,
         0.0122169610112905502319336f,   0.0149683104828000068664551f,
         0.0161248501390218734741211f,   0.0160914734005928039550781f,
         0.0152041837573051452636719f,   0.0138216558843851089477539f},
        {-0.00792289897799491882324219f, -0.030179562047123908996582f,
         -0.0493787825107574462890625f,  -0.0787379965186119079589844f,
         -0.104752115905284881591797f,   -0.114629641175270080566406f,
         -0.118620663881301879882813f,   -0.115000046789646148681641f,
         -0.104962907731533050537109f,   -0.0890652015805244445800781f,
         -0.0719168111681938171386719f,  -0.0483356490731239318847656f,
         -0.028317390009760856628418f,   -0.0119516793638467788696289f,
         0.00425499957054853439331055f,  0.0269935466349124908447266f,
         0.0347475260496139526367188f,   0.0403936393558979034423828f,
         0.043740332126617431640625f,    0.0422104895114898681640625f,
         0.0447206422686576843261719f,   0.0358136855065822601318359f,
         0.0321589000523090362548828f,   0.0258866958320140838623047f,
         0.0187233015894889831542969f,   0.0137846637517213821411133f,
         0.00870666000992059707641602f,  0.00477951578795909881591797f,
         0.0011601254809647798538208f,   -0.00155180110596120357513428f,
         -0.00283902324736118316650391f, -0.00342731829732656478881836f},
    };
};
// layout 'default': N = 8, degree 6, L = 3.25; max error of the rounded polynomials: Phi(-a)
// 2^-25.0 (relative), D 2^-24.7 (weighted)
struct gelu_table_default {
    static constexpr int n = 8, degree = 6;
    static constexpr bool uniform = false;
    static constexpr float s1 = 1.630085468292236328125f, s2 = 0.203760683536529541015625f;
    alignas(64) static constexpr float c[8] = {0.0f,          0.564453125f,  1.0751953125f,
                                               1.5380859375f, 1.9658203125f, 2.3642578125f,
                                               2.7392578125f, 3.0859375f};
    alignas(64) static constexpr float p[7][8] = {
        {-0.5f, -0.286222904920578002929688f, -0.141143649816513061523438f,
         -0.0620138011872768402099609f, -0.0246596857905387878417969f,
         -0.00903311744332313537597656f, -0.00307890330441296100616455f,
         -0.00101455731783062219619751f},
        {0.398942291736602783203125f, 0.340193003416061401367188f, 0.223809286952018737792969f,
         0.122237093746662139892578f, 0.0577770732343196868896484f, 0.0243847817182540893554688f,
         0.00936566293239593505859375f, 0.00341204414144158363342285f},
        {-6.67664210141083458438516e-7f, -0.0960096791386604309082031f, -0.12031853199005126953125f,
         -0.0940057188272476196289063f, -0.0567895136773586273193359f,
         -0.0288260634988546371459961f, -0.0128274653106927871704102f,
         -0.00526469200849533081054688f},
        {-0.0664771944284439086914063f, -0.0386354699730873107910156f,
         0.00581899844110012054443359f, 0.0278231557458639144897461f, 0.0275829005986452102661133f,
         0.0186533890664577484130859f, 0.010151657275855541229248f, 0.00484687369316816329956055f},
        {-0.000120441480248700827360153f, 0.0213946811854839324951172f,
         0.0184538848698139190673828f, 0.00497358059510588645935059f,
         -0.00409833015874028205871582f, -0.00621334090828895568847656f,
         -0.0048147649504244327545166f, -0.00286061037331819534301758f},
        {0.0105332983657717704772949f, 0.00338387745432555675506592f,
         -0.00477464077994227409362793f, -0.00567337963730096817016602f,
         -0.00252452888526022434234619f, 0.000128626401419751346111298f,
         0.00110819446854293346405029f, 0.00103560939896851778030396f},
        {-0.00129134964663535356521606f, -0.00266617117449641227722168f,
         -0.00121118687093257904052734f, 0.00074947677785530686378479f,
         0.0014599690912291407585144f, 0.000638601137325167655944824f,
         0.000141030817758291959762573f, -0.000177188761881552636623383f},
    };
    alignas(64) static constexpr float d[7][8] = {
        {0.5f, 0.0941999033093452453613281f, -0.0994950458407402038574219f,
         -0.125997349619865417480469f, -0.0889196544885635375976563f, -0.048618793487548828125f,
         -0.0225760601460933685302734f, -0.00951479841023683547973633f},
        {-0.797884643077850341796875f, -0.57199800014495849609375f, -0.18888509273529052734375f,
         0.0447031222283840179443359f, 0.107722438871860504150391f, 0.087534427642822265625f,
         0.0515442341566085815429688f, 0.0256688445806503295898438f},
        {4.91433820570819079875946e-6f, 0.353454798460006713867188f, 0.342183023691177368164063f,
         0.153630033135414123535156f, 0.00769802788272500038146973f, -0.0458250008523464202880859f,
         -0.0449417196214199066162109f, -0.0290767513215541839599609f},
        {0.265863120555877685546875f, 0.106098778545856475830078f, -0.102779015898704528808594f,
         -0.141861706972122192382813f, -0.0781675502657890319824219f, -0.0157838873565196990966797f,
         0.0121416654437780380249023f, 0.0159379914402961730957031f},
        {0.00091185094788670539855957f, -0.116733819246292114257813f, -0.06638133525848388671875f,
         0.01913726329803466796875f, 0.045304119586944580078125f, 0.0294038299471139907836914f,
         0.00881730113178491592407227f, -0.00173515640199184417724609f},
        {-0.0641455426812171936035156f, -0.00951278395950794219970703f,
         0.0386898182332515716552734f, 0.0267089847475290298461914f,
         -0.000854447833262383937835693f, -0.0116838943213224411010742f,
         -0.00886786170303821563720703f, -0.00341376685537397861480713f},
        {0.010106473229825496673584f, 0.0220514051616191864013672f, 0.00504831410944461822509766f,
         -0.0126617606729269027709961f, -0.00829008128494024276733398f,
         -0.000772242667153477668762207f, 0.00236728647723793983459473f,
         0.00246045272797346115112305f},
    };
};

#if defined(__AVX512F__)
using gelu_table = gelu_table_avx512;
#else
using gelu_table = gelu_table_default;
#endif

/// tab[i & (N - 1)] per lane, N = 8 or 32 (tab 64-byte aligned): one permute on AVX-512 (N = 32,
/// 16 lanes) and AVX2 (N = 8, 8 lanes), scalar loads otherwise. The permutes read only the low
/// 5 (3) bits of each index, like the mask of the scalar path.
template <int N, class T>
XACT_INLINE T table_lookup(const float* tab, const int_t<T>& i) noexcept {
    if constexpr (!is_batch_v<T>) {
        return tab[i & (N - 1)];
    } else {
        constexpr std::size_t W = simd_traits<T>::width;
#if defined(__AVX512F__)
        if constexpr (N == 32 && W == 16) {
            return T(_mm512_permutex2var_ps(_mm512_load_ps(tab), i, _mm512_load_ps(tab + 16)));
        }
#endif
#if defined(__AVX2__)
        if constexpr (N == 8 && W == 8) {
            return T(_mm256_permutevar8x32_ps(_mm256_load_ps(tab), i));
        }
#endif
        alignas(64) std::int32_t idx[W];
        alignas(64) float out[W];
        i.store_aligned(idx);
        for (std::size_t k = 0; k < W; ++k) out[k] = tab[idx[k] & (N - 1)];
        return T::load_aligned(out);
    }
}

/// Where a = |x| (<= 3.25) falls in the tables: interval i and t = a - c_i (exact). Uniform
/// layout: i = round(a / w) (the low mantissa bits of the fma with 1.5 * 2^23), c_i = i w.
/// Otherwise i = round(a (s1 + s2 a)) and c_i from a table.
template <class T>
struct gelu_table_point {
    int_t<T> i;
    T t;
};
template <class T, class Tab = gelu_table>
XACT_INLINE gelu_table_point<T> gelu_table_at(const T& a) noexcept {
    const T magic = splat<T>(0x1.8p23);
    gelu_table_point<T> p;
    if constexpr (Tab::uniform) {
        const T m = detail::fma(a, splat<T>(Tab::inv_w), magic);
        p.i = as_int(m);
        p.t = detail::fma(m - magic, splat<T>(-Tab::w), a); // i w is exact, so is a - i w
    } else {
        const T m = detail::fma(a, detail::fma(a, splat<T>(Tab::s2), splat<T>(Tab::s1)), magic);
        p.i = as_int(m);
        p.t = a - table_lookup<Tab::n, T>(Tab::c, p.i);
    }
    return p;
}
/// The polynomial of the interval: sum_k tab[k][i] t^k (Horner). ExactLast: without FMA, the
/// last step adds the exact product (gelu' crosses zero at a = 0.7518, where r t + c0 must not
/// round to an exact 0 that the true value is not).
template <bool ExactLast, class T>
XACT_INLINE T gelu_table_eval(const float (&tab)[gelu_table::degree + 1][gelu_table::n],
                              const gelu_table_point<T>& p) noexcept {
    constexpr int N = gelu_table::n;
    T r = table_lookup<N, T>(tab[gelu_table::degree], p.i);
    for (int k = gelu_table::degree - 1; k >= 1; --k)
        r = detail::fma(r, p.t, table_lookup<N, T>(tab[k], p.i));
    const T c0 = table_lookup<N, T>(tab[0], p.i);
#if !XACT_HAS_FMA
    if constexpr (ExactLast) {
        T ph, pl;
        detail::two_product(r, p.t, ph, pl);
        return (c0 + ph) + pl; // c0 + ph is exact where they cancel (Sterbenz)
    }
#endif
    return detail::fma(r, p.t, c0);
}

/// Double: gelu and gelu' (erf form) for |x| > 1/2 and non-finite x, from the Gaussian tail.
template <class T>
XACT_INLINE T gelu_tail_f(const T& x) noexcept {
    // x >= 0: x - x Phi(-x); x < 0: x Phi(x) = -(a G(a)) e^-(x^2/2).
    const auto p = gelu_erf_tail(x);
    const auto w = math::detail::exp_neg_scale(math::detail::gauss_tail_times(p.a, p.a), p.e);
    return detail::select(x < T(0), w.neg_value(), w.minus(x));
}
template <class T>
XACT_INLINE T gelu_tail_d(const T& x) noexcept {
    // x < 0: Phi(x) + x phi(x) = e^-(x^2/2) (G(a) - a / sqrt(2 pi)); x >= 0: 1 minus that.
    const auto p = gelu_erf_tail(x);
    // G - a/sqrt(2 pi) with a/sqrt(2 pi) = ph + pl + a c_lo exactly to well below ulp: the
    // difference cancels near the zero of f' (x = -0.7518), where it must not round to 0.
    T ph, pl;
    math::detail::exact_product(p.a, splat<T>(0.3989422804014327), ph, pl);
    const T g = math::detail::gauss_tail_times(p.a, splat<T>(1));
    const T c_lo = splat<T>(std::is_same_v<scalar_t<T>, float> ? -1.133517010526317894e-8
                                                               : -2.4923272022777300786e-17);
    const T d = detail::fnma(p.a, c_lo, (g - ph) - pl);
    const auto v = math::detail::exp_neg_scale(d, p.e);
    return detail::select(x < T(0), v.value(), v.minus(T(1)));
}

// ---------------------------------------------------------------- float: Gaussian tail

/// y 2^n (n <= 0, given as the float nf), rounded once: results in the subnormal range are not
/// flushed. One vscalefps on AVX-512; elsewhere two exact-then-rounded scalings (detail::scale2).
/// Both are the correctly rounded product, so scalar and SIMD results agree bitwise.
template <class T>
XACT_INLINE T gelu_ldexp(const T& y, const T& nf, const int_t<T>& n) noexcept {
    return detail::scale2(y, n, nf);
}

/// float, 3.25 < |x| (and non-finite): a = min(|x|, 15) (beyond, f and f' have underflowed to 0),
/// e^(-a^2/2) = e 2^n (Cody-Waite with a^2 = h + l exact; e^r of degree 6) and
/// a G(a) = a e^(a^2/2) Phi(-a) = ag, a polynomial of degree 7 in v = 1/a^2 (the Mills ratio:
/// 1 - v + 3 v^2 - ..., near-minimax; tools/coefficients_gelu.py "tail"). inv = 1/a.
template <class T>
struct gelu_tail_f32 {
    T a, inv, ag, e, nf;
    int_t<T> n;
};
template <class T>
XACT_INLINE gelu_tail_f32<T> gelu_tail_parts_f32(const T& x) noexcept {
    gelu_tail_f32<T> p;
    const T ax = detail::abs(x);
    p.a = detail::at_most(ax, splat<T>(15.0));
    T h, l;
    math::detail::exact_product(p.a, p.a, h, l);
    const T magic = splat<T>(0x1.8p23);
    const T t = detail::fma(h, splat<T>(-0x1.715476p-1), magic); // n = round(-h / (2 ln2)) <= 0
    p.nf = t - magic;
    p.n = as_int(t) - as_int(magic);
    // r = -(h + l)/2 - n ln2, ln2 = 0x1.62ep-1 + 3.19e-5 (n ln2_hi exact and so is the sum).
    T r = detail::fma(p.nf, splat<T>(-0x1.62ep-1), h * splat<T>(-0.5));
    r = detail::fma(p.nf, splat<T>(-3.194618329871446e-05), r);
    r = detail::fma(l, splat<T>(-0.5), r);
    // e^r = 1 + r (1 + r c(r)), the exp kernel of math/erfc.hpp.
    T c = splat<T>(0.00139261761199355788836);
    c = detail::fma(c, r, splat<T>(0.00836317307451371090281));
    c = detail::fma(c, r, splat<T>(0.0416665546620505339818));
    c = detail::fma(c, r, splat<T>(0.166665770255979881901));
    c = detail::fma(c, r, splat<T>(0.5));
    p.e = detail::fma(detail::fma(c, r, splat<T>(1)), r, splat<T>(1));
    p.inv = splat<T>(1) / p.a;
    const T v = p.inv * p.inv;
    T g = splat<T>(-1789.3819580078125);
    g = detail::fma(g, v, splat<T>(886.962646484375));
    g = detail::fma(g, v, splat<T>(-211.8626251220703125));
    g = detail::fma(g, v, splat<T>(36.03595733642578125));
    g = detail::fma(g, v, splat<T>(-5.85393810272216796875));
    g = detail::fma(g, v, splat<T>(1.19520461559295654296875));
    g = detail::fma(g, v, splat<T>(-0.398932754993438720703125));
    p.ag = detail::fma(g, v, splat<T>(0.398942261934280395507813));
    return p;
}
template <class T>
XACT_INLINE T gelu_tail_f_f32(const T& x) noexcept {
    // x < 0: x Phi(x) = -(a G) e^(-a^2/2); x > 0: x - that, |that| < ulp(x) beyond x = 5.6.
    const auto p = gelu_tail_parts_f32(x);
    const T s = gelu_ldexp(p.ag * p.e, p.nf, p.n);
    return detail::select(x < T(0), s * splat<T>(-1), x - s);
}
template <class T>
XACT_INLINE T gelu_tail_d_f32(const T& x) noexcept {
    // x < 0: e^(-a^2/2) (G - a phi(0)) (G < a phi(0) / 10 here: no cancellation); x > 0: 1 - that.
    const auto p = gelu_tail_parts_f32(x);
    const T d = detail::fnma(p.a, splat<T>(0.3989422804014327), p.ag * p.inv);
    const T s = gelu_ldexp(d * p.e, p.nf, p.n);
    return detail::select(x < T(0), s, splat<T>(1) - s);
}

/// Where the Gaussian-tail kernel takes over: |x| > 3.25 (float tables), |x| > 1/2 (double).
template <class T>
XACT_INLINE auto gelu_far(const T& x) noexcept {
    return detail::abs(x) > splat<T>(std::is_same_v<scalar_t<T>, float> ? 3.25 : 0.5);
}

template <class T>
XACT_INLINE T gelu_exact_f(const T& x) noexcept {
    if constexpr (std::is_same_v<scalar_t<T>, float>) {
        // (x >= 0 ? x : -0) - |x| Phi(-|x|), one rounding (with FMA): x Phi(x) on both sides.
        // The first term is -0 for x <= -0, so that the sign survives products that underflow
        // (gelu(-0) = -0, gelu(-2^-149) = -0 also without FMA).
        const auto near = [](const T& v) XACT_LAMBDA_INLINE {
            const T a = detail::abs(v);
            const T mp = gelu_table_eval<false>(gelu_table::p, gelu_table_at(a)); // -Phi(-a)
            // v (v >= +0 or -0) or -0 (v < 0), written as a product: clang 14 folds the
            // select(v < 0, -0, v) form into select(v <= 0, -0, v), which turns +0 into -0.
            const T first = v * detail::select(v < T(0), splat<T>(0.0), splat<T>(1.0));
            const T r = detail::fma(a, mp, first);
            // gelu(2^-149) = 2^-150 (1 + tiny) rounds to 2^-149, but with Phi(-a) rounded to
            // 1/2 the fused result is the tie 2^-150.
            return at_least_smallest_subnormal(v > T(0), r);
        };
        return two_regimes(x, gelu_far(x), near,
                           [](const T& v) XACT_LAMBDA_INLINE { return gelu_tail_f_f32(v); });
    } else {
        const auto near = [](const T& v) XACT_LAMBDA_INLINE {
            const T r = v * detail::fma(v, gelu_small_s(v * v), splat<T>(0.5));
            return at_least_smallest_subnormal(v > T(0), r); // 2^-1074 / 2: a tie
        };
        return two_regimes(x, gelu_far(x), near,
                           [](const T& v) XACT_LAMBDA_INLINE { return gelu_tail_f(v); });
    }
}
template <class T>
XACT_INLINE T gelu_exact_d(const T& x) noexcept {
    if constexpr (std::is_same_v<scalar_t<T>, float>) {
        // D(|x|) = gelu'(-|x|) for x < 0, 1 - D(|x|) for x >= 0.
        const auto near = [](const T& v) XACT_LAMBDA_INLINE {
            const T d = gelu_table_eval<true>(gelu_table::d, gelu_table_at(detail::abs(v)));
            return detail::select(v < T(0), d, T(1) - d);
        };
        return two_regimes(x, gelu_far(x), near,
                           [](const T& v) XACT_LAMBDA_INLINE { return gelu_tail_d_f32(v); });
    } else {
        const auto near = [](const T& v) XACT_LAMBDA_INLINE {
            return detail::fma(v, gelu_small_s2(v * v), splat<T>(0.5));
        };
        return two_regimes(x, gelu_far(x), near,
                           [](const T& v) XACT_LAMBDA_INLINE { return gelu_tail_d(v); });
    }
}

} // namespace detail

/// GELU. approximate = false: f(x) = x Phi(x) = (x/2) erfc(-x/sqrt2), f'(x) = Phi(x) + x phi(x).
/// approximate = true: f(x) = (x/2)(1 + tanh(u)), u = sqrt(2/pi)(x + 0.044715 x^3), and its
/// exact derivative. Max error 4 ULP for f and f' (measured values and algorithms: file comment).
struct gelu {
    bool approximate = false;

    /// f(x), elementwise for float, double or an xsimd batch (the formula above).
    template <class T>
    XACT_INLINE T operator()(T x) const noexcept {
        if (approximate) {
            // (x/2)(1 + tanh u) = x sigma(2u): x / (1 + e^-2u) for x >= 0, x e^2u / (1 + e^2u)
            // below (e^2u scaled in last, so a subnormal result is rounded once).
            const auto p = detail::gelu_tanh_exp(x);
            const T neg = math::detail::exp_neg_scale(p.xc, p.e).value();
            const T r = detail::select(x < T(0), neg, x) / p.d;
            return detail::at_least_smallest_subnormal(x > T(0), r); // x = 2^-149: a tie
        }
        return detail::gelu_exact_f(x);
    }

    /// f'(x) from the input, elementwise (the derivative and kinks above).
    template <class T>
    XACT_INLINE T derivative(T x) const noexcept {
        if (approximate) {
            // f' = S + x S (1 - S) 2u', S = sigma(2u), 2u' = c1 + 3 c3 x^2; with E = e^-|2u| and
            // d = 1 + E: x >= 0: (d + x 2u' E) / d^2; x < 0: E (d + x 2u') / d^2 (E scaled last).
            // The numerator rounds about once (2u' = v + v_lo, constants split in hi + lo); the
            // quotient by d^2 (exact as D + D_lo, with d's rounding error) is corrected once with
            // its exact residual.
            return detail::gelu_tanh_d(x);
        }
        return detail::gelu_exact_d(x);
    }
    /// For the array calls (algorithm.hpp): fn with the form chosen, so that a loop holds one.
    template <class Fn>
    void specialize(Fn&& fn) const {
        if (approximate)
            fn(form<true>{});
        else
            fn(form<false>{});
    }

  private:
    /// gelu with `approximate` known at compile time (the branch on it folds away).
    template <bool Approximate>
    struct form {
        template <class T>
        XACT_INLINE T operator()(T x) const noexcept {
            return gelu{Approximate}(x);
        }
        template <class T>
        XACT_INLINE T derivative(T x) const noexcept {
            return gelu{Approximate}.derivative(x);
        }
    };
};

} // namespace xact

XACT_DIAGNOSTIC_POP

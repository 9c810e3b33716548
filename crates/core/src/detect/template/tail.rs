//! Probabilities into sigma (the Gaussian tail with the same probability), and the
//! binomial tail the new-word evidence uses.

/// Sigma whose one-sided Gaussian tail holds probability `p`: `Φ⁻¹(1 − p)`, 0 for
/// `p >= 0.5`, capped for vanishing `p`.
pub(crate) fn sigma_of_tail(p: f64) -> f64 {
    if p.is_nan() || p >= 0.5 {
        return 0.0;
    }
    -inv_normal_cdf(p.max(1e-300))
}

/// The tail probability whose sigma is `sigma`: `1 − Φ(sigma)` (relative error below
/// 1e-7; used as a cut before the exact sigma is checked).
pub(crate) fn tail_of_sigma(sigma: f64) -> f64 {
    0.5 * erfc(sigma / std::f64::consts::SQRT_2)
}

/// The complementary error function (Numerical Recipes' `erfcc`, a Chebyshev fit with
/// relative error below 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    #[allow(clippy::excessive_precision)]
    const C: [f64; 10] = [
        0.17087277,
        -0.82215223,
        1.48851587,
        -1.13520398,
        0.27886807,
        -0.18628806,
        0.09678418,
        0.37409196,
        1.00002368,
        -1.26551223,
    ];
    let poly = C.iter().fold(0.0, |acc, &k| acc * t + k);
    let r = t * (-z * z + poly).exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// `P(X >= k)` for `X ~ Binomial(n, u)`.
pub(crate) fn binomial_tail(k: u32, n: u32, u: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    let u = u.clamp(1e-12, 1.0);
    if u >= 1.0 {
        return 1.0;
    }
    // Sum the terms from k up, each from the last: C(n, j+1) u^(j+1) (1-u)^(n-j-1).
    let ratio = u / (1.0 - u);
    let mut term = (0..k).fold(1.0f64, |t, i| t * f64::from(n - i) / f64::from(i + 1))
        * u.powi(k as i32)
        * (1.0 - u).powi((n - k) as i32);
    let mut sum = 0.0;
    for j in k..=n {
        sum += term;
        term *= f64::from(n - j) / f64::from(j + 1) * ratio;
    }
    sum.min(1.0)
}

/// Coefficients of AS 241's rational approximations, highest power first.
#[allow(clippy::unreadable_literal, clippy::excessive_precision)]
mod as241 {
    pub(super) const CENTRAL_NUM: [f64; 8] = [
        2509.0809287301226727,
        33430.575583588128105,
        67265.770927008700853,
        45921.953931549871457,
        13731.693765509461125,
        1971.5909503065514427,
        133.14166789178437745,
        3.387132872796366608,
    ];
    pub(super) const CENTRAL_DEN: [f64; 8] = [
        5226.495278852545925,
        28729.085735721942674,
        39307.89580009271061,
        21213.794301586595867,
        5394.1960214247511077,
        687.1870074920579083,
        42.313330701600911252,
        1.0,
    ];
    pub(super) const NEAR_NUM: [f64; 8] = [
        7.7454501427834140764e-4,
        0.0227238449892691845833,
        0.24178072517745061177,
        1.27045825245236838258,
        3.64784832476320460504,
        5.7694972214606914055,
        4.6303378461565452959,
        1.42343711074968357734,
    ];
    pub(super) const NEAR_DEN: [f64; 8] = [
        1.05075007164441684324e-9,
        5.475938084995344946e-4,
        0.0151986665636164571966,
        0.14810397642748007459,
        0.68976733498510000455,
        1.6763848301838038494,
        2.05319162663775882187,
        1.0,
    ];
    pub(super) const FAR_NUM: [f64; 8] = [
        2.01033439929228813265e-7,
        2.71155556874348757815e-5,
        0.0012426609473880784386,
        0.026532189526576123093,
        0.29656057182850489123,
        1.7848265399172913358,
        5.4637849111641143699,
        6.6579046435011037772,
    ];
    pub(super) const FAR_DEN: [f64; 8] = [
        2.04426310338993978564e-15,
        1.4215117583164458887e-7,
        1.8463183175100546818e-5,
        7.868691311456132591e-4,
        0.0148753612908506148525,
        0.13692988092273580531,
        0.59983220655588793769,
        1.0,
    ];
}

/// `c[0]·x⁷ + … + c[7]` by Horner's rule.
fn horner(c: &[f64; 8], x: f64) -> f64 {
    c.iter().fold(0.0, |acc, &k| acc * x + k)
}

/// Inverse of the standard normal CDF (Wichura's AS 241, PPND16: about 16 digits).
fn inv_normal_cdf(p: f64) -> f64 {
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * horner(&as241::CENTRAL_NUM, r) / horner(&as241::CENTRAL_DEN, r);
    }
    let r = if q < 0.0 { p } else { 1.0 - p };
    let r = (-r.ln()).sqrt();
    let val = if r <= 5.0 {
        let r = r - 1.6;
        horner(&as241::NEAR_NUM, r) / horner(&as241::NEAR_DEN, r)
    } else {
        let r = r - 5.0;
        horner(&as241::FAR_NUM, r) / horner(&as241::FAR_DEN, r)
    };
    if q < 0.0 {
        -val
    } else {
        val
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigma_of_known_tails() {
        for (p, z) in [
            (0.5, 0.0),
            (0.158_655_253_931_457_05, 1.0),
            (0.001_349_898_031_630_094_5, 3.0),
            (2.866_515_718_791_939e-7, 5.0),
        ] {
            assert!((sigma_of_tail(p) - z).abs() < 1e-9, "p={p}");
        }
        assert_eq!(sigma_of_tail(0.9), 0.0);
        assert_eq!(sigma_of_tail(f64::NAN), 0.0);
        assert!(sigma_of_tail(0.0) > 30.0 && sigma_of_tail(0.0).is_finite());
    }

    #[test]
    fn tail_of_sigma_inverts_sigma_of_tail() {
        for s in [0.5, 1.0, 2.0, 2.5, 3.0, 4.5, 6.0] {
            let p = tail_of_sigma(s);
            assert!((sigma_of_tail(p) - s).abs() < 1e-5, "s={s}");
        }
    }

    #[test]
    fn binomial_tail_matches_direct_sums() {
        fn direct(k: u32, n: u32, u: f64) -> f64 {
            let c =
                |n: u32, k: u32| (0..k).fold(1.0, |a, i| a * f64::from(n - i) / f64::from(i + 1));
            (k..=n)
                .map(|j| c(n, j) * u.powi(j as i32) * (1.0 - u).powi((n - j) as i32))
                .sum()
        }
        for n in 0..=32u32 {
            for k in 0..=n + 1 {
                for u in [1e-6, 0.01, 0.2, 0.5, 0.9] {
                    let want = if k == 0 {
                        1.0
                    } else if k > n {
                        0.0
                    } else {
                        direct(k, n, u)
                    };
                    let got = binomial_tail(k, n, u);
                    assert!(
                        (got - want).abs() <= 1e-12 + want * 1e-9,
                        "k={k} n={n} u={u}: {got} vs {want}"
                    );
                }
            }
        }
    }
}

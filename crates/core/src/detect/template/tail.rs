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

/// Inverse of the standard normal CDF (Wichura's AS 241, PPND16: about 16 digits).
fn inv_normal_cdf(p: f64) -> f64 {
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        let num = ((((((2509.080_928_730_122_7 * r + 33430.575_583_588_128) * r
            + 67265.770_927_008_7)
            * r
            + 45921.953_931_549_87)
            * r
            + 13731.693_765_509_461)
            * r
            + 1971.590_950_306_551_4)
            * r
            + 133.141_667_891_784_38)
            * r
            + 3.387_132_872_796_366_5;
        let den = ((((((5226.495_278_852_546 * r + 28729.085_735_721_943) * r
            + 39307.895_800_092_71)
            * r
            + 21213.794_301_586_596)
            * r
            + 5394.196_021_424_751)
            * r
            + 687.187_007_492_057_9)
            * r
            + 42.313_330_701_600_91)
            * r
            + 1.0;
        return q * num / den;
    }
    let r = if q < 0.0 { p } else { 1.0 - p };
    let r = (-r.ln()).sqrt();
    let val = if r <= 5.0 {
        let r = r - 1.6;
        let num = ((((((7.745_450_142_783_414e-4 * r + 0.022_723_844_989_269_184) * r
            + 0.241_780_725_177_450_6)
            * r
            + 1.270_458_252_452_368_4)
            * r
            + 3.647_848_324_763_204_5)
            * r
            + 5.769_497_221_460_691)
            * r
            + 4.630_337_846_156_546)
            * r
            + 1.423_437_110_749_683_5;
        let den = ((((((1.050_750_071_644_416_9e-9 * r + 5.475_938_084_995_345e-4) * r
            + 0.015_198_666_563_616_457)
            * r
            + 0.148_103_976_427_480_08)
            * r
            + 0.689_767_334_985_1)
            * r
            + 1.676_384_830_183_803_8)
            * r
            + 2.053_191_626_637_759)
            * r
            + 1.0;
        num / den
    } else {
        let r = r - 5.0;
        let num = ((((((2.010_334_399_292_288_1e-7 * r + 2.711_555_568_743_487_6e-5) * r
            + 0.001_242_660_947_388_078_4)
            * r
            + 0.026_532_189_526_576_124)
            * r
            + 0.296_560_571_828_504_9)
            * r
            + 1.784_826_539_917_291_3)
            * r
            + 5.463_784_911_164_114)
            * r
            + 6.657_904_643_501_103;
        let den = ((((((2.044_263_103_389_939_8e-15 * r + 1.421_511_758_316_446e-7) * r
            + 1.846_318_317_510_054_8e-5)
            * r
            + 7.868_691_311_456_133e-4)
            * r
            + 0.014_875_361_290_850_615)
            * r
            + 0.136_929_880_922_735_8)
            * r
            + 0.599_832_206_555_888)
            * r
            + 1.0;
        num / den
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

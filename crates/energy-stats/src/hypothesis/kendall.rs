//! Kendall's τ-b and its two-sided p-value, as SciPy 1.17.1's `stats.kendalltau(x, y)` with its
//! defaults (`method='auto'`: the exact null distribution when neither variable has ties and
//! n ≤ 33, or when at most one pair disagrees; else the normal approximation with the tie
//! corrections). The report uses it to say whether this machine orders the study's versions as
//! the study did.

use super::{check_values, nc, NotComputable, TestResult};
use crate::numeric::np_sum;
use crate::special::ndtr;

/// Counts of tied pairs in one variable, as SciPy's `count_rank_tie`: (pairs tied,
/// Σ t(t−1)(t−2), Σ t(t−1)(2t+5)) over the groups of t equal values.
fn tie_counts(v: &[f64]) -> (i128, i128, i128) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let (mut tie, mut t0, mut t1) = (0i128, 0i128, 0i128);
    let mut i = 0;
    while i < s.len() {
        let mut j = i + 1;
        while j < s.len() && s[j] == s[i] {
            j += 1;
        }
        let t = (j - i) as i128;
        if t > 1 {
            tie += t * (t - 1) / 2;
            t0 += t * (t - 1) * (t - 2);
            t1 += t * (t - 1) * (2 * t + 5);
        }
        i = j;
    }
    (tie, t0, t1)
}

/// `n!` as the nearest double (Python's `float(math.factorial(n))`, round half to even), from
/// the exact product: doubles stop being exact at 23!.
fn factorial_f64(n: u64) -> f64 {
    // Little-endian base-2^32 limbs.
    let mut limbs: Vec<u64> = vec![1];
    for k in 2..=n {
        let mut carry = 0u64;
        for l in &mut limbs {
            let v = *l * k + carry;
            *l = v & 0xffff_ffff;
            carry = v >> 32;
        }
        while carry > 0 {
            limbs.push(carry & 0xffff_ffff);
            carry >>= 32;
        }
    }
    let bits = 32 * (limbs.len() - 1) as u32 + (64 - limbs[limbs.len() - 1].leading_zeros());
    if bits <= 64 {
        let mut v = 0u64;
        for l in limbs.iter().rev() {
            v = (v << 32) | l;
        }
        return v as f64; // Rust rounds u64 → f64 to nearest, ties to even.
    }
    // The top 64 bits, with every lower bit folded into a sticky bit, round as the full value.
    let shift = bits - 64;
    let bit = |i: u32| (limbs[(i / 32) as usize] >> (i % 32)) & 1;
    let mut top = 0u64;
    for i in (shift..bits).rev() {
        top = (top << 1) | bit(i);
    }
    let sticky = (0..shift).any(|i| bit(i) == 1);
    let top = top | u64::from(sticky);
    (top as f64) * 2f64.powi(shift as i32)
}

/// SciPy's `_kendall_p_exact(n, c)`, two-sided: the probability of at most `c` discordant
/// pairs (or as many concordant), counting permutations of `n` by inversions.
fn p_exact(n: u64, c: u64) -> f64 {
    let tot = n * (n - 1) / 2;
    let c = c.min(tot - c);
    let prob = if n <= 2 {
        1.0
    } else if c == 0 {
        if n < 171 {
            2.0 / factorial_f64(n)
        } else {
            0.0
        }
    } else if c == 1 {
        if n < 172 {
            2.0 / factorial_f64(n - 1)
        } else {
            0.0
        }
    } else if 4 * c == n * (n - 1) {
        1.0
    } else {
        // Mahonian numbers up to c inversions, as SciPy's cumsum recursion (n < 171 here:
        // the exact method is chosen beyond 33 values only when c ≤ 1).
        let c = c as usize;
        let mut new = vec![0.0f64; c + 1];
        new[0] = 1.0;
        new[1] = 1.0;
        for j in 3..=n as usize {
            let mut acc = 0.0;
            for v in &mut new {
                acc += *v;
                *v = acc;
            }
            if j <= c {
                let old = new.clone();
                for k in j..=c {
                    new[k] -= old[k - j];
                }
            }
        }
        2.0 * np_sum(&new) / factorial_f64(n)
    };
    prob.clamp(0.0, 1.0)
}

/// Kendall's τ-b of paired `x`, `y` and its two-sided p-value (SciPy's `kendalltau`).
pub fn kendalltau(x: &[f64], y: &[f64]) -> Result<TestResult, NotComputable> {
    if x.len() != y.len() {
        return nc("x and y differ in length");
    }
    check_values(x)?;
    check_values(y)?;
    let n = x.len();
    if n < 2 {
        return nc("Kendall's tau needs at least 2 pairs");
    }
    let (mut dis, mut ntie) = (0i128, 0i128);
    for i in 0..n {
        for j in i + 1..n {
            let (dx, dy) = (x[i] - x[j], y[i] - y[j]);
            if dx == 0.0 && dy == 0.0 {
                ntie += 1;
            } else if dx != 0.0 && dy != 0.0 && (dx < 0.0) != (dy < 0.0) {
                dis += 1;
            }
        }
    }
    let (xtie, x0, x1) = tie_counts(x);
    let (ytie, y0, y1) = tie_counts(y);
    let size = n as i128;
    let tot = size * (size - 1) / 2;
    if xtie == tot || ytie == tot {
        return nc("one of the variables is constant: Kendall's tau is undefined");
    }
    let con_minus_dis = tot - xtie - ytie + ntie - 2 * dis;
    let tau = (con_minus_dis as f64 / ((tot - xtie) as f64).sqrt() / ((tot - ytie) as f64).sqrt())
        .clamp(-1.0, 1.0);
    let pvalue = if xtie == 0 && ytie == 0 && (n <= 33 || dis.min(tot - dis) <= 1) {
        p_exact(n as u64, (tot - dis) as u64)
    } else {
        let m = size as f64 * (size as f64 - 1.0);
        let var = (m * (2.0 * size as f64 + 5.0) - x1 as f64 - y1 as f64) / 18.0
            + (2 * xtie * ytie) as f64 / m
            + (x0 * y0) as f64 / (9.0 * m * (size as f64 - 2.0));
        let z = con_minus_dis as f64 / var.sqrt();
        2.0 * ndtr(-z.abs())
    };
    Ok(TestResult {
        statistic: tau,
        pvalue,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factorials_round_like_python() {
        assert_eq!(factorial_f64(0), 1.0);
        assert_eq!(factorial_f64(5), 120.0);
        assert_eq!(factorial_f64(20), 2_432_902_008_176_640_000.0);
        // float(math.factorial(25)) and float(math.factorial(40))
        assert_eq!(factorial_f64(25), 1.5511210043330986e25);
        assert_eq!(factorial_f64(40), 8.159152832478977e47);
    }

    #[test]
    fn the_same_order_is_tau_one_and_the_reverse_minus_one() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let r = kendalltau(&x, &x).unwrap();
        assert!((r.statistic - 1.0).abs() < 1e-15, "{r:?}");
        assert!((r.pvalue - 2.0 / 720.0).abs() < 1e-15);
        let rev: Vec<f64> = x.iter().rev().copied().collect();
        assert!((kendalltau(&x, &rev).unwrap().statistic + 1.0).abs() < 1e-15);
    }

    #[test]
    fn too_few_or_constant_is_not_computable() {
        assert!(kendalltau(&[1.0], &[2.0]).is_err());
        assert!(kendalltau(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_err());
        assert!(kendalltau(&[1.0, 2.0], &[1.0]).is_err());
    }
}

//! The numerical kernel: sums, means, variances, quantiles and ranks computed in exactly the
//! order NumPy and pandas compute them, so results agree with the study's Python analysis to
//! the last few ulps rather than merely "to many digits".

/// `v` when it is a number, `None` for NaN and the infinities (which JSON and the tables
/// cannot show).
pub fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// NumPy's pairwise summation of a contiguous float64 array (`np.sum`, `np.mean`).
///
/// NumPy adds blocks of up to 128 values with eight interleaved accumulators and splits longer
/// arrays in two at a multiple of eight. Plain left-to-right summation differs in the last bits,
/// which matters where SciPy later cancels large terms (Anderson–Darling, Kruskal–Wallis).
pub fn np_sum(a: &[f64]) -> f64 {
    // The reduction starts from the additive identity; -0.0 keeps `sum([-0.0]) == -0.0`.
    -0.0 + pairwise(a)
}

fn pairwise(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = -0.0;
        for &v in a {
            res += v;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let full = n - n % 8;
        let mut i = 8;
        while i < full {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &a[full..] {
            res += v;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise(&a[..n2]) + pairwise(&a[n2..])
    }
}

/// `np.mean`: the pairwise sum divided by the count (NaN for an empty slice).
pub fn np_mean(a: &[f64]) -> f64 {
    np_sum(a) / a.len() as f64
}

/// `np.var(a, ddof)`: two-pass, `Σ(x − x̄)² / (n − ddof)`, with NumPy's summation order.
pub fn np_var(a: &[f64], ddof: f64) -> f64 {
    let n = a.len() as f64;
    let mean = np_mean(a);
    let sq: Vec<f64> = a
        .iter()
        .map(|&x| {
            let d = x - mean;
            d * d
        })
        .collect();
    let denom = n - ddof;
    if denom <= 0.0 {
        return f64::NAN;
    }
    np_sum(&sq) / denom
}

/// `np.std(a, ddof)`.
pub fn np_std(a: &[f64], ddof: f64) -> f64 {
    np_var(a, ddof).sqrt()
}

/// pandas' `Series.std()` (`nanops.nanvar` with ddof = 1, then a square root): the mean is the
/// pairwise sum over the count, the squares are `(mean − x)²`. NaN for fewer than two values.
pub fn pandas_std(a: &[f64]) -> f64 {
    let count = a.len() as f64;
    if a.len() < 2 {
        return f64::NAN;
    }
    let avg = np_sum(a) / count;
    let sq: Vec<f64> = a
        .iter()
        .map(|&x| {
            let d = avg - x;
            d * d
        })
        .collect();
    (np_sum(&sq) / (count - 1.0)).sqrt()
}

/// Sorted copy of the data, NaN-free input assumed (callers reject NaN earlier).
pub fn sorted(a: &[f64]) -> Vec<f64> {
    let mut v = a.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// NumPy's `_lerp`: two formulas depending on which end is closer, exactly as NumPy 2 does.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// `np.quantile(a, q, method="linear")` (Hyndman–Fan type 7) of already sorted data.
pub fn quantile_sorted(s: &[f64], q: f64) -> f64 {
    let n = s.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * q;
    let lo = h.floor();
    let g = h - lo;
    let i = lo as usize;
    if i + 1 >= n {
        return s[n - 1];
    }
    lerp(s[i], s[i + 1], g)
}

/// `np.median`: the middle value, or the mean of the two middle values.
pub fn median_sorted(s: &[f64]) -> f64 {
    let n = s.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        s[n / 2]
    } else {
        np_mean(&[s[n / 2 - 1], s[n / 2]])
    }
}

/// Average ranks (1-based, ties get the mean of their positions) and the size of every group
/// of tied values, as `scipy.stats.rankdata(method="average")` and its tie counts.
pub fn average_ranks(a: &[f64]) -> (Vec<f64>, Vec<u64>) {
    let n = a.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&i, &j| a[i].total_cmp(&a[j]));
    let mut ranks = vec![0.0; n];
    let mut ties = Vec::new();
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && a[idx[j]] == a[idx[i]] {
            j += 1;
        }
        // Positions i+1 ..= j share the average rank (i + 1 + j) / 2.
        let r = (i + 1 + j) as f64 / 2.0;
        for &k in &idx[i..j] {
            ranks[k] = r;
        }
        ties.push((j - i) as u64);
        i = j;
    }
    (ranks, ties)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_equals_exact_sum_on_integers() {
        let v: Vec<f64> = (0..1000).map(f64::from).collect();
        assert_eq!(np_sum(&v), 499_500.0);
    }

    #[test]
    fn quantiles_of_four_values_match_numpy_linear() {
        let s = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&s, 0.25), 1.75);
        assert_eq!(quantile_sorted(&s, 0.5), 2.5);
        assert_eq!(quantile_sorted(&s, 0.75), 3.25);
        assert_eq!(quantile_sorted(&[7.0], 0.75), 7.0);
    }

    #[test]
    fn ranks_average_ties() {
        let (r, t) = average_ranks(&[3.0, 1.0, 3.0, 2.0]);
        assert_eq!(r, vec![3.5, 1.0, 3.5, 2.0]);
        assert_eq!(t, vec![1, 1, 2]);
    }
}

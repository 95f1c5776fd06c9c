//! pandas' `Series.describe()` for one variable of one group.

use serde::Serialize;

use crate::numeric::{finite, np_sum, pandas_std, quantile_sorted, sorted};

/// count, mean, std, min, 25 %, 50 %, 75 %, max, as pandas computes them.
///
/// `std` is `None` for a single value (pandas prints NaN); every other field is `None` only for
/// an empty group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Describe {
    /// Number of values.
    pub count: usize,
    /// Mean (NumPy pairwise sum over the count).
    pub mean: Option<f64>,
    /// Sample standard deviation, ddof = 1.
    pub std: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
    /// 25 % quantile, NumPy "linear".
    pub q25: Option<f64>,
    /// Median.
    pub median: Option<f64>,
    /// 75 % quantile, NumPy "linear".
    pub q75: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
}

impl Describe {
    /// Describe a slice of values (assumed finite; readers reject NaN).
    pub fn of(values: &[f64]) -> Self {
        let n = values.len();
        if n == 0 {
            return Self {
                count: 0,
                mean: None,
                std: None,
                min: None,
                q25: None,
                median: None,
                q75: None,
                max: None,
            };
        }
        let s = sorted(values);
        Self {
            count: n,
            mean: finite(np_sum(values) / n as f64),
            std: finite(pandas_std(values)),
            min: finite(s[0]),
            q25: finite(quantile_sorted(&s, 0.25)),
            median: finite(quantile_sorted(&s, 0.5)),
            q75: finite(quantile_sorted(&s, 0.75)),
            max: finite(s[n - 1]),
        }
    }

    /// The rows in pandas' order with their pandas names.
    pub fn rows(&self) -> [(&'static str, Option<f64>); 8] {
        [
            ("count", Some(self.count as f64)),
            ("mean", self.mean),
            ("std", self.std),
            ("min", self.min),
            ("25%", self.q25),
            ("50%", self.median),
            ("75%", self.q75),
            ("max", self.max),
        ]
    }
}

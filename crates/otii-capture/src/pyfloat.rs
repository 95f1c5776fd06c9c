//! Floats written exactly as Python's `repr` (and so pandas' `to_csv`) writes them.
//!
//! The study's traces were written by pandas, which prints a float64 with the shortest digits
//! that read back to the same value (`0.22664585709571838`), in fixed notation when the
//! decimal exponent is in `-4..16` (`0.0001`, `123.0`) and in scientific notation otherwise
//! with a sign and at least two exponent digits (`1e-05`, `1.5e+16`). Rust's `{:e}` gives the
//! same shortest digits; this module only lays them out the Python way.

use std::fmt::Write;

/// Appends `x` as Python's `repr(x)` to `out`.
pub fn push_repr(out: &mut String, x: f64, scratch: &mut String) {
    if x.is_nan() {
        out.push_str("nan");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "inf" } else { "-inf" });
        return;
    }
    if x == 0.0 {
        out.push_str(if x.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    scratch.clear();
    // Shortest round-trip digits: "d.ddddde-N".
    let _ = write!(scratch, "{:e}", x.abs());
    if scratch.find('e').unwrap_or(0) >= 18 {
        // 17 significant digits: the shortest digits may be one of two equally near strings
        // (an f32 widened to f64 often sits exactly half-way). Python then gives the correctly
        // rounded one, ties to even, which is what `{:.16e}` computes; Rust's shortest mode
        // would round the tie up.
        scratch.clear();
        let _ = write!(scratch, "{:.16e}", x.abs());
        if let Some(e) = scratch.find('e') {
            let mant_end = scratch[..e].trim_end_matches('0').len();
            let mant_end = if scratch[..mant_end].ends_with('.') {
                mant_end - 1
            } else {
                mant_end
            };
            scratch.replace_range(mant_end..e, "");
        }
    }
    let (mant, exp) = scratch.split_once('e').unwrap_or((scratch.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if x < 0.0 {
        out.push('-');
    }
    let (lead, rest) = mant.split_once('.').unwrap_or((mant, ""));
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let e = exp as usize;
            let digits_after_lead = rest.len();
            out.push_str(lead);
            if digits_after_lead <= e {
                out.push_str(rest);
                for _ in digits_after_lead..e {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&rest[..e]);
                out.push('.');
                out.push_str(&rest[e..]);
            }
        } else {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            out.push_str(lead);
            out.push_str(rest);
        }
    } else {
        out.push_str(lead);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
}

/// `repr(x)` as a new string.
pub fn repr(x: f64) -> String {
    let mut out = String::new();
    push_repr(&mut out, x, &mut String::new());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_python_repr() {
        // Each right-hand side is what CPython 3.11 prints for repr(left).
        let cases: &[(f64, &str)] = &[
            (0.22664585709571838, "0.22664585709571838"),
            (4.998171329498291, "4.998171329498291"),
            (1.1332952976226807, "1.1332952976226807"),
            (1.0, "1.0"),
            (123.0, "123.0"),
            (123.5, "123.5"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (1e-05, "1e-05"),
            (1.5e-05, "1.5e-05"),
            (-2.5e-07, "-2.5e-07"),
            (1e16, "1e+16"),
            (1.2345e16, "1.2345e+16"),
            (9999999999999998.0, "9999999999999998.0"),
            (1e15, "1000000000000000.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (-1.25, "-1.25"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.1, "0.1"),
            (100.0, "100.0"),
            (f64::from(0.3_f32), "0.30000001192092896"),
            // Ties at 17 digits go to even, as in CPython (found comparing with pandas' CSV).
            (0.23064041137695312, "0.23064041137695312"),
            (1.1588211059570312, "1.1588211059570312"),
            (0.23305130004882812, "0.23305130004882812"),
        ];
        for (x, want) in cases {
            assert_eq!(repr(*x), *want, "repr({x:e})");
        }
    }

    #[test]
    fn round_trips() {
        let mut s = 0x1234_5678_9abc_def0u64;
        for _ in 0..100_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let x = f64::from_bits(s);
            if x.is_finite() {
                assert_eq!(repr(x).parse::<f64>().unwrap(), x);
            }
        }
    }
}

//! Floats written exactly as Python's `repr` (and so pandas' `to_csv`) writes them.
//!
//! The study's traces were written by pandas, which prints a float64 with the shortest digits
//! that read back to the same value (`0.22664585709571838`), in fixed notation when the
//! decimal exponent is in `-4..16` (`0.0001`, `123.0`) and in scientific notation otherwise
//! with a sign and at least two exponent digits (`1e-05`, `1.5e+16`). When two shortest
//! strings are equally near (an f32 widened to f64 often sits exactly half-way at 17 digits)
//! CPython takes the even one. `zmij` (Schubfach) computes the same digits, ties included,
//! several times faster than `format!("{:e}")`; this module only lays them out the Python way.

/// Appends `x` as Python's `repr(x)` to `out`.
pub fn push_repr(out: &mut String, x: f64, buf: &mut zmij::Buffer) {
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
    if x < 0.0 {
        out.push('-');
    }
    // Normalise whatever layout zmij chose ("0.00001", "1.5e+16", "123.0") to significant
    // digits and the decimal exponent of the first one.
    let text = buf.format_finite(x.abs());
    let (mant, exp) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    let mut digits = [0u8; 40];
    let mut n = 0;
    for &b in int_part.as_bytes().iter().chain(frac_part.as_bytes()) {
        if n < digits.len() {
            digits[n] = b;
            n += 1;
        }
    }
    let lead_zeros = digits[..n].iter().take_while(|&&b| b == b'0').count();
    let mut end = n;
    while end > lead_zeros + 1 && digits[end - 1] == b'0' {
        end -= 1;
    }
    let sig = &digits[lead_zeros..end];
    let exp10 = int_part.len() as i32 - lead_zeros as i32 - 1 + exp;
    lay_out(out, sig, exp10);
}

/// Writes significant digits `sig` (no leading or trailing zeros) with decimal exponent
/// `exp10` the way Python's `repr` does.
fn lay_out(out: &mut String, sig: &[u8], exp10: i32) {
    let push = |out: &mut String, d: &[u8]| out.push_str(std::str::from_utf8(d).unwrap_or("?"));
    if (-4..16).contains(&exp10) {
        if exp10 >= 0 {
            let e = exp10 as usize + 1;
            if sig.len() <= e {
                push(out, sig);
                out.extend(std::iter::repeat_n('0', e - sig.len()));
                out.push_str(".0");
            } else {
                push(out, &sig[..e]);
                out.push('.');
                push(out, &sig[e..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp10 - 1) as usize));
            push(out, sig);
        }
    } else {
        push(out, &sig[..1]);
        if sig.len() > 1 {
            out.push('.');
            push(out, &sig[1..]);
        }
        let sign = if exp10 < 0 { '-' } else { '+' };
        let e = exp10.unsigned_abs();
        out.push('e');
        out.push(sign);
        if e < 10 {
            out.push('0');
        }
        push_u64(out, u64::from(e));
    }
}

/// Appends the decimal digits of `v` (the CSV's integer index, exponents).
pub fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or("0"));
}

/// `repr(x)` as a new string.
pub fn repr(x: f64) -> String {
    let mut out = String::new();
    push_repr(&mut out, x, &mut zmij::Buffer::new());
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

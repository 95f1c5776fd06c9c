//! Byte mutations of a valid file, for the property tests that feed every reader damaged input
//! (issue 15): a byte flipped, the file cut short, bytes inserted (random ones, or tokens of the
//! format that are likely to confuse its parser).
//!
//! ```
//! use proptest::test_runner::TestRunner;
//! use testkit::mutate::{apply, edits};
//!
//! const TOKENS: &[&[u8]] = &[b"\n", b"\"", b"{"];
//!
//! // In a test: `proptest! { #[test] fn t(e in edits(TOKENS)) { … apply(VALID, &e) … } }`.
//! TestRunner::default()
//!     .run(&edits(TOKENS), |e| {
//!         let _ = String::from_utf8(apply(b"{\"a\":1}\n", &e));
//!         Ok(())
//!     })
//!     .unwrap();
//! ```

use proptest::prelude::*;

/// One change to a valid file.
#[derive(Debug, Clone)]
pub enum Edit {
    /// XOR the byte at this position (modulo the length) with a non-zero mask.
    Flip(usize, u8),
    /// Cut the file at this position (modulo the length + 1).
    Truncate(usize),
    /// Insert these bytes at this position (modulo the length + 1).
    Insert(usize, Vec<u8>),
}

/// One [`Edit`]: a flip, a cut, or an insertion of 1 to 5 random bytes or one of `tokens`.
///
/// The shape of the strategy is part of the tests' saved failures: a seed in a
/// `proptest-regressions` file replays the same draws only while it stays the same.
pub fn edit(tokens: &[&[u8]]) -> impl Strategy<Value = Edit> {
    let tokens: Vec<Vec<u8>> = tokens.iter().map(|t| t.to_vec()).collect();
    prop_oneof![
        (any::<usize>(), 1u8..).prop_map(|(i, m)| Edit::Flip(i, m)),
        any::<usize>().prop_map(Edit::Truncate),
        (
            any::<usize>(),
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 1..6),
                proptest::sample::select(tokens),
            ]
        )
            .prop_map(|(i, b)| Edit::Insert(i, b)),
    ]
}

/// One to three [`edit`]s.
pub fn edits(tokens: &[&[u8]]) -> impl Strategy<Value = Vec<Edit>> {
    proptest::collection::vec(edit(tokens), 1..4)
}

/// `valid` with `edits` applied in order.
pub fn apply(valid: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = valid.to_vec();
    for e in edits {
        match e {
            Edit::Flip(i, m) if !b.is_empty() => {
                let i = i % b.len();
                b[i] ^= m;
            }
            Edit::Flip(..) => {}
            Edit::Truncate(i) => b.truncate(i % (b.len() + 1)),
            Edit::Insert(i, bytes) => {
                let i = i % (b.len() + 1);
                b.splice(i..i, bytes.iter().copied());
            }
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_in_order_and_wrap_their_positions() {
        let e = [
            Edit::Flip(7, 0x20),
            Edit::Insert(3, b"--".to_vec()),
            Edit::Truncate(usize::MAX),
        ];
        // Flip at 7 % 4 = 3 ('d' → 'D'), insert at 3 % 5 = 3, cut at MAX % 7 = 1.
        assert_eq!(apply(b"abcd", &e[..1]), b"abcD");
        assert_eq!(apply(b"abcd", &e[..2]), b"abc--D");
        assert_eq!(apply(b"abcd", &e), b"a");
        assert_eq!(apply(b"", &[Edit::Flip(3, 1)]), b"");
    }
}

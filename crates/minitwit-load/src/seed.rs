//! The seed data MiniTwit's `/cleardb` loads before every run, generated deterministically.
//!
//! The original study loaded a fixed dump (`src/minitwit/dump.sql` of the paper's public
//! repository, HelgeCPH/cpython_energy); this module makes one of its shape where the shape
//! decides the work: [`USERS`] users named "First Last", [`MESSAGES`] messages, [`FOLLOWER_ROWS`]
//! follower rows from [`FOLLOWERS`] distinct followers; the 20 users the scenario follows with
//! the study's message counts ([`FOLLOWED_MESSAGES`]) and name lengths
//! ([`FOLLOWED_NAME_LENGTHS`]); message lengths drawn from the study's percentiles
//! ([`LENGTH_PERCENTILES`]). Only these figures come from the study, no text or name. The same
//! `seed` gives the same bytes, and the scenario follows the first users of [`user_names`], so
//! both come from one source of truth.
//!
//! Every user's `pw_hash` is a real werkzeug `pbkdf2:sha256:50000$<salt>$<hex>` hash of
//! [`SEED_PASSWORD`], so one can log in as any seed user.

use std::collections::HashSet;
use std::io::{self, Write};

use rand::distributions::{Distribution, WeightedIndex};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::Sha256;

use crate::words::{DOMAINS, ENDINGS, FIRST_NAMES, LAST_NAMES, WORDS};

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 2024;
/// Number of users.
pub const USERS: usize = 200;
/// Number of messages.
pub const MESSAGES: usize = 11_306;
/// Number of follower rows.
pub const FOLLOWER_ROWS: usize = 6_265;
/// Number of distinct users that follow someone.
pub const FOLLOWERS: usize = 197;
/// The password of every seed user.
pub const SEED_PASSWORD: &str = "minitwit";
/// PBKDF2 iterations of the hashes, as in werkzeug's `pbkdf2:sha256:50000` method string.
pub const PBKDF2_ITERATIONS: u32 = 50_000;
/// `pub_date` of the first message: 2024-02-21 14:13:00 UTC. The others follow within
/// [`PUB_DATE_SPREAD_S`] seconds.
pub const FIRST_PUB_DATE: i64 = 1_708_524_780;
/// Seconds between the first and the last message's `pub_date`.
pub const PUB_DATE_SPREAD_S: i64 = 300;
/// Shortest and longest message text, in characters.
pub const TEXT_LEN: (usize, usize) = (13, 140);

/// One row of the `user` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedUser {
    /// `user_id`, from 1.
    pub id: u32,
    /// "First Last".
    pub username: String,
    /// E-mail in one of the forms `First+Last@…`, `First.Last@…`, `First-Last@…`.
    pub email: String,
    /// werkzeug password hash of [`SEED_PASSWORD`].
    pub pw_hash: String,
}

/// One row of the `message` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedMessage {
    /// `message_id`, from 1.
    pub id: u32,
    /// `author_id`, a [`SeedUser::id`].
    pub author_id: u32,
    /// The text, [`TEXT_LEN`] characters.
    pub text: String,
    /// Seconds since the epoch.
    pub pub_date: i64,
}

/// The whole seed: users, messages and `(who_id, whom_id)` follower rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedData {
    /// The seed it was made from.
    pub seed: u64,
    /// Users in `user_id` order.
    pub users: Vec<SeedUser>,
    /// Messages in `message_id` order.
    pub messages: Vec<SeedMessage>,
    /// Follower rows, no duplicate pair, nobody follows themself.
    pub followers: Vec<(u32, u32)>,
}

// Each part draws from its own ChaCha stream, so the names (which the scenario needs) are
// cheap to get and adding a field to one part cannot shift another part's values.
const STREAM_NAMES: u64 = 1;
const STREAM_EMAILS: u64 = 2;
const STREAM_SALTS: u64 = 3;
const STREAM_MESSAGES: u64 = 4;
const STREAM_FOLLOWERS: u64 = 5;

fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// The lengths in characters of the names of the 20 users the scenario follows (`user_id` 1 to
/// 20) in the study's data (same dump as [`FOLLOWED_MESSAGES`]): each name is on their profile
/// page twice per message.
pub const FOLLOWED_NAME_LENGTHS: [usize; 20] = [
    13, 15, 14, 13, 13, 11, 14, 16, 15, 19, 11, 13, 13, 17, 11, 16, 14, 11, 16, 14,
];

/// The [`USERS`] user names in `user_id` order. The scenario follows the first 20, whose names
/// are as long as the study's ([`FOLLOWED_NAME_LENGTHS`]).
pub fn user_names(seed: u64) -> Vec<String> {
    let mut rng = rng(seed, STREAM_NAMES);
    let mut seen = HashSet::with_capacity(USERS);
    let mut names = Vec::with_capacity(USERS);
    // 84 × 83 combinations for 200 users, each length the first 20 need made by dozens of
    // them: the loop ends after a few thousand draws.
    while names.len() < USERS {
        let first = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
        let last = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
        let name = format!("{first} {last}");
        if FOLLOWED_NAME_LENGTHS
            .get(names.len())
            .is_some_and(|&len| name.len() != len)
        {
            continue;
        }
        if seen.insert(name.clone()) {
            names.push(name);
        }
    }
    names
}

/// Generates the whole seed. Hashing 200 passwords with 50,000 PBKDF2 rounds is the slow part
/// (a few seconds); it runs on all cores.
pub fn generate(seed: u64) -> SeedData {
    let names = user_names(seed);
    let mut email_rng = rng(seed, STREAM_EMAILS);
    let emails: Vec<String> = names.iter().map(|n| email(n, &mut email_rng)).collect();
    let mut salt_rng = rng(seed, STREAM_SALTS);
    let salts: Vec<String> = names.iter().map(|_| salt(&mut salt_rng)).collect();
    let hashes = hash_all(&salts);
    let users = names
        .into_iter()
        .zip(emails)
        .zip(hashes)
        .enumerate()
        .map(|(i, ((username, email), pw_hash))| SeedUser {
            id: id(i),
            username,
            email,
            pw_hash,
        })
        .collect();
    SeedData {
        seed,
        users,
        messages: messages(seed),
        followers: followers(seed),
    }
}

fn id(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

fn email(name: &str, rng: &mut ChaCha8Rng) -> String {
    let (first, last) = name.split_once(' ').unwrap_or((name, ""));
    let sep = ["+", ".", "-"][rng.gen_range(0..3)];
    let domain = DOMAINS[rng.gen_range(0..DOMAINS.len())];
    let local = format!("{first}{sep}{last}");
    let local = if rng.gen_bool(0.3) {
        local.to_lowercase()
    } else {
        local
    };
    format!("{local}@{domain}")
}

/// A werkzeug-style salt: 16 characters of `[A-Za-z0-9]`.
fn salt(rng: &mut ChaCha8Rng) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..16)
        .map(|_| char::from(CHARS[rng.gen_range(0..CHARS.len())]))
        .collect()
}

/// werkzeug's `generate_password_hash(password, "pbkdf2:sha256:50000")` for a given salt:
/// PBKDF2-HMAC-SHA256 over the UTF-8 password and salt, 32 bytes, lower-case hex.
pub fn werkzeug_pbkdf2_hash(password: &str, salt: &str, iterations: u32) -> String {
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut key);
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    format!("pbkdf2:sha256:{iterations}${salt}${hex}")
}

fn hash_all(salts: &[String]) -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = salts.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = salts
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|s| werkzeug_pbkdf2_hash(SEED_PASSWORD, s, PBKDF2_ITERATIONS))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                // Hashing cannot panic; if it ever did, propagate it rather than hide it.
                Err(p) => std::panic::resume_unwind(p),
            })
            .collect()
    })
}

/// Weights with a heavy tail (log-normal, σ = 1.7): a few users get hundreds of messages or
/// followers, many get a handful.
fn skewed_weights(rng: &mut ChaCha8Rng, n: usize, sigma: f64) -> Vec<f64> {
    (0..n)
        .map(|_| {
            // Box–Muller: one standard normal from two uniforms.
            let u1: f64 = 1.0 - rng.gen::<f64>();
            let u2: f64 = rng.gen();
            let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            (sigma * z).exp()
        })
        .collect()
}

/// How many messages each of the 20 users the scenario follows (`user_id` 1 to 20) has in the
/// study's data (`src/minitwit/dump.sql` of the paper's public repository, HelgeCPH/cpython_energy).
/// Their profile pages are what step 5a fetches, so these counts shape the work.
pub const FOLLOWED_MESSAGES: [usize; 20] = [
    60, 31, 43, 22, 78, 7, 25, 15, 15, 359, 91, 79, 6, 9, 24, 61, 99, 91, 37, 64,
];

/// The study's message lengths in characters (same dump) at every fifth percentile, 0 % to
/// 100 %: 13 to 140 characters, median 63, mean 68.5. Lengths are drawn from this table.
pub const LENGTH_PERCENTILES: [usize; 21] = [
    13, 22, 27, 32, 37, 41, 45, 50, 54, 58, 63, 68, 74, 80, 87, 94, 102, 109, 118, 128, 140,
];

/// Messages per author: the followed users' counts as in the study, the other 180 users share
/// the rest by heavy-tailed weights (a few hundreds, many a handful), [`MESSAGES`] in all.
fn author_counts(rng: &mut ChaCha8Rng) -> Vec<usize> {
    let fixed = FOLLOWED_MESSAGES.len();
    let rest = MESSAGES - FOLLOWED_MESSAGES.iter().sum::<usize>();
    let weights = skewed_weights(rng, USERS - fixed, 1.7);
    let sum: f64 = weights.iter().sum();
    #[allow(clippy::cast_precision_loss)]
    let shares: Vec<f64> = weights.iter().map(|w| w / sum * rest as f64).collect();
    // Whole messages: floors, then the largest remainders, so the total is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let mut counts: Vec<usize> = shares.iter().map(|s| s.floor() as usize).collect();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| {
        (shares[b] - shares[b].floor()).total_cmp(&(shares[a] - shares[a].floor()))
    });
    let missing = rest - counts.iter().sum::<usize>();
    for &i in order.iter().cycle().take(missing) {
        counts[i] += 1;
    }
    FOLLOWED_MESSAGES.iter().copied().chain(counts).collect()
}

fn messages(seed: u64) -> Vec<SeedMessage> {
    let mut rng = rng(seed, STREAM_MESSAGES);
    let mut authors: Vec<usize> = author_counts(&mut rng)
        .into_iter()
        .enumerate()
        .flat_map(|(user, n)| std::iter::repeat_n(user, n))
        .collect();
    authors.shuffle(&mut rng);
    let total = i64::try_from(MESSAGES).unwrap_or(i64::MAX);
    authors
        .into_iter()
        .enumerate()
        .map(|(i, author)| {
            let offset = i64::try_from(i).unwrap_or(0) * PUB_DATE_SPREAD_S / total;
            let len = text_len(&mut rng);
            SeedMessage {
                id: id(i),
                author_id: id(author),
                text: text(&mut rng, len),
                pub_date: FIRST_PUB_DATE + offset,
            }
        })
        .collect()
}

/// A length drawn from [`LENGTH_PERCENTILES`]: uniform between neighbouring percentiles.
fn text_len(rng: &mut ChaCha8Rng) -> usize {
    let p = &LENGTH_PERCENTILES;
    #[allow(clippy::cast_precision_loss)]
    let x = rng.gen::<f64>() * (p.len() - 1) as f64;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let k = (x as usize).min(p.len() - 2);
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let len = (p[k] as f64 + (x - k as f64) * (p[k + 1] - p[k]) as f64).round() as usize;
    len.clamp(TEXT_LEN.0, TEXT_LEN.1)
}

/// Appends `word` after a space, capitalised at a sentence's start.
fn push_word(out: &mut String, word: &str, sentence_start: &mut bool) {
    if !out.is_empty() {
        out.push(' ');
    }
    if std::mem::take(sentence_start) {
        let mut chars = word.chars();
        if let Some(c) = chars.next() {
            out.extend(c.to_uppercase());
            out.push_str(chars.as_str());
        }
    } else {
        out.push_str(word);
    }
}

/// A message of exactly `len` characters (`len` ≥ 3): words, one or more sentences.
fn text(rng: &mut ChaCha8Rng, len: usize) -> String {
    let mut out = String::with_capacity(len + 16);
    let mut sentence_start = true;
    // Words are ASCII, so bytes are characters. Free words while more than a long word and an
    // ending fit; then one word of exactly the length left closes the message.
    while len - out.len() > 14 {
        // Zipf-like choice: common words far more often than rare ones.
        let r: f64 = rng.gen();
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let word = WORDS[((r * r * WORDS.len() as f64) as usize).min(WORDS.len() - 1)];
        if out.len() + word.len() + 1 > len - 3 {
            break;
        }
        push_word(&mut out, word, &mut sentence_start);
        if out.len() >= 20 && len - out.len() > 20 && rng.gen_bool(0.08) {
            out.push_str(ENDINGS[rng.gen_range(0..ENDINGS.len() - 1)]);
            sentence_start = true;
        }
    }
    // Close with words that fit exactly: " word" of the length left before the ending.
    loop {
        let gap = len - out.len();
        let room = gap.saturating_sub(1 + usize::from(!out.is_empty()));
        if room == 0 {
            break;
        }
        let plain = WORDS
            .iter()
            .copied()
            .filter(|w| w.chars().all(char::is_alphabetic));
        let exact: Vec<&str> = plain.clone().filter(|w| w.len() == room).collect();
        // Otherwise a shorter word that leaves room for at least " a".
        let shorter: Vec<&str> = plain.filter(|w| w.len() + 2 <= room).collect();
        let pool = if exact.is_empty() { shorter } else { exact };
        if pool.is_empty() {
            break;
        }
        let word = pool[rng.gen_range(0..pool.len())];
        push_word(&mut out, word, &mut sentence_start);
    }
    let end = [".", "!", "?"][rng.gen_range(0..3)];
    while out.len() < len {
        out.push_str(end);
    }
    out
}

fn followers(seed: u64) -> Vec<(u32, u32)> {
    let mut rng = rng(seed, STREAM_FOLLOWERS);
    let mut users: Vec<usize> = (0..USERS).collect();
    users.shuffle(&mut rng);
    let who: Vec<usize> = users[..FOLLOWERS].to_vec();
    // How many each follower follows: everyone at least one, the rest spread by skewed
    // weights, never more than the USERS − 1 others there are.
    let cap = USERS - 1;
    let mut counts = vec![1usize; FOLLOWERS];
    let out_weights = skewed_weights(&mut rng, FOLLOWERS, 0.9);
    let picker = WeightedIndex::new(&out_weights).ok();
    let mut assigned = FOLLOWERS;
    while assigned < FOLLOWER_ROWS {
        let i = match &picker {
            Some(p) => p.sample(&mut rng),
            None => rng.gen_range(0..FOLLOWERS),
        };
        if counts[i] < cap {
            counts[i] += 1;
            assigned += 1;
        }
    }
    let popularity = skewed_weights(&mut rng, USERS, 1.0);
    let whom_picker = WeightedIndex::new(&popularity).ok();
    let mut rows = Vec::with_capacity(FOLLOWER_ROWS);
    for (&w, &count) in who.iter().zip(&counts) {
        let mut chosen = HashSet::with_capacity(count);
        while chosen.len() < count {
            // Rejection gets slow only for users following almost everyone; fall back to a
            // uniform draw after a few misses so it always ends.
            let mut target = match &whom_picker {
                Some(p) => p.sample(&mut rng),
                None => rng.gen_range(0..USERS),
            };
            let mut tries = 0;
            while target == w || chosen.contains(&target) {
                tries += 1;
                target = if tries < 8 {
                    match &whom_picker {
                        Some(p) => p.sample(&mut rng),
                        None => rng.gen_range(0..USERS),
                    }
                } else {
                    rng.gen_range(0..USERS)
                };
            }
            chosen.insert(target);
            rows.push((id(w), id(target)));
        }
    }
    rows
}

fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Writes the seed as SQL statements for SQLite (the schema must exist already; `/cleardb`
/// creates it), in one transaction.
pub fn write_sql(data: &SeedData, mut out: impl Write) -> io::Result<()> {
    writeln!(
        out,
        "-- MiniTwit seed data: `minitwit-load seed --seed {}`. {} users, {} messages, {} follower rows.",
        data.seed,
        data.users.len(),
        data.messages.len(),
        data.followers.len()
    )?;
    writeln!(
        out,
        "-- Every user's password is {SEED_PASSWORD:?} (werkzeug pbkdf2:sha256:{PBKDF2_ITERATIONS} hashes)."
    )?;
    writeln!(out, "BEGIN TRANSACTION;")?;
    for u in &data.users {
        writeln!(
            out,
            "INSERT INTO user (user_id, username, email, pw_hash) VALUES ({}, {}, {}, {});",
            u.id,
            sql_str(&u.username),
            sql_str(&u.email),
            sql_str(&u.pw_hash)
        )?;
    }
    for (who, whom) in &data.followers {
        writeln!(
            out,
            "INSERT INTO follower (who_id, whom_id) VALUES ({who}, {whom});"
        )?;
    }
    for m in &data.messages {
        writeln!(
            out,
            "INSERT INTO message (message_id, author_id, text, pub_date, flagged) VALUES ({}, {}, {}, {}, 0);",
            m.id,
            m.author_id,
            sql_str(&m.text),
            m.pub_date
        )?;
    }
    writeln!(out, "COMMIT;")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn werkzeug_hash_matches_python_hashlib() {
        // hashlib.pbkdf2_hmac("sha256", b"1234567", b"abcdefgh12345678", 1000).hex()
        let h = werkzeug_pbkdf2_hash("1234567", "abcdefgh12345678", 1000);
        assert_eq!(
            h,
            "pbkdf2:sha256:1000$abcdefgh12345678$d183a31fbe0cf1b6b4391a4df94c96ddebd37a2728fc7066adc84e78337268bd"
        );
    }

    #[test]
    fn names_are_unique_first_last_and_stable() {
        let a = user_names(DEFAULT_SEED);
        assert_eq!(a.len(), USERS);
        assert_eq!(a, user_names(DEFAULT_SEED));
        assert_ne!(a, user_names(DEFAULT_SEED + 1));
        assert_eq!(a.iter().collect::<HashSet<_>>().len(), USERS);
        assert!(a.iter().all(|n| n.split(' ').count() == 2));
    }

    #[test]
    fn messages_have_the_study_shape() {
        let m = messages(DEFAULT_SEED);
        assert_eq!(m.len(), MESSAGES);
        assert!(
            m.iter()
                .all(|m| (13..=140).contains(&m.text.chars().count())),
            "length bounds"
        );
        let mean = m.iter().map(|m| m.text.len()).sum::<usize>() as f64 / MESSAGES as f64;
        assert!((63.0..=73.0).contains(&mean), "mean length {mean}");
        let mut per_author: HashMap<u32, usize> = HashMap::new();
        for x in &m {
            *per_author.entry(x.author_id).or_default() += 1;
        }
        let max = per_author.values().max().copied().unwrap_or(0);
        let small = (1..=200u32)
            .filter(|a| per_author.get(a).copied().unwrap_or(0) <= 10)
            .count();
        assert!(max >= 200, "the busiest author has {max} messages");
        assert!(small >= 40, "{small} users have ten messages or fewer");
        let dates: Vec<i64> = m.iter().map(|m| m.pub_date).collect();
        assert!(dates.windows(2).all(|w| w[0] <= w[1]));
        assert!(dates[dates.len() - 1] - dates[0] <= PUB_DATE_SPREAD_S);
        let followed: Vec<usize> = (1..=20u32)
            .map(|a| per_author.get(&a).copied().unwrap_or(0))
            .collect();
        assert_eq!(followed, FOLLOWED_MESSAGES, "the followed users' messages");
    }

    #[test]
    fn message_lengths_follow_the_study_percentiles() {
        let mut lens: Vec<usize> = messages(DEFAULT_SEED)
            .iter()
            .map(|m| m.text.len())
            .collect();
        lens.sort_unstable();
        let mean = lens.iter().sum::<usize>() as f64 / lens.len() as f64;
        assert!(
            (67.5..=69.5).contains(&mean),
            "mean length {mean} (study 68.5)"
        );
        for (k, &want) in LENGTH_PERCENTILES.iter().enumerate() {
            let got = lens[(lens.len() * k / 20).min(lens.len() - 1)];
            assert!(
                got.abs_diff(want) <= 2,
                "percentile {}: {got}, study {want}",
                5 * k
            );
        }
        let mut rng = rng(1, 99);
        for len in 13..=140 {
            let t = text(&mut rng, len);
            assert_eq!(t.len(), len, "{t:?}");
            assert!(!t.contains("  ") && !t.starts_with(' '), "{t:?}");
        }
    }

    #[test]
    fn followed_names_are_as_long_as_the_study_ones() {
        let lens: Vec<usize> = user_names(DEFAULT_SEED)[..20]
            .iter()
            .map(String::len)
            .collect();
        assert_eq!(lens, FOLLOWED_NAME_LENGTHS);
    }

    #[test]
    fn followers_have_the_study_shape() {
        let f = followers(DEFAULT_SEED);
        assert_eq!(f.len(), FOLLOWER_ROWS);
        assert_eq!(
            f.iter().collect::<HashSet<_>>().len(),
            FOLLOWER_ROWS,
            "duplicate pair"
        );
        assert!(f.iter().all(|(a, b)| a != b), "self-follow");
        assert_eq!(
            f.iter().map(|(a, _)| a).collect::<HashSet<_>>().len(),
            FOLLOWERS
        );
        assert!(f
            .iter()
            .all(|&(a, b)| (1..=200).contains(&a) && (1..=200).contains(&b)));
    }

    #[test]
    fn sql_quotes_apostrophes() {
        assert_eq!(sql_str("it's"), "'it''s'");
    }
}

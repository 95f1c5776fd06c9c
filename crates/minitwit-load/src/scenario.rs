//! The study's client scenario as a list of calls, each one top-level request of the original
//! Python client (a redirect chain on the wire). See `docs/minitwit-load.md` and the scenario
//! spec for the table this reproduces.

use serde::{Deserialize, Serialize};

use crate::url::encode_form;

/// The password every scenario user registers and logs in with.
pub const PASSWORD: &str = "1234567";

/// How many cycles step 5 has in the study.
pub const STUDY_CYCLES: u32 = 2;

/// Users each cycle of step 5 follows (cycle `c` follows seed users `10c .. 10c+9`).
pub const FOLLOWS_PER_CYCLE: usize = 10;

/// The `/add_message` form bodies (`text=…`, encoded as Python `requests` does) of the study's
/// ten tweets, in bytes (from `src/minitwit_client/minitwit_scenario.py` of the paper's public
/// repository, HelgeCPH/cpython_energy). [`TWEETS`] has these lengths.
pub const STUDY_TWEET_BODY_BYTES: [usize; 10] = [130, 64, 89, 98, 33, 32, 99, 49, 113, 122];

/// The ten fixed tweet texts `T[0..9]`: our own words with the study's lengths (27 to 125
/// characters; commas where the study's texts have one, so the page shows as many characters
/// as the study's and the form body is as long, see [`STUDY_TWEET_BODY_BYTES`]).
pub const TWEETS: [&str; 10] = [
    "Good morning from the lab. The first measurement of the day is running and the power analyzer is already counting each joule.",
    "Three clients and one small server walk into an experiment.",
    "Posting a short note so the private timeline has something to show when friends ask.",
    "The interpreter should be the only thing that changes between runs and the rest stays as was.",
    "Coffee first and then power.",
    "Quiet day on the timelines.",
    "Following a few more people today, to see what they post between two measurement runs again.",
    "Ten thousand samples per second is too many.",
    "Reading the plots again before lunch, the idle power of the board is higher than I expected for a box now.",
    "Last message of this round. Thanks for reading along and see you all in the next run of the scenario with fresh data.",
];

/// Which "private timeline" request the scenario sends (see [`plan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// What the study's client actually sent: a cookie-less `GET /<repr of a Session object>`,
    /// answered 404. Reproduces the published numbers.
    Paper,
    /// What the study's client meant: a session `GET /`, the logged-in timeline (200).
    Fixed,
}

impl Mode {
    /// `paper` or `fixed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Paper => "paper",
            Mode::Fixed => "fixed",
        }
    }
}

/// Which cookies a call carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cookies {
    /// A cookie-less `requests.get/post`: a fresh cookie jar and connection for this call's
    /// redirect chain only (cookies set by the first answer are sent on the redirect hop, as
    /// `requests` does).
    None,
    /// The user's logged-in session.
    Session,
    /// Start the session (log in): a new cookie jar that later [`Cookies::Session`] calls use.
    NewSession,
}

/// One top-level request of the scenario and what its redirect chain must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Scenario step: `1`, `2`, `3`, `4`, `5a`, `5b`, `5c`.
    pub step: &'static str,
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Application path, not yet URL-encoded (`/Ada Lovelace/follow`).
    pub path: String,
    /// Encoded form body for a `POST`.
    pub form: Option<String>,
    /// Which cookies it carries.
    pub cookies: Cookies,
    /// The statuses of the chain, one per request on the wire: `[302, 200]`, `[404]`, `[200]`.
    pub expect: &'static [u16],
    /// Text the last page of the chain must contain (HTML-escaped as MiniTwit renders it).
    pub check: Option<String>,
}

impl Call {
    fn get(
        step: &'static str,
        path: impl Into<String>,
        cookies: Cookies,
        expect: &'static [u16],
    ) -> Self {
        Self {
            step,
            method: "GET",
            path: path.into(),
            form: None,
            cookies,
            expect,
            check: None,
        }
    }

    fn post(step: &'static str, path: &str, form: &[(&str, &str)], cookies: Cookies) -> Self {
        Self {
            step,
            method: "POST",
            path: path.to_owned(),
            form: Some(encode_form(form)),
            cookies,
            expect: &[302, 200],
            check: None,
        }
    }

    fn with_check(mut self, text: String) -> Self {
        self.check = Some(text);
        self
    }
}

/// The text a Python client would have put in the path: the `repr` of its session object, at
/// a plausible (16-byte aligned, 64-bit user space) address derived from the user name.
pub fn session_repr(user: &str) -> String {
    // FNV-1a: a stable, dependency-free hash; only the look of the address matters.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in user.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!(
        "<requests.sessions.Session object at 0x7f{:010x}>",
        (h >> 20) & 0xff_ffff_fff0
    )
}

/// The scenario for one user, as top-level calls. `follow` are the seed users to follow (the
/// first `10 × cycles`); `cycles` is 2 in the study (fewer only to shorten tests).
pub fn plan(user: &str, mode: Mode, follow: &[String], cycles: u32) -> Vec<Call> {
    let email = format!("{user}@itu.dk");
    let private = |step: &'static str| match mode {
        Mode::Paper => Call::get(
            step,
            format!("/{}", session_repr(user)),
            Cookies::None,
            &[404],
        ),
        Mode::Fixed => Call::get(step, "/", Cookies::Session, &[200]),
    };
    let tweet = |step: &'static str, text: &str| {
        Call::post(step, "/add_message", &[("text", text)], Cookies::Session)
            .with_check("Your message was recorded".to_owned())
    };
    let mut calls = Vec::with_capacity(100);
    for _ in 0..10 {
        calls.push(Call::get("1", "/", Cookies::None, &[302, 200]));
    }
    calls.push(Call::post(
        "2",
        "/register",
        &[
            ("username", user),
            ("password", PASSWORD),
            ("password2", PASSWORD),
            ("email", &email),
        ],
        Cookies::None,
    ));
    calls.push(Call::post(
        "3",
        "/login",
        &[("username", user), ("password", PASSWORD)],
        Cookies::NewSession,
    ));
    for text in TWEETS {
        calls.push(tweet("4", text));
    }
    for c in 0..cycles as usize {
        for name in follow
            .iter()
            .skip(FOLLOWS_PER_CYCLE * c)
            .take(FOLLOWS_PER_CYCLE)
        {
            let mut follow = Call::get(
                "5a",
                format!("/{name}/follow"),
                Cookies::Session,
                &[302, 200],
            );
            follow.check = Some(format!(
                "You are now following &#34;{}&#34;",
                html_escape(name)
            ));
            calls.push(follow);
            calls.push(private("5a"));
        }
        for _ in 0..10 {
            calls.push(private("5b"));
        }
        for text in TWEETS {
            calls.push(tweet("5c", text));
        }
    }
    calls
}

/// Text as MiniTwit's templates (Jinja2 autoescape, MarkupSafe) render it: a seed's names may
/// hold `'` or `&` (the study's client compared the raw name; none of its names had either).
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Requests on the wire for a plan (redirect hops included).
pub fn request_count(plan: &[Call]) -> usize {
    plan.iter().map(|c| c.expect.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn follow() -> Vec<String> {
        (0..20).map(|i| format!("User {i}")).collect()
    }

    #[test]
    fn paper_mode_has_the_spec_table_counts() {
        let p = plan("u", Mode::Paper, &follow(), STUDY_CYCLES);
        assert_eq!(request_count(&p), 164);
        let by_step = |s: &str| {
            request_count(
                &p.iter()
                    .filter(|c| c.step == s)
                    .cloned()
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(by_step("1"), 20);
        assert_eq!(by_step("2"), 2);
        assert_eq!(by_step("3"), 2);
        assert_eq!(by_step("4"), 20);
        assert_eq!(by_step("5a") + by_step("5b") + by_step("5c"), 120);
        let not_found = p.iter().filter(|c| c.expect == [404]).count();
        assert_eq!(not_found, 40);
        assert!(p
            .iter()
            .filter(|c| c.expect == [404])
            .all(|c| c.cookies == Cookies::None));
    }

    #[test]
    fn fixed_mode_swaps_the_404s_for_session_timelines() {
        let p = plan("u", Mode::Fixed, &follow(), STUDY_CYCLES);
        assert_eq!(request_count(&p), 164);
        assert_eq!(p.iter().filter(|c| c.expect == [404]).count(), 0);
        assert_eq!(
            p.iter()
                .filter(|c| c.path == "/" && c.cookies == Cookies::Session && c.expect == [200])
                .count(),
            40
        );
    }

    #[test]
    fn cycles_follow_the_first_twenty_in_order() {
        let p = plan("u", Mode::Paper, &follow(), STUDY_CYCLES);
        let followed: Vec<&str> = p
            .iter()
            .filter(|c| c.path.ends_with("/follow"))
            .map(|c| c.path.as_str())
            .collect();
        assert_eq!(followed.len(), 20);
        assert_eq!(followed[0], "/User 0/follow");
        assert_eq!(followed[19], "/User 19/follow");
        assert_eq!(request_count(&plan("u", Mode::Paper, &follow(), 0)), 44);
        assert_eq!(request_count(&plan("u", Mode::Paper, &follow(), 1)), 104);
    }

    #[test]
    fn tweet_bodies_have_the_study_lengths() {
        let bodies: Vec<usize> = TWEETS
            .iter()
            .map(|t| encode_form(&[("text", t)]).len())
            .collect();
        assert_eq!(bodies, STUDY_TWEET_BODY_BYTES);
        for t in TWEETS {
            assert!((27..=125).contains(&t.len()), "{t}");
        }
    }

    #[test]
    fn session_repr_looks_like_python() {
        let r = session_repr("alice");
        assert_eq!(r, session_repr("alice"));
        assert_eq!(
            r.len(),
            "<requests.sessions.Session object at 0x7f3a2c1d5e50>".len()
        );
        assert!(r.starts_with("<requests.sessions.Session object at 0x7f") && r.ends_with("0>"));
    }
}

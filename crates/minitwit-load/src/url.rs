//! `http://host:port/prefix` server addresses and the two encodings the scenario needs, both
//! as Python `requests` does them: paths (`requote_uri`) and form bodies (`urlencode`).

use std::fmt;

/// Why a server URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not `http://…`.
    #[error("{0:?}: only http:// URLs are supported (e.g. http://127.0.0.1:5000)")]
    Scheme(String),
    /// No host after the scheme.
    #[error("{0:?}: no host name (e.g. http://127.0.0.1:5000)")]
    NoHost(String),
    /// A port that is not a number from 1 to 65535.
    #[error("{0:?}: the port must be a number from 1 to 65535")]
    Port(String),
    /// Query strings, fragments or credentials, which a server base URL cannot carry.
    #[error("{0:?}: a server URL has no query, fragment or user name; give only http://host:port[/prefix]")]
    Extra(String),
}

/// A parsed `http://host[:port][/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host name or address as written (IPv6 without brackets).
    pub host: String,
    /// TCP port (80 when not written).
    pub port: u16,
    /// Path prefix without a trailing slash (`""` for the root); for a full URL (a trigger
    /// URL), the path including any query.
    pub path: String,
}

impl HttpUrl {
    /// Parses an `http://` URL. Query strings are kept in `path` when `allow_query` is set
    /// (trigger URLs), refused otherwise (server base URLs).
    pub fn parse(text: &str, allow_query: bool) -> Result<Self, UrlError> {
        let rest = text
            .strip_prefix("http://")
            .ok_or_else(|| UrlError::Scheme(text.to_owned()))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => match rest.find('?') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            },
        };
        if authority.contains('@') || path.contains('#') || (!allow_query && path.contains('?')) {
            return Err(UrlError::Extra(text.to_owned()));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| UrlError::NoHost(text.to_owned()))?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(UrlError::NoHost(text.to_owned()));
        }
        let port = match port {
            None => 80,
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => return Err(UrlError::Port(text.to_owned())),
            },
        };
        let path = if allow_query {
            if path.is_empty() || path.starts_with('?') {
                format!("/{path}")
            } else {
                path.to_owned()
            }
        } else {
            path.trim_end_matches('/').to_owned()
        };
        Ok(Self {
            host: host.to_owned(),
            port,
            path,
        })
    }

    /// The `Host` header value: `host` or `host:port`, brackets around IPv6.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.host_header(), self.path)
    }
}

fn hex(b: u8) -> [char; 3] {
    const H: &[u8; 16] = b"0123456789ABCDEF";
    [
        '%',
        char::from(H[usize::from(b >> 4)]),
        char::from(H[usize::from(b & 15)]),
    ]
}

/// Percent-encodes a path the way `requests` re-quotes a URL: everything but unreserved
/// characters and `!#$&'()*+,/:;=?@[]~` (and `%`, which `requests` leaves alone) becomes
/// `%XX` of its UTF-8 bytes, so `/Ada Lovelace` goes out as `/Ada%20Lovelace` and
/// `<…>` as `%3C…%3E`.
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!#$%&'()*+,/:;=?@[]".contains(&b) {
            out.push(char::from(b));
        } else {
            out.extend(hex(b));
        }
    }
    out
}

/// `application/x-www-form-urlencoded` as Python's `urlencode` (`quote_plus`): unreserved
/// characters as they are, space as `+`, everything else `%XX`.
pub fn encode_form(fields: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        quote_plus(k, &mut out);
        out.push('=');
        quote_plus(v, &mut out);
    }
    out
}

/// One query-string or form value, encoded as [`encode_form`] does.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    quote_plus(s, &mut out);
    out
}

/// Decodes a query-string or form value: `+` is a space, `%XX` a byte; a `%` not followed by
/// two hex digits stays as it is; invalid UTF-8 becomes U+FFFD.
pub fn decode_component(s: &str) -> String {
    let hex = |c: u8| char::from(c).to_digit(16);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let digits = (
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        );
        match (b[i], digits) {
            (b'+', _) => out.push(b' '),
            (b'%', (Some(h), Some(l))) => {
                // Two hex digits make one byte: h, l < 16.
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 2;
            }
            (c, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn quote_plus(s: &str, out: &mut String) {
    for &b in s.as_bytes() {
        match b {
            b' ' => out.push('+'),
            _ if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => out.push(char::from(b)),
            _ => out.extend(hex(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn form_values_round_trip(s in "\\PC*") {
            let encoded = encode_component(&s);
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+%".contains(&b)));
            prop_assert_eq!(decode_component(&encoded), s);
        }

        #[test]
        fn paths_are_safe_and_decode_back(s in "/[^%]*") {
            let encoded = encode_path(&s);
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_graphic()));
            // A path decodes like a form value except that `+` stays literal.
            prop_assert_eq!(decode_component(&encoded.replace('+', "%2B")), s);
        }

        #[test]
        fn server_urls_round_trip(host in "[a-z][a-z0-9-]{0,20}", port in 1u16.., path in "(/[a-z0-9]{1,8}){0,3}") {
            let text = format!("http://{host}:{port}{path}");
            let url = HttpUrl::parse(&text, false).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let expected = if port == 80 { format!("http://{host}{path}") } else { text.clone() };
            prop_assert_eq!(url.to_string(), expected);
        }
    }

    #[test]
    fn decoding_keeps_stray_percent_signs() {
        assert_eq!(decode_component("100%"), "100%");
        assert_eq!(decode_component("a%2"), "a%2");
        assert_eq!(decode_component("%e2%82%ac+x"), "€ x");
    }

    #[test]
    fn parses_server_urls() {
        let u = HttpUrl::parse("http://127.0.0.1:5000/", false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 5000, "")
        );
        let u = HttpUrl::parse("http://pi/minitwit/", false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (u.port, u.path.as_str(), u.host_header()),
            (80, "/minitwit", "pi".to_owned())
        );
        let u = HttpUrl::parse("http://[::1]:8080", false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (u.host.as_str(), u.host_header()),
            ("::1", "[::1]:8080".to_owned())
        );
        let t = HttpUrl::parse("http://h:5001?x=1", true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.path, "/?x=1");
    }

    #[test]
    fn refuses_bad_urls_with_a_hint() {
        for bad in [
            "https://x",
            "127.0.0.1:5000",
            "http://",
            "http://h:0",
            "http://h:99999",
            "http://h:x",
            "http://u@h",
            "http://h/?q=1",
        ] {
            assert!(HttpUrl::parse(bad, false).is_err(), "{bad}");
        }
        let e = HttpUrl::parse("ftp://x", false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("only http://"), "{e}");
    }

    #[test]
    fn paths_are_quoted_like_requests() {
        assert_eq!(
            encode_path("/Ada Lovelace/follow"),
            "/Ada%20Lovelace/follow"
        );
        assert_eq!(
            encode_path("/<requests.sessions.Session object at 0x7f3a2c1d5e50>"),
            "/%3Crequests.sessions.Session%20object%20at%200x7f3a2c1d5e50%3E"
        );
        assert_eq!(encode_path("/Zoë"), "/Zo%C3%AB");
    }

    #[test]
    fn forms_are_encoded_like_urlencode() {
        assert_eq!(
            encode_form(&[
                ("username", "a b"),
                ("email", "a@itu.dk"),
                ("text", "it's 100% & more")
            ]),
            "username=a+b&email=a%40itu.dk&text=it%27s+100%25+%26+more"
        );
    }
}

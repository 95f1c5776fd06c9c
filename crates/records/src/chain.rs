use std::error::Error;
use std::fmt::Write;

/// An error and its causes as one line, `outer: cause: root cause`, like anyhow's `{:#}`, but
/// without repeating a cause whose text the message before it already contains (error types
/// that print their source in their own message, as many do, would otherwise say it twice).
pub fn error_chain(err: &(dyn Error + 'static)) -> String {
    let mut line = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let text = e.to_string();
        if !text.is_empty() && !line.contains(&text) {
            let _ = write!(line, ": {text}");
        }
        cur = e.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrap(&'static str, Option<Box<dyn Error + 'static>>);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl Error for Wrap {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref()
        }
    }

    #[test]
    fn causes_are_joined_once() {
        let root = Wrap("connection refused", None);
        let mid = Wrap("GET /cleardb: connection refused", Some(Box::new(root)));
        let top = Wrap("resetting the database", Some(Box::new(mid)));
        assert_eq!(
            error_chain(&top),
            "resetting the database: GET /cleardb: connection refused"
        );
        let plain = Wrap(
            "a",
            Some(Box::new(Wrap("b", Some(Box::new(Wrap("c", None)))))),
        );
        assert_eq!(error_chain(&plain), "a: b: c");
        let hinted = Wrap(
            "cannot connect to 127.0.0.1:1: refused (is the server running?)",
            Some(Box::new(Wrap("refused", None))),
        );
        assert_eq!(
            error_chain(&hinted),
            "cannot connect to 127.0.0.1:1: refused (is the server running?)"
        );
    }
}

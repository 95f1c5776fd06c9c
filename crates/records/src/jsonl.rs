use std::io::{self, BufRead, Write};
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::Versioned;

/// Why a JSON Lines stream could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Reading or writing the underlying stream failed.
    #[error("{source_name}: {err}")]
    Io {
        /// File name, or `-` for stdin/stdout.
        source_name: String,
        /// The I/O error.
        #[source]
        err: io::Error,
    },
    /// A line is not a JSON object of the expected record type.
    ///
    /// serde quotes a bad value as decoded (a `\r` escaped in the JSON is a raw carriage return
    /// in its message), so the message is shown through [`one_line`]; and `err` is not the
    /// error's source, or an error chain would print the raw message again after it.
    #[error("{source_name}:{line}: not a valid record: {}", one_line(&.err.to_string()))]
    Parse {
        /// File name, or `-` for stdin.
        source_name: String,
        /// 1-based line number.
        line: u64,
        /// What serde said.
        err: serde_json::Error,
    },
    /// A line carries a `schema` tag of another type or version.
    #[error("{source_name}:{line}: schema is {found:?}, expected {expected:?} (is this the right file, or was it written by a newer version?)")]
    Schema {
        /// File name, or `-` for stdin.
        source_name: String,
        /// 1-based line number.
        line: u64,
        /// The tag found.
        found: String,
        /// The tag this reader understands.
        expected: &'static str,
    },
}

/// Writes records as JSON Lines, one object per line, flushed per record so a reader (or a
/// crash) never sees half a line.
pub struct JsonLinesWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
}

impl<W: Write> JsonLinesWriter<W> {
    /// Wraps a writer.
    pub fn new(out: W) -> Self {
        Self {
            out,
            buf: Vec::with_capacity(512),
        }
    }

    /// Serialises one record, appends a newline, writes the whole line at once and flushes.
    ///
    /// A record with NaN or an infinity in a numeric field is refused (`InvalidData`, naming the
    /// field) and nothing is written: JSON cannot carry such a value, and a `null` in its place
    /// would make the whole file unreadable later.
    pub fn write<T: Serialize + Versioned>(&mut self, record: &T) -> io::Result<()> {
        if let Some(field) = record.non_finite_field() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} record not written: {field} is not a finite number",
                    T::SCHEMA
                ),
            ));
        }
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, record).map_err(io::Error::other)?;
        self.buf.push(b'\n');
        self.out.write_all(&self.buf)?;
        self.out.flush()
    }

    /// Gives the writer back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Reads versioned records from JSON Lines, with the file name and line number in every
/// error. Blank lines are skipped.
pub struct JsonLinesReader<R, T> {
    input: R,
    source_name: String,
    line_no: u64,
    line: Vec<u8>,
    _t: PhantomData<T>,
}

/// Reads records of type `T` from `input`; `source_name` names it in errors.
pub fn read_jsonl<R: BufRead, T: DeserializeOwned + Versioned>(
    input: R,
    source_name: impl Into<String>,
) -> JsonLinesReader<R, T> {
    JsonLinesReader {
        input,
        source_name: source_name.into(),
        line_no: 0,
        line: Vec::new(),
        _t: PhantomData,
    }
}

impl<R: BufRead, T: DeserializeOwned + Versioned> Iterator for JsonLinesReader<R, T> {
    type Item = Result<T, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.line.clear();
            self.line_no += 1;
            // Bytes, not `read_line`: a line that is not UTF-8 is then a parse error naming its
            // line, not an I/O error without one.
            match self.input.read_until(b'\n', &mut self.line) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(err) => {
                    return Some(Err(RecordError::Io {
                        source_name: self.source_name.clone(),
                        err,
                    }))
                }
            }
            let text = match std::str::from_utf8(&self.line) {
                Ok(t) => t.trim(),
                Err(e) => {
                    return Some(Err(RecordError::Parse {
                        source_name: self.source_name.clone(),
                        line: self.line_no,
                        err: serde::de::Error::custom(format_args!(
                            "not UTF-8 text (byte {} of the line)",
                            e.valid_up_to() + 1
                        )),
                    }))
                }
            };
            if text.is_empty() {
                continue;
            }
            let record: T = match serde_json::from_str(text) {
                Ok(r) => r,
                Err(err) => {
                    // A wrong schema is the more useful message when the tag is there.
                    if let Some(found) = schema_tag(text) {
                        if found != T::SCHEMA {
                            return Some(Err(self.schema_error(found)));
                        }
                    }
                    return Some(Err(RecordError::Parse {
                        source_name: self.source_name.clone(),
                        line: self.line_no,
                        err,
                    }));
                }
            };
            if record.schema() != T::SCHEMA {
                let found = record.schema().to_owned();
                return Some(Err(self.schema_error(found)));
            }
            return Some(Ok(record));
        }
    }
}

impl<R, T: Versioned> JsonLinesReader<R, T> {
    fn schema_error(&self, found: String) -> RecordError {
        RecordError::Schema {
            source_name: self.source_name.clone(),
            line: self.line_no,
            found,
            expected: T::SCHEMA,
        }
    }
}

/// `text` with its control characters (a line break, a carriage return) escaped as Rust
/// escapes them (`\n`, `\r`), so a message quoting a bad value stays one line.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn schema_tag(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value.get("schema")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{error_chain, RunRecord};

    #[test]
    fn a_bad_value_with_an_escaped_line_break_stays_one_line() {
        for (row, quoted) in [
            (r#"{"schema":"run/1","status":"o\rk"}"#, "o\\rk"),
            (r#"{"schema":"run/1","status":"o\nk"}"#, "o\\nk"),
        ] {
            let Some(Err(e)) = read_jsonl::<_, RunRecord>(row.as_bytes(), "runs.jsonl").next()
            else {
                panic!("{row} read as a record");
            };
            let text = error_chain(&e);
            assert!(
                text.starts_with("runs.jsonl:1: not a valid record: ") && text.contains(quoted),
                "{text}"
            );
            assert!(!text.contains(['\r', '\n']), "{text:?}");
        }
    }
}

//! Writing the Prometheus text exposition format 0.0.4 straight into a `String`: HELP and TYPE
//! lines, samples with escaped label values, and values as Prometheus parses them.
//!
//! The service families (about 20,000 series with 500 agencies) are written here rather than
//! through the `prometheus` crate's protobuf structs, which allocate every label pair of every
//! series at each scrape.

use std::fmt::Write;

/// A label value escaped for the text format: backslash, double quote and line feed.
pub(crate) fn escape_label(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `name="value"`, the value escaped.
pub(crate) fn label(name: &str, value: &str) -> String {
    format!("{name}=\"{}\"", escape_label(value))
}

/// A sample value.
pub(crate) trait Value {
    fn write_to(self, out: &mut String);
}

impl Value for u64 {
    fn write_to(self, out: &mut String) {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        let mut n = self;
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        // Only ASCII digits were written.
        out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or("0"));
    }
}

impl Value for i64 {
    fn write_to(self, out: &mut String) {
        if self < 0 {
            out.push('-');
        }
        self.unsigned_abs().write_to(out);
    }
}

impl Value for f64 {
    /// Rust's shortest representation that reads back as the same float64 (as Go's
    /// `ParseFloat` reads it), with the text format's spelling of infinities.
    fn write_to(self, out: &mut String) {
        if self.is_nan() {
            out.push_str("NaN");
        } else if self == f64::INFINITY {
            out.push_str("+Inf");
        } else if self == f64::NEG_INFINITY {
            out.push_str("-Inf");
        } else {
            let _ = write!(out, "{self}");
        }
    }
}

/// Families read at one instant and rendered once (the scorecard's, the hall's): each
/// family's text by name, kept and written again by the scrapes of the refresh interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeptFamilies {
    pub at: chrono::DateTime<chrono::Utc>,
    pub families: Vec<(&'static str, String)>,
}

impl KeptFamilies {
    /// Whether a scrape at `now` writes these families again: read less than `refresh` before
    /// it, and not after it.
    pub fn fresh_at(&self, now: chrono::DateTime<chrono::Utc>, refresh: chrono::Duration) -> bool {
        now >= self.at && now - self.at < refresh
    }
}

/// One exposition being written.
#[derive(Debug, Default)]
pub(crate) struct Exposition {
    pub out: String,
}

impl Exposition {
    pub fn with_capacity(n: usize) -> Self {
        Self { out: String::with_capacity(n) }
    }

    /// The HELP and TYPE lines of a family.
    pub fn header(&mut self, name: &str, kind: &str, help: &str) {
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        for c in help.chars() {
            match c {
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                c => self.out.push(c),
            }
        }
        self.out.push_str("\n# TYPE ");
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(kind);
        self.out.push('\n');
    }

    /// A sample line: `name{labels} value`, where `labels` are already written `k="v"` pairs.
    pub fn sample(&mut self, name: &str, suffix: &str, labels: &[&str], value: impl Value) {
        self.out.push_str(name);
        self.out.push_str(suffix);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, l) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(l);
            }
            self.out.push('}');
        }
        self.out.push(' ');
        value.write_to(&mut self.out);
        self.out.push('\n');
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn value(v: impl Value) -> String {
        let mut s = String::new();
        v.write_to(&mut s);
        s
    }

    #[test]
    fn values_read_back_as_the_same_float() {
        assert_eq!(value(0u64), "0");
        assert_eq!(value(18_446_744_073_709_551_615u64), "18446744073709551615");
        assert_eq!(value(-42i64), "-42");
        assert_eq!(value(i64::MIN), "-9223372036854775808");
        assert_eq!(value(1.0f64), "1");
        assert_eq!(value(f64::INFINITY), "+Inf");
        assert_eq!(value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(value(f64::NAN), "NaN");
        for x in [2.0f64 / 3.0, 9999.0 / 10000.0, 1e-7, 123_456.789] {
            assert_eq!(value(x).parse::<f64>().unwrap(), x);
        }
    }

    #[test]
    fn labels_and_help_are_escaped() {
        assert_eq!(label("agency", "B\\0\"1\n"), "agency=\"B\\\\0\\\"1\\n\"");
        assert!(matches!(escape_label("B00.01.H17"), std::borrow::Cow::Borrowed(_)));
        let mut x = Exposition::default();
        x.header("m", "gauge", "a \\ b\nc");
        x.sample("m", "", &[&label("a", "x"), "b=\"y\""], 2u64);
        x.sample("m", "_count", &[], 0.5f64);
        assert_eq!(x.out, "# HELP m a \\\\ b\\nc\n# TYPE m gauge\nm{a=\"x\",b=\"y\"} 2\nm_count 0.5\n");
    }
}

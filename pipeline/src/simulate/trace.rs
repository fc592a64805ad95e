//! Reading a demand trace (`shared/traces/README.md`): CSV with the header `timestamp,value`,
//! `timestamp` as `YYYY-MM-DD HH:MM:SS` (UTC; a `T` separator and integer epoch seconds are
//! accepted too), `value` the arrivals in the interval ending at that row. Rows must be in time
//! order. Every error names the file, the 1-based line and the field.

use std::path::Path;

/// A trace in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// Timestamps (ms since the epoch), one per row.
    pub timestamps_ms: Vec<i64>,
    /// Values, one per row.
    pub values: Vec<f64>,
}

/// A trace that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The file cannot be read.
    #[error("{file}: {error}")]
    Io {
        /// The file.
        file: String,
        /// Why.
        error: std::io::Error,
    },
    /// A line is malformed.
    #[error("{file}:{line}: field `{field}`: {message}")]
    Field {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// `header`, `timestamp` or `value`.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No data rows.
    #[error("{file}: no data rows after the header")]
    Empty {
        /// The file.
        file: String,
    },
}

/// Days from 1970-01-01 to the civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DD HH:MM:SS` (or with `T`, or integer epoch seconds) to ms since the epoch.
///
/// ```
/// use echoflow_pipeline::simulate::trace::parse_timestamp;
/// assert_eq!(parse_timestamp("1970-01-02 00:00:01"), Some(86_401_000));
/// assert_eq!(parse_timestamp("2014-07-01T00:30:00"), Some(1_404_174_600_000));
/// assert_eq!(parse_timestamp("1404174600"), Some(1_404_174_600_000));
/// assert_eq!(parse_timestamp("2014-13-01 00:00:00"), None);
/// ```
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<i64>() {
        return secs.checked_mul(1000);
    }
    let b = s.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b' ' || b[10] == b'T') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let month_days = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&mo) || d < 1 || d > month_days[(mo - 1) as usize] {
        return None;
    }
    if h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(((days * 24 + h) * 60 + mi) * 60_000 + se * 1000)
}

/// Parses trace CSV text; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Trace, TraceError> {
    let err = |line: usize, field: &'static str, message: String| TraceError::Field {
        file: file.to_string(),
        line,
        field,
        message,
    };
    let mut lines = text.lines().enumerate();
    let header = lines
        .by_ref()
        .find(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.trim_start_matches('\u{feff}').trim()));
    match header {
        Some((_, "timestamp,value")) => {}
        Some((line, h)) => {
            return Err(err(
                line,
                "header",
                format!("expected `timestamp,value`, found `{h}`"),
            ));
        }
        None => {
            return Err(TraceError::Empty {
                file: file.to_string(),
            });
        }
    }
    let mut trace = Trace {
        timestamps_ms: Vec::new(),
        values: Vec::new(),
    };
    for (i, raw) in lines {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() {
            continue;
        }
        let mut parts = l.split(',');
        let (Some(ts), Some(v), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(err(
                line,
                "value",
                format!("expected 2 fields, found `{l}`"),
            ));
        };
        let t = parse_timestamp(ts).ok_or_else(|| {
            err(
                line,
                "timestamp",
                format!("`{}` is not `YYYY-MM-DD HH:MM:SS`", ts.trim()),
            )
        })?;
        let value: f64 = v
            .trim()
            .parse()
            .map_err(|_| err(line, "value", format!("`{}` is not a number", v.trim())))?;
        if !value.is_finite() || value < 0.0 {
            return Err(err(
                line,
                "value",
                format!("{value} is not a finite number >= 0"),
            ));
        }
        if let Some(&prev) = trace.timestamps_ms.last()
            && t < prev
        {
            return Err(err(
                line,
                "timestamp",
                "rows are not in time order".to_string(),
            ));
        }
        trace.timestamps_ms.push(t);
        trace.values.push(value);
    }
    if trace.values.is_empty() {
        return Err(TraceError::Empty {
            file: file.to_string(),
        });
    }
    Ok(trace)
}

/// Reads a trace file.
pub fn read(path: &Path) -> Result<Trace, TraceError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| TraceError::Io {
        file: file.clone(),
        error,
    })?;
    parse(&file, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_nab_format() {
        let t = parse(
            "t.csv",
            "timestamp,value\n2014-04-10 00:04:00,94.0\n2014-04-10 00:09:00,56\n\n",
        )
        .unwrap();
        assert_eq!(t.values, vec![94.0, 56.0]);
        assert_eq!(t.timestamps_ms[1] - t.timestamps_ms[0], 300_000);
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let e = parse("t.csv", "timestamp,value\n2014-04-10 00:04:00,abc\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv:2: field `value`: `abc` is not a number"
        );
        let e = parse("t.csv", "time,count\n").unwrap_err();
        assert!(e.to_string().starts_with("t.csv:1: field `header`"));
        let e = parse("t.csv", "timestamp,value\nyesterday,1\n").unwrap_err();
        assert!(e.to_string().starts_with("t.csv:2: field `timestamp`"));
        let e = parse("t.csv", "timestamp,value\n2014-04-10 00:04:00,-1\n").unwrap_err();
        assert!(e.to_string().contains("not a finite number >= 0"));
        let e = parse(
            "t.csv",
            "timestamp,value\n2014-04-10 00:04:00,1\n2014-04-10 00:03:00,1\n",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.csv:3: field `timestamp`: rows are not in time order")
        );
        assert!(matches!(
            parse("t.csv", "timestamp,value\n").unwrap_err(),
            TraceError::Empty { .. }
        ));
    }
}

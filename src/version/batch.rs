//! Batch comparison: `A<TAB>B` lines in, one `<`, `=`, `>` or `ERR` line out.
//!
//! The same line protocol as the oracles in `../shared/oracles`: the line is
//! split at its first tab (no tab = `ERR`), a trailing `\r` is dropped, and a
//! side the scheme rejects gives `ERR`. Input and output are buffered; one
//! process serves any number of lines.

use std::cmp::Ordering;
use std::io::{BufRead, Write};

use super::VersionScheme;

/// Compares every `A<TAB>B` line of `input` under `scheme`, writing one answer
/// line per input line to `output`. Returns (lines read, lines answered `ERR`).
pub fn run_batch(
    scheme: VersionScheme,
    mut input: impl BufRead,
    output: impl Write,
) -> std::io::Result<(u64, u64)> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, output);
    let mut line = Vec::with_capacity(256);
    let (mut lines, mut errors) = (0u64, 0u64);
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        lines += 1;
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        let answer = answer_line(scheme, &line);
        if answer == "ERR" {
            errors += 1;
        }
        out.write_all(answer.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok((lines, errors))
}

/// The answer for one line without its line terminator.
pub fn answer_line(scheme: VersionScheme, line: &[u8]) -> &'static str {
    let Ok(text) = std::str::from_utf8(line) else {
        return "ERR";
    };
    let Some((a, b)) = text.split_once('\t') else {
        return "ERR";
    };
    match scheme.compare(a, b) {
        Ok(Ordering::Less) => "<",
        Ok(Ordering::Equal) => "=",
        Ok(Ordering::Greater) => ">",
        Err(_) => "ERR",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_one_line_per_line() {
        let input = b"1.0\t2.0\n2.0\t2.0\r\n3\t1\nnotab\n\t1.0\n";
        let mut out = Vec::new();
        let (lines, errors) = run_batch(VersionScheme::Rpm, &input[..], &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "<\n=\n>\nERR\nERR\n");
        assert_eq!((lines, errors), (5, 2));
    }
}

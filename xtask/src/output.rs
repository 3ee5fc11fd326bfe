//! Everything xtask prints for people: progress lines on stderr and result tables on stdout.
#![allow(clippy::print_stdout, clippy::print_stderr)]

/// A progress or status line, on stderr so stdout stays the command's result.
pub fn status(message: &str) {
    eprintln!("xtask: {message}");
}

/// A failure, on stderr.
pub fn error(message: &str) {
    eprintln!("error: {message}");
}

/// A result line on stdout. A closed pipe (`cargo xtask help | head`) is not an error.
pub fn line(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// Renders rows as a plain-text table with left-aligned columns, the header underlined.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|title| title.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let render = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut out = render(header.to_vec());
    out.push('\n');
    out.push_str(&render(
        widths
            .iter()
            .map(|width| "-".repeat(*width))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    ));
    out.push('\n');
    for row in rows {
        out.push_str(&render(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// A byte count for people: `812,345 B (0.77 MiB)`.
pub fn size(bytes: u64) -> String {
    let digits = bytes.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{grouped} B ({:.2} MiB)", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let text = table(
            &["connector", "arch"],
            &[
                vec!["github".into(), "x86_64".into()],
                vec!["loan-applications".into(), "arm64".into()],
            ],
        );
        assert_eq!(
            text,
            "connector          arch\n\
             -----------------  ------\n\
             github             x86_64\n\
             loan-applications  arm64\n"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(size(0), "0 B (0.00 MiB)");
        assert_eq!(size(812_345), "812,345 B (0.77 MiB)");
        assert_eq!(size(1_048_576), "1,048,576 B (1.00 MiB)");
    }
}

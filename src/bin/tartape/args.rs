//! Command-line argument helpers: flags, values and sizes with binary suffixes.

/// Parses a size such as `4096`, `512K`, `1M` or `2G` (binary multiples).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("{text:?}: unknown size suffix (use K, M, G or T)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| {
            format!("{text:?}: not a size (a whole number, optionally with K, M, G or T)")
        })
}

/// Applies `--format tar|zip` and `--deflate[=LEVEL]` (level 6 when none is given) to `builder`;
/// returns false when `arg` is neither.
pub fn format_option(
    arg: &str,
    args: &mut Args,
    builder: &mut tartape::TapeBuilder,
) -> Result<bool, String> {
    if arg == "--format" {
        let format = match args.value(arg)?.as_str() {
            "tar" => tartape::Format::Tar,
            "zip" => tartape::Format::Zip,
            other => return Err(format!("--format {other:?}: use tar or zip")),
        };
        builder.set_format(format);
        return Ok(true);
    }
    let level = match arg.strip_prefix("--deflate") {
        Some("") => 6,
        Some(rest) => match rest.strip_prefix('=').map(str::parse::<u32>) {
            Some(Ok(level)) => level,
            _ => return Err(format!("{arg}: use --deflate or --deflate=LEVEL (0 to 9)")),
        },
        None => return Ok(false),
    };
    builder.set_deflate(level).map_err(|e| e.to_string())?;
    Ok(true)
}

/// A cursor over arguments that pulls flag values.
pub struct Args {
    items: Vec<String>,
    at: usize,
}

impl Args {
    /// Wraps the arguments after the subcommand.
    pub fn new(items: &[String]) -> Args {
        Args {
            items: items.to_vec(),
            at: 0,
        }
    }

    /// The next argument.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<String> {
        let a = self.items.get(self.at).cloned();
        self.at += 1;
        a
    }

    /// The value after flag `flag`.
    pub fn value(&mut self, flag: &str) -> Result<String, String> {
        self.next().ok_or_else(|| format!("{flag} needs a value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("512").unwrap(), 512);
        assert_eq!(parse_size("1K").unwrap(), 1024);
        assert_eq!(parse_size("3m").unwrap(), 3 << 20);
        assert_eq!(parse_size("2G").unwrap(), 2 << 30);
        assert!(parse_size("x").is_err());
        assert!(parse_size("1Q").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}

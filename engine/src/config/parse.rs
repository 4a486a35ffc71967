//! Parsing redis.conf-style text into a [`Config`] through the table in `params.rs`, dumping
//! it back, and Redis's size syntax.

use super::params::known_names;
use super::*;

impl Config {
    /// Sets one parameter from its textual arguments (as after the name on a config line).
    pub fn set(&mut self, name: &str, args: &[&str]) -> Result<(), ConfigError> {
        self.set_at(name, args, Location::default())
    }

    fn set_at(&mut self, name: &str, args: &[&str], at: Location) -> Result<(), ConfigError> {
        let p = param(name).ok_or_else(|| ConfigError::UnknownParameter {
            at: at.clone(),
            name: name.to_string(),
            known: known_names(),
        })?;
        let mut next = self.clone();
        (p.set)(&mut next, args).map_err(|()| {
            if let ("lab-policy-param", [name, value]) = (p.name, args)
                && let Err(e) = crate::policy::registry::check_param(name, value)
            {
                return ConfigError::from_param(e, at.clone());
            }
            let expected = if p.name == "maxmemory-policy" {
                format!(
                    "one of {}",
                    crate::policy::registry::names()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                p.accepts.to_string()
            };
            ConfigError::BadValue {
                at,
                name: p.name.to_string(),
                value: args.join(" "),
                expected,
            }
        })?;
        *self = next;
        Ok(())
    }

    /// The current value of a parameter, as `CONFIG GET` would print it.
    pub fn get(&self, name: &str) -> Option<String> {
        param(name).map(|p| (p.get)(self))
    }

    /// Parses redis.conf-style text (`name value...` per line, `#` comments, double-quoted
    /// arguments) on top of the defaults.
    pub fn parse_str(text: &str) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        c.apply_str(text, None)?;
        Ok(c)
    }

    /// Reads and parses a config file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let mut c = Config::default();
        c.apply_str(&text, Some(path))?;
        Ok(c)
    }

    /// Applies config lines on top of this configuration. Nothing is changed if any line
    /// is bad.
    pub fn apply_str(&mut self, text: &str, file: Option<&Path>) -> Result<(), ConfigError> {
        let mut next = self.clone();
        for (i, raw) in text.lines().enumerate() {
            let at = Location {
                file: file.map(Path::to_path_buf),
                line: Some(i + 1),
            };
            let words = split_args(raw).map_err(|()| ConfigError::BadValue {
                at: at.clone(),
                name: raw.split_whitespace().next().unwrap_or("").to_string(),
                value: raw.to_string(),
                expected: "balanced double quotes".into(),
            })?;
            let Some((name, args)) = words.split_first() else {
                continue;
            };
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            next.set_at(name, &args, at)?;
        }
        *self = next;
        Ok(())
    }

    /// Every parameter as a config line, in table order; parsing the result gives back an
    /// equal `Config`.
    pub fn to_lines(&self) -> Vec<String> {
        PARAMS
            .iter()
            .filter_map(|p| {
                let v = (p.get)(self);
                match p.name {
                    "save" if v.is_empty() => Some("save \"\"".to_string()),
                    "lab-policy-param" => None,
                    _ => Some(format!("{} {}", p.name, v)),
                }
            })
            .chain(
                self.policy_params
                    .iter()
                    .map(|(n, v)| format!("lab-policy-param {n} {v}")),
            )
            .collect()
    }

    /// Redis's eviction time limit for the configured tenacity, in µs (`u64::MAX` = none);
    /// redis `src/evict.c` `evictionTimeLimitUs`.
    pub fn eviction_time_limit_us(&self) -> u64 {
        let t = self.maxmemory_eviction_tenacity;
        if t <= 10 {
            50 * t as u64
        } else if t < 100 {
            (500.0 * 1.15f64.powi(t as i32 - 10)) as u64
        } else {
            u64::MAX
        }
    }

    /// The value of a `lab-policy-param`.
    pub fn policy_param(&self, name: &str) -> Option<&str> {
        self.policy_params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn split_args(line: &str) -> Result<Vec<String>, ()> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '"' {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => {
                        if let Some(n) = chars.next() {
                            word.push(n)
                        }
                    }
                    _ => word.push(c),
                }
            }
            if !closed {
                return Err(());
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        out.push(word);
    }
    Ok(out)
}

/// Parses a memory size as Redis's `memtoull` does (`1k` = 1000, `1kb` = 1024, `m`, `mb`,
/// `g`, `gb`, case-insensitive), plus `KiB`/`MiB`/`GiB`/`TiB`, `t`/`tb`, a `b` suffix and a
/// decimal fraction (`1.5gb`) as the lab's extensions. `None` if malformed or overflowing.
pub fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim().to_ascii_lowercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return None;
    }
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" | "kib" => 1 << 10,
        "m" => 1000 * 1000,
        "mb" | "mib" => 1 << 20,
        "g" => 1000 * 1000 * 1000,
        "gb" | "gib" => 1 << 30,
        "t" => 1000 * 1000 * 1000 * 1000,
        "tb" | "tib" => 1 << 40,
        _ => return None,
    };
    if let Ok(n) = num.parse::<u64>() {
        return n.checked_mul(mul);
    }
    let f: f64 = num.parse().ok()?;
    let v = f * mul as f64;
    (v.is_finite() && v >= 0.0 && v < u64::MAX as f64).then(|| v.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_redis_unit_rules() {
        assert_eq!(parse_size("1k"), Some(1000));
        assert_eq!(parse_size("1kb"), Some(1024));
        assert_eq!(parse_size("1KB"), Some(1024));
        assert_eq!(parse_size("100mb"), Some(100 << 20));
        assert_eq!(parse_size("2m"), Some(2_000_000));
        assert_eq!(parse_size("16gb"), Some(16 << 30));
        assert_eq!(parse_size("64MiB"), Some(64 << 20));
        assert_eq!(parse_size("1.5gb"), Some(3 << 29));
        assert_eq!(parse_size("12345"), Some(12345));
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("12x"), None);
        assert_eq!(parse_size("mb"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("99999999999999999999gb"), None);
    }

    #[test]
    fn defaults_are_redis_defaults() {
        let c = Config::default();
        assert_eq!(c.maxmemory, 0);
        assert_eq!(c.maxmemory_policy, "noeviction");
        assert_eq!(c.maxmemory_samples, 5);
        assert_eq!(c.maxmemory_eviction_tenacity, 10);
        assert_eq!(c.lfu_log_factor, 10);
        assert_eq!(c.lfu_decay_time, 1);
        assert_eq!(c.hz, 10);
        assert_eq!(c.active_expire_effort, 1);
        assert_eq!(c.save, DEFAULT_SAVE_RULES);
        assert_eq!(c.eviction_time_limit_us(), 500);
    }

    #[test]
    fn parses_redis_conf_lines() {
        let c = Config::parse_str(
            "# comment\nmaxmemory 100mb\nmaxmemory-policy allkeys-lru\n\nmaxmemory-samples 10\nsave \"\"\nhz 1000\n",
        )
        .unwrap();
        assert_eq!(c.maxmemory, 100 << 20);
        assert_eq!(c.maxmemory_policy, "allkeys-lru");
        assert_eq!(c.maxmemory_samples, 10);
        assert!(c.save.is_empty());
        assert_eq!(c.hz, 500, "hz is clamped like Redis");
        let again = Config::parse_str(&c.to_lines().join("\n")).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn bad_values_name_the_key_value_and_what_is_accepted() {
        let err = Config::parse_str("maxmemory 10\nmaxmemory-samples 65\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("line 2"), "{msg}");
        assert!(msg.contains("maxmemory-samples"), "{msg}");
        assert!(msg.contains("'65'"), "{msg}");
        assert!(msg.contains("1..=64"), "{msg}");

        let err = Config::parse_str("maxmemory-policy lru-ish")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("allkeys-lru") && err.contains("volatile-ttl"),
            "{err}"
        );

        let err = Config::parse_str("maxmem 1").unwrap_err().to_string();
        assert!(err.contains("unknown config parameter 'maxmem'"), "{err}");

        // A bad line leaves the configuration untouched.
        let mut c = Config::default();
        assert!(c.apply_str("maxmemory 5\nhz abc", None).is_err());
        assert_eq!(c, Config::default());
    }
}

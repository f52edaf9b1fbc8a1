//! Finding the line a key is on, so errors can say "file:line".
//!
//! figment reports which file and key path a bad value came from, but not
//! the line. YAML and TOML both write a key as `name:` / `name =` or as
//! part of a table header, so walking the path's components in order
//! through the text finds the line well enough for an error message.

/// 1-based line of `path` in `text`, if it can be found.
pub fn line_of(text: &str, path: &[String]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0;
    let mut found = None;
    for component in path {
        if component.parse::<usize>().is_ok() {
            continue; // a sequence index: no key text to find
        }
        let at = (from..lines.len()).find(|&i| mentions_key(lines[i], component))?;
        found = Some(at + 1);
        from = at;
    }
    found
}

fn mentions_key(line: &str, key: &str) -> bool {
    if key.is_empty() {
        return false; // an empty key is found everywhere and nowhere
    }
    let line = line.split('#').next().unwrap_or("");
    let bytes = line.as_bytes();
    let mut start = 0;
    while let Some(offset) = line[start..].find(key) {
        let i = start + offset;
        let before = if i == 0 { b' ' } else { bytes[i - 1] };
        let rest = line[i + key.len()..].trim_start();
        let boundary_before = matches!(
            before,
            b' ' | b'\t' | b'{' | b',' | b'[' | b'.' | b'"' | b'\'' | b'-'
        );
        let rest = rest.strip_prefix(['"', '\'']).unwrap_or(rest).trim_start();
        let key_end = rest.starts_with(':')
            || rest.starts_with('=')
            || rest.starts_with('.')
            || rest.starts_with(']');
        if boundary_before && key_end {
            return true;
        }
        start = i + key.len();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| k.to_string()).collect()
    }

    #[test]
    fn finds_nested_yaml_keys() {
        let text = "instances:\n  VI_1:\n    interface: eth0\n    priority: 300\n  VI_2:\n    priority: 5\n";
        assert_eq!(
            line_of(text, &path(&["instances", "VI_1", "priority"])),
            Some(4)
        );
        assert_eq!(
            line_of(text, &path(&["instances", "VI_2", "priority"])),
            Some(6)
        );
        assert_eq!(line_of(text, &path(&["instances", "VI_3"])), None);
    }

    #[test]
    fn finds_yaml_flow_mappings() {
        let text = "instances:\n  VI_1:\n    authentication: { auth_type: XYZ, auth_pass: a }\n";
        assert_eq!(
            line_of(
                text,
                &path(&["instances", "VI_1", "authentication", "auth_type"])
            ),
            Some(3)
        );
    }

    #[test]
    fn finds_toml_keys_under_table_headers() {
        let text = "[instances.VI_1]\ninterface = \"eth0\"\n\n[instances.VI_2]\npriority = 7\n";
        assert_eq!(
            line_of(text, &path(&["instances", "VI_2", "priority"])),
            Some(5)
        );
        assert_eq!(
            line_of(text, &path(&["instances", "VI_1", "interface"])),
            Some(2)
        );
    }

    #[test]
    fn an_empty_key_is_not_found() {
        assert_eq!(line_of("a: 1\n", &path(&[""])), None);
    }

    #[test]
    fn a_key_inside_a_value_or_comment_is_not_a_key() {
        let text = "a:\n  note: priority is high # priority: 1\n  priority: 2\n";
        assert_eq!(line_of(text, &path(&["a", "priority"])), Some(3));
    }
}

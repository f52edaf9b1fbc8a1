//! keepalived.conf's syntax, read into a tree of keyword lines with
//! positions. It knows nothing of what the keywords mean: the mapping
//! (mapping.rs) does.
//!
//! The grammar is keepalived 2.2's (keepalived.conf(5), and lib/parser.c
//! for what the page leaves out):
//!
//! - `!` and `#` start a comment outside double quotes; `\#` and `\!`
//!   stand for the characters (parser.c `decomment`).
//! - `@ID line` is kept only when ID is the config id, `@^ID line` only
//!   when it is not (parser.c `read_line`).
//! - `$NAME=VALUE` defines a parameter, continued over lines ending in
//!   `\`; `$NAME` (followed by white space or the end) and `${NAME}` are
//!   replaced, recursively, at use; an undefined name stays as written.
//! - `~SEQ(var, start, step, end) rest` repeats `rest` with `$var` set to
//!   each value; `~SEQx` writes the value in hexadecimal; `~LST(var, v1,
//!   v2)` and `~LST({a, b}, {1, 2}, {3, 4})` take the values from a list.
//! - `include PATTERN` (and includer/m/w/b/a) reads the files the glob
//!   matches, brace expressions included, relative to the including
//!   file's directory.
//! - `{` and `}` are split off a line (outside quotes) so that a block
//!   may open on the keyword's line or the next, and close anywhere.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Where a line came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub file: PathBuf,
    pub line: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// One keyword line, with the block that follows it if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The keyword first, then its arguments, quotes removed.
    pub words: Vec<String>,
    pub block: Option<Vec<Node>>,
    pub at: Position,
}

impl Node {
    pub fn keyword(&self) -> &str {
        &self.words[0]
    }

    pub fn args(&self) -> &[String] {
        &self.words[1..]
    }
}

/// A syntax error: keepalived refuses the file too.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{}{message}", at.as_ref().map(|p| format!("{p}: ")).unwrap_or_default())]
pub struct ReadError {
    pub at: Option<Position>,
    pub message: String,
}

/// What reading gives: the tree, and things to tell the user that do not
/// stop the file being used.
#[derive(Debug, Default)]
pub struct Read {
    pub nodes: Vec<Node>,
    pub warnings: Vec<ReadError>,
}

/// How deep includes and parameter replacement may go before the file is
/// taken to loop (keepalived stops at its open-file limit).
const MAX_DEPTH: usize = 64;

/// Reads `path` and everything it includes. `config_id` decides `@ID` lines.
pub fn read(path: &Path, config_id: &str) -> Result<Read, Vec<ReadError>> {
    let mut lexer = Lexer {
        config_id: config_id.to_string(),
        definitions: HashMap::new(),
        open_definition: None,
        lines: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    lexer.file(path, &mut Vec::new(), None);
    let Lexer {
        lines,
        mut errors,
        warnings,
        ..
    } = lexer;
    let mut lines = lines.into_iter().peekable();
    let nodes = tree(&mut lines, None, &mut errors);
    if errors.is_empty() {
        Ok(Read { nodes, warnings })
    } else {
        Err(errors)
    }
}

/// A logical line: words, or a lone `{` or `}`.
#[derive(Debug)]
enum Line {
    Words(Vec<String>, Position),
    Open(Position),
    Close(Position),
}

struct Lexer {
    config_id: String,
    definitions: HashMap<String, String>,
    /// A multi-line `$NAME=` still taking lines.
    open_definition: Option<String>,
    lines: Vec<Line>,
    errors: Vec<ReadError>,
    warnings: Vec<ReadError>,
}

impl Lexer {
    fn error(&mut self, at: &Position, message: impl Into<String>) {
        self.errors.push(ReadError {
            at: Some(at.clone()),
            message: message.into(),
        });
    }

    /// `chain` holds the files being read, outermost first, to find loops.
    fn file(&mut self, path: &Path, chain: &mut Vec<PathBuf>, from: Option<&Position>) {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if chain.contains(&canonical) {
            let names: Vec<String> = chain
                .iter()
                .chain([&canonical])
                .map(|p| p.display().to_string())
                .collect();
            self.errors.push(ReadError {
                at: from.cloned(),
                message: format!("include loop: {}", names.join(" -> ")),
            });
            return;
        }
        if chain.len() >= MAX_DEPTH {
            self.errors.push(ReadError {
                at: from.cloned(),
                message: format!("includes nest deeper than {MAX_DEPTH} files"),
            });
            return;
        }
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(error) => {
                self.errors.push(ReadError {
                    at: from.cloned(),
                    message: format!("cannot read {}: {error}", path.display()),
                });
                return;
            }
        };
        chain.push(canonical);
        for (index, raw) in text.lines().enumerate() {
            let at = Position {
                file: path.to_path_buf(),
                line: index + 1,
            };
            self.raw_line(raw, &at, chain);
        }
        chain.pop();
        // A definition still open at the end of its file ends there.
        self.open_definition = None;
    }

    fn raw_line(&mut self, raw: &str, at: &Position, chain: &mut Vec<PathBuf>) {
        let (text, continued) = match decomment(raw) {
            Ok(decommented) => decommented,
            Err(message) => {
                self.error(at, message);
                return;
            }
        };
        if let Some(name) = self.open_definition.clone() {
            let value = self.definitions.entry(name).or_default();
            if !text.is_empty() {
                if !value.is_empty() {
                    value.push('\n');
                }
                value.push_str(&text);
            }
            if !continued {
                self.open_definition = None;
            }
            return;
        }
        self.line(&text, continued, at, chain, 0);
    }

    /// A decommented line: conditions, definitions, sequences,
    /// replacement, includes, then words.
    fn line(
        &mut self,
        text: &str,
        continued: bool,
        at: &Position,
        chain: &mut Vec<PathBuf>,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            self.error(at, "parameters replace each other without end");
            return;
        }
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let Some(text) = self.conditional(text) else {
            return;
        };
        if let Some((name, value)) = definition(text) {
            self.definitions.insert(name.to_string(), value.to_string());
            if continued {
                self.open_definition = Some(name.to_string());
            }
            return;
        }
        if let Some(rest) = text.strip_prefix("~SEQ") {
            self.sequence(rest, at, chain, depth);
            return;
        }
        if let Some(rest) = text.strip_prefix("~LST") {
            self.list(rest, at, chain, depth);
            return;
        }
        if text.contains('$') {
            let replaced = self.replace(text, at);
            if replaced != text {
                for part in replaced.lines() {
                    match decomment(part) {
                        Ok((part, more)) => self.line(&part, more, at, chain, depth + 1),
                        Err(message) => self.error(at, message),
                    }
                }
                return;
            }
        }
        if let Some(pattern) = include_pattern(text) {
            self.include(pattern, at, chain);
            return;
        }
        if continued {
            // A `\` ends only definitions; elsewhere keepalived keeps it.
            self.words(&format!("{text}\\"), at);
        } else {
            self.words(text, at);
        }
    }

    /// `@ID rest` / `@^ID rest`: the rest if the line is for this host.
    fn conditional<'t>(&self, text: &'t str) -> Option<&'t str> {
        let Some(condition) = text.strip_prefix('@') else {
            return Some(text);
        };
        let (negated, condition) = match condition.strip_prefix('^') {
            Some(c) => (true, c),
            None => (false, condition),
        };
        let (id, rest) = condition.split_once([' ', '\t'])?;
        ((id == self.config_id) != negated).then_some(rest.trim_start())
    }

    /// `(var, start, step, end) rest` after `~SEQ` (parser.c `add_seq`).
    fn sequence(&mut self, spec: &str, at: &Position, chain: &mut Vec<PathBuf>, depth: usize) {
        let (hex, spec) = match spec.strip_prefix('x') {
            Some(s) => (true, s),
            None => (false, spec),
        };
        let parsed = spec
            .strip_prefix('(')
            .and_then(|s| s.split_once(')'))
            .and_then(|(inside, rest)| Some((sequence_values(inside)?, rest)));
        let Some(((var, values), rest)) = parsed else {
            self.error(
                at,
                format!("~SEQ: expected ~SEQ(VAR, [START,] [STEP,] END) TEXT, got \"~SEQ{spec}\""),
            );
            return;
        };
        if values.len() > 100_000 {
            self.error(at, "~SEQ: more than 100000 values");
            return;
        }
        for value in values {
            let value = if hex {
                format!("{value:x}")
            } else {
                value.to_string()
            };
            self.definitions.insert(var.clone(), value);
            self.line(rest, false, at, chain, depth + 1);
        }
    }

    /// `(var, v1, v2) rest` or `({a, b}, {1, 2}, {3, 4}) rest` after
    /// `~LST` (keepalived.conf(5), List blocks).
    fn list(&mut self, spec: &str, at: &Position, chain: &mut Vec<PathBuf>, depth: usize) {
        let parsed = spec
            .strip_prefix('(')
            .and_then(|s| s.split_once(')'))
            .and_then(|(inside, rest)| Some((list_values(inside)?, rest)));
        let Some(((vars, rows), rest)) = parsed else {
            self.error(
                at,
                format!("~LST: expected ~LST(VAR, VALUE, ...) or ~LST({{VAR, VAR}}, {{VALUE, VALUE}}, ...) TEXT, got \"~LST{spec}\""),
            );
            return;
        };
        for row in rows {
            for (var, value) in vars.iter().zip(row) {
                self.definitions.insert(var.clone(), value);
            }
            self.line(rest, false, at, chain, depth + 1);
        }
    }

    /// Replaces defined `$NAME` and `${NAME}` once, left to right
    /// (parser.c `replace_param`); `line` repeats until nothing changes.
    fn replace(&mut self, text: &str, at: &Position) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(dollar) = rest.find('$') {
            out.push_str(&rest[..dollar]);
            let after = &rest[dollar + 1..];
            let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
                match braced.find('}') {
                    Some(end) => (&braced[..end], end + 2),
                    None => ("", 0),
                }
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                let followed_ok = after[end..]
                    .chars()
                    .next()
                    .is_none_or(|c| c.is_whitespace());
                if followed_ok {
                    (&after[..end], end)
                } else {
                    ("", 0)
                }
            };
            match (consumed > 0).then(|| self.value_of(name, at)).flatten() {
                Some(value) => {
                    out.push_str(&value);
                    rest = &after[consumed..];
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// A defined parameter, or one of keepalived's predefined ones.
    fn value_of(&mut self, name: &str, at: &Position) -> Option<String> {
        if let Some(value) = self.definitions.get(name) {
            return Some(value.clone());
        }
        let (name, argument) = match name.split_once(' ') {
            Some((n, a)) => (n, Some(a.trim())),
            None => (name, None),
        };
        match (name, argument) {
            ("_PWD", None) => Some(
                at.file
                    .parent()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default(),
            ),
            ("_INSTANCE", None) => Some(self.config_id.clone()),
            ("_HASH", None) => Some("\\#".into()),
            ("_BANG", None) => Some("\\!".into()),
            ("_ENV", Some(variable)) => Some(std::env::var(variable).unwrap_or_default()),
            ("_RANDOM", _) => {
                self.warnings.push(ReadError {
                    at: Some(at.clone()),
                    message: "${_RANDOM} is read as its minimum: a configuration should read the same every time".into(),
                });
                let min = argument
                    .and_then(|a| a.split_whitespace().next())
                    .unwrap_or("0");
                Some(min.to_string())
            }
            _ => None,
        }
    }

    fn include(&mut self, (kind, pattern): (&str, &str), at: &Position, chain: &mut Vec<PathBuf>) {
        let directory = at.file.parent().unwrap_or(Path::new("."));
        let mut matches = Vec::new();
        for alternative in expand_braces(pattern.trim()) {
            let full = if Path::new(&alternative).is_absolute() {
                PathBuf::from(&alternative)
            } else {
                directory.join(&alternative)
            };
            let Some(full_text) = full.to_str() else {
                continue;
            };
            match glob::glob(full_text) {
                Ok(paths) => matches.extend(paths.flatten()),
                Err(error) => {
                    self.error(at, format!("{kind}: bad pattern {alternative:?}: {error}"));
                    return;
                }
            }
        }
        if matches.is_empty() {
            // keepalived: the plain include and includer tolerate nothing
            // matching; the stricter variants report it (parser.c
            // open_and_check_glob).
            let message = format!("{kind} {pattern}: no file matches");
            if kind == "include" || kind == "includer" {
                self.warnings.push(ReadError {
                    at: Some(at.clone()),
                    message,
                });
            } else {
                self.error(at, message);
            }
            return;
        }
        matches.sort();
        matches.dedup();
        for file in matches {
            self.file(&file, chain, Some(at));
        }
    }

    /// Splits braces off and words apart (parser.c `read_line`,
    /// `alloc_strvec`).
    fn words(&mut self, text: &str, at: &Position) {
        let mut words = Vec::new();
        let mut word = String::new();
        let mut in_word = false;
        let mut quote: Option<char> = None;
        let mut chars = text.chars().peekable();
        let flush = |words: &mut Vec<String>, word: &mut String, in_word: &mut bool| {
            if *in_word {
                words.push(std::mem::take(word));
                *in_word = false;
            }
        };
        while let Some(c) = chars.next() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), '\\') => {
                    // keepalived keeps escapes for the keyword to read;
                    // only an escaped quote must not end the string.
                    word.push('\\');
                    if let Some(next) = chars.next() {
                        word.push(next);
                    }
                }
                (Some(_), c) => word.push(c),
                (None, '"' | '\'') => {
                    quote = Some(c);
                    in_word = true;
                }
                (None, '{' | '}') => {
                    flush(&mut words, &mut word, &mut in_word);
                    if !words.is_empty() {
                        self.lines
                            .push(Line::Words(std::mem::take(&mut words), at.clone()));
                    }
                    self.lines.push(if c == '{' {
                        Line::Open(at.clone())
                    } else {
                        Line::Close(at.clone())
                    });
                }
                (None, c) if c.is_whitespace() => flush(&mut words, &mut word, &mut in_word),
                (None, c) => {
                    word.push(c);
                    in_word = true;
                }
            }
        }
        if quote.is_some() {
            self.error(at, format!("unterminated quote in {text:?}"));
            return;
        }
        flush(&mut words, &mut word, &mut in_word);
        if !words.is_empty() {
            self.lines.push(Line::Words(words, at.clone()));
        }
    }
}

/// Removes a comment and the leading and trailing blanks; says whether the
/// line ended in a `\` (a definition that goes on). `\#` and `\!` outside
/// double quotes become `#` and `!` (parser.c `decomment`).
fn decomment(raw: &str) -> Result<(String, bool), String> {
    let mut out = String::with_capacity(raw.len());
    let mut in_quote = false;
    let mut continued = false;
    let mut chars = raw.trim_start().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_quote = !in_quote;
                out.push(c);
            }
            '\\' => match chars.next() {
                None => {
                    continued = true;
                    break;
                }
                Some(next @ ('#' | '!')) if !in_quote => out.push(next),
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
            },
            '#' | '!' if !in_quote => break,
            c => out.push(c),
        }
    }
    if in_quote {
        return Err(format!("unterminated quote in {:?}", raw.trim()));
    }
    let trimmed = out.trim_end();
    Ok((trimmed.to_string(), continued))
}

/// `$NAME=VALUE`: a name of letters, digits and `_`, not starting with a
/// digit, and no space before the `=`.
fn definition(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix('$')?;
    let (name, value) = rest.split_once('=')?;
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some((name, value.trim()))
}

/// `include PATTERN` and its variants: the keyword and the pattern.
fn include_pattern(text: &str) -> Option<(&str, &str)> {
    let (keyword, rest) = text.split_once([' ', '\t'])?;
    matches!(
        keyword,
        "include" | "includer" | "includem" | "includew" | "includeb" | "includea"
    )
    .then_some((keyword, rest.trim()))
}

/// The variable and its values from `VAR, [START,] [STEP,] END`
/// (keepalived.conf(5), Sequence blocks): decimal, or hexadecimal with
/// 0x, for ~SEQ and ~SEQx alike (only the output differs).
fn sequence_values(inside: &str) -> Option<(String, Vec<i64>)> {
    let parts: Vec<&str> = inside.split(',').map(str::trim).collect();
    let var = parts.first()?.to_string();
    if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let number = |text: &str| -> Option<i64> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, text),
        };
        let value = match digits.strip_prefix("0x").or(digits.strip_prefix("0X")) {
            Some(h) => i64::from_str_radix(h, 16).ok()?,
            None => digits.parse().ok()?,
        };
        Some(if negative { -value } else { value })
    };
    let numbers: Vec<i64> = parts[1..]
        .iter()
        .map(|p| number(p))
        .collect::<Option<_>>()?;
    let (start, step, end) = match numbers[..] {
        [end] => (if end >= 0 { 1 } else { -1 }, None, end),
        [start, end] => (start, None, end),
        [start, step, end] => (start, Some(step), end),
        _ => return None,
    };
    let step = step.unwrap_or(if end >= start { 1 } else { -1 });
    if step == 0 {
        return None;
    }
    let mut values = Vec::new();
    let mut value = start;
    while (step > 0 && value <= end) || (step < 0 && value >= end) {
        values.push(value);
        if values.len() > 100_000 {
            break;
        }
        value += step;
    }
    Some((var, values))
}

/// The variables and rows of values of a ~LST: the first item names the
/// variables (one, or several in braces), each further item is a row.
fn list_values(inside: &str) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inside.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(inside[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(inside[start..].trim());
    let group = |item: &str| -> Vec<String> {
        match item.strip_prefix('{').and_then(|i| i.strip_suffix('}')) {
            Some(inner) => inner.split(',').map(|v| v.trim().to_string()).collect(),
            None => vec![item.to_string()],
        }
    };
    let (first, values) = items.split_first()?;
    let vars = group(first);
    let valid =
        |v: &String| !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if values.is_empty() || !vars.iter().all(valid) {
        return None;
    }
    let rows: Vec<Vec<String>> = values.iter().map(|v| group(v)).collect();
    rows.iter()
        .all(|r| r.len() == vars.len())
        .then_some((vars, rows))
}

/// csh-style `{a,b}` alternatives, nested, as glob(3) with GLOB_BRACE.
fn expand_braces(pattern: &str) -> Vec<String> {
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_string()];
    };
    let mut depth = 0;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, c) in pattern[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(open + i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pattern.to_string()];
    };
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    let mut bounds = vec![open];
    bounds.extend(&commas);
    bounds.push(close);
    let mut out = Vec::new();
    for pair in bounds.windows(2) {
        let alternative = &pattern[pair[0] + 1..pair[1]];
        out.extend(expand_braces(&format!("{head}{alternative}{tail}")));
    }
    out
}

/// Lines into nodes: a `{` opens a block for the line before it.
fn tree(
    lines: &mut std::iter::Peekable<std::vec::IntoIter<Line>>,
    opened_at: Option<&Position>,
    errors: &mut Vec<ReadError>,
) -> Vec<Node> {
    let mut nodes: Vec<Node> = Vec::new();
    while let Some(line) = lines.next() {
        match line {
            Line::Words(words, at) => nodes.push(Node {
                words,
                block: None,
                at,
            }),
            Line::Open(at) => {
                let block = tree(lines, Some(&at), errors);
                match nodes.last_mut() {
                    Some(node) if node.block.is_none() => node.block = Some(block),
                    _ => errors.push(ReadError {
                        at: Some(at),
                        message: "'{' with no keyword before it".into(),
                    }),
                }
            }
            Line::Close(at) => {
                if opened_at.is_some() {
                    return nodes;
                }
                errors.push(ReadError {
                    at: Some(at),
                    message: "extra '}'".into(),
                });
            }
        }
    }
    if let Some(at) = opened_at {
        errors.push(ReadError {
            at: Some(at.clone()),
            message: "this '{' is never closed: a '}' is missing".into(),
        });
    }
    nodes
}

#[cfg(test)]
mod tests;

//! keepalived.conf's syntax, read into a tree of keyword lines with
//! positions. It knows nothing of what the keywords mean: the mapping
//! (mapping.rs) does, and tells it which keywords open a block.
//!
//! The grammar is keepalived 2.2's (keepalived.conf(5), and lib/parser.c
//! for what the page leaves out):
//!
//! - `!` and `#` start a comment outside double quotes; `\#` and `\!`
//!   stand for the characters (parser.c `decomment`).
//! - `@ID line` is kept only when ID is the config id, `@^ID line` only
//!   when it is not (parser.c `read_line`).
//! - `$NAME=VALUE` defines a parameter, continued over lines ending in
//!   `\`; `$NAME` (followed by white space, `,`, `)` or the end) and
//!   `${NAME}` are replaced, recursively, at use; an undefined name stays
//!   as written.
//! - `~SEQ(var, start, step, end) rest` repeats `rest` with `$var` set to
//!   each value; `~SEQx` writes the value in hexadecimal; `~LST(var, v1,
//!   v2)` and `~LST({a, b}, {1, 2}, {3, 4})` take the values from a list.
//! - `include PATTERN` (and includer/m/w/b/a) reads the files the glob
//!   matches, brace expressions included, relative to the including
//!   file's directory.
//! - `{` and `}` are split off a line (outside quotes). Whether a `{`
//!   opens a block is the keyword's business, as in keepalived's
//!   `process_stream`: a block keyword opens one even when its `{` is
//!   missing, and a `{` after any other keyword is ignored, so its `}`
//!   ends the block around it.
//!
//! keepalived runs files with most syntax problems, saying what it skipped:
//! those are warnings here. It refuses to start on a file it cannot read
//! and on the strict include variants' problems: those are errors.

use std::collections::HashMap;
use std::fmt;
use std::io::Read as _;
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

/// A problem with a position: an error (keepalived refuses the file too,
/// or a limit of the reader was reached) or a warning.
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

/// Whether a keyword line opens a block (keepalived's keyword table
/// decides, parser.c `process_stream`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opens {
    /// A section or list keyword: the lines that follow are its block,
    /// `{` or not ("Missing '{' at beginning of configuration block").
    Always,
    /// A keyword keepalived skips with its block, if a `{` follows.
    IfBraceFollows,
    /// Any other keyword: a `{` after it is ignored ("Unexpected '{' -
    /// ignoring"), and the `}` that matched it ends the enclosing block.
    Never,
}

/// Which keywords open blocks: given the keywords of the enclosing
/// blocks, outermost first, and the keyword.
pub type Blocks<'b> = &'b dyn Fn(&[&str], &str) -> Opens;

/// Any keyword opens a block if a `{` follows it: the shape of the file
/// as written, for tests and tools that know no keywords.
pub fn as_written(_: &[&str], _: &str) -> Opens {
    Opens::IfBraceFollows
}

/// Bounds on the work of one read, however the file multiplies itself.
/// keepalived has none of its own: it expands `~SEQ` and `~LST` line by
/// line as it reads (parser.c `read_line`), stops a `$NAME` replacement
/// that would pass its 1024-byte line buffer (MAXBUF, parser.c
/// `replace_param`: "would exceed maximum line length"), and neither
/// counts nor checks includes: a file that includes itself nests until
/// fopen fails at the open-file limit (2.2.7, measured here: with 20,000
/// descriptors, 5,400 opens in 8 s and VRRP not yet started).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Logical lines: each line of a file, each line a `~SEQ`, `~LST` or
    /// multi-line parameter makes, and each brace split off a line.
    /// 1,000,000 is 20 times a configuration of 1,000 instances of 50
    /// lines; at the limit vipd check takes 0.4 s and 160 MB (release).
    pub lines: usize,
    /// Files opened, each include of a file counted again: 10,000 is
    /// ten times keepalived's usual open-file limit (1,024), which is what
    /// bounds its include nesting.
    pub file_opens: usize,
    /// Bytes read from files, all of them together.
    pub input_bytes: usize,
    /// Bytes that `$NAME` replacement writes, all lines together: 64
    /// bytes for each of `lines`.
    pub replaced_bytes: usize,
    /// Nested includes, and replacements and sequences inside one line.
    pub depth: usize,
    /// Nested blocks; keepalived's deepest (an LVS checker's `url`) is 5.
    pub block_depth: usize,
    /// Patterns one `include` makes from its braces.
    pub patterns: usize,
    /// Errors, and warnings, kept before the rest are summed up.
    pub problems: usize,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        lines: 1_000_000,
        file_opens: 10_000,
        input_bytes: 64 << 20,
        replaced_bytes: 64 << 20,
        depth: 64,
        block_depth: 64,
        patterns: 10_000,
        problems: 100,
    };
}

/// Reads `path` and everything it includes, with `blocks` saying which
/// keywords open blocks. `config_id` decides `@ID` lines.
pub fn read(path: &Path, config_id: &str, blocks: Blocks) -> Result<Read, Vec<ReadError>> {
    read_limited(path, config_id, blocks, &Limits::DEFAULT)
}

/// `read`, within `limits`.
pub fn read_limited(
    path: &Path,
    config_id: &str,
    blocks: Blocks,
    limits: &Limits,
) -> Result<Read, Vec<ReadError>> {
    let mut lexer = Lexer {
        config_id: config_id.to_string(),
        limits: *limits,
        definitions: HashMap::new(),
        open_definition: None,
        lines: Vec::new(),
        problems: Problems::new(limits.problems),
        used: Used::default(),
        expanding: None,
    };
    lexer.file(path, &mut Vec::new(), None, Checks::TOP, 0);
    let Lexer {
        lines,
        mut problems,
        limits,
        ..
    } = lexer;
    let nodes = if problems.stopped {
        Vec::new()
    } else {
        Tree {
            blocks,
            limits: &limits,
            problems: &mut problems,
        }
        .build(lines)
    };
    let (errors, warnings) = problems.finish();
    if errors.is_empty() {
        Ok(Read { nodes, warnings })
    } else {
        Err(errors)
    }
}

/// Errors and warnings, each list bounded: past the bound, an error
/// stops reading and warnings are counted.
struct Problems {
    bound: usize,
    errors: Vec<ReadError>,
    warnings: Vec<ReadError>,
    warnings_left_out: usize,
    /// Reading stopped: a limit was reached.
    stopped: bool,
}

impl Problems {
    fn new(bound: usize) -> Problems {
        Problems {
            bound,
            errors: Vec::new(),
            warnings: Vec::new(),
            warnings_left_out: 0,
            stopped: false,
        }
    }

    fn error(&mut self, at: Option<&Position>, message: impl Into<String>) {
        if self.stopped {
            return;
        }
        self.errors.push(ReadError {
            at: at.cloned(),
            message: message.into(),
        });
        if self.errors.len() >= self.bound {
            self.stop(
                at,
                format!("{} errors: reading stops here", self.errors.len()),
            );
        }
    }

    /// An error after which nothing more is read.
    fn stop(&mut self, at: Option<&Position>, message: impl Into<String>) {
        if self.stopped {
            return;
        }
        self.errors.push(ReadError {
            at: at.cloned(),
            message: message.into(),
        });
        self.stopped = true;
    }

    fn warn(&mut self, at: Option<&Position>, message: impl Into<String>) {
        if self.warnings.len() < self.bound {
            self.warnings.push(ReadError {
                at: at.cloned(),
                message: message.into(),
            });
        } else {
            self.warnings_left_out += 1;
        }
    }

    fn finish(mut self) -> (Vec<ReadError>, Vec<ReadError>) {
        if self.warnings_left_out > 0 {
            let at = self.warnings.last().and_then(|w| w.at.clone());
            self.warnings.push(ReadError {
                at,
                message: format!(
                    "and {} more warnings like these, not shown",
                    self.warnings_left_out
                ),
            });
        }
        (self.errors, self.warnings)
    }
}

/// What one read has used of its limits.
#[derive(Default)]
struct Used {
    lines: usize,
    file_opens: usize,
    input_bytes: usize,
    replaced_bytes: usize,
}

/// A logical line: words, or a lone `{` or `}`.
#[derive(Debug)]
enum Line {
    Words(Vec<String>, Position),
    Open(Position),
    Close(Position),
}

/// The problems an include variant refuses; keepalived logs the others
/// and skips the file (parser.c `check_include`, `file_config_error`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Checks {
    /// A match that is not a readable regular non-executable file
    /// (INCLUDE_R).
    read: bool,
    /// A named file or a directory in the pattern that is not there
    /// (INCLUDE_M).
    missing: bool,
    /// A wildcard that matches nothing (INCLUDE_W).
    wildcard: bool,
    /// A brace alternative that is not there (INCLUDE_B).
    brace: bool,
}

impl Checks {
    /// The main file: keepalived opens it as includer, includem and
    /// includew together (parser.c `init_data`), and exits on any problem.
    const TOP: Checks = Checks {
        read: true,
        missing: true,
        wildcard: true,
        brace: false,
    };

    fn of(kind: &str) -> Checks {
        let (read, missing, wildcard, brace) = match kind {
            "includer" => (true, false, false, false),
            "includem" => (true, true, false, false),
            "includew" => (true, true, true, false),
            "includeb" => (true, false, false, true),
            "includea" => (true, true, true, true),
            _ => (false, false, false, false),
        };
        Checks {
            read,
            missing,
            wildcard,
            brace,
        }
    }
}

/// Which of `Checks` a problem falls under.
#[derive(Clone, Copy)]
enum IncludeProblem {
    Read,
    Missing,
    Wildcard,
    Brace,
}

impl Checks {
    fn refuses(self, problem: IncludeProblem) -> bool {
        match problem {
            IncludeProblem::Read => self.read,
            IncludeProblem::Missing => self.missing,
            IncludeProblem::Wildcard => self.wildcard,
            IncludeProblem::Brace => self.brace,
        }
    }
}

struct Lexer {
    config_id: String,
    limits: Limits,
    definitions: HashMap<String, String>,
    /// A multi-line `$NAME=` still taking lines.
    open_definition: Option<String>,
    lines: Vec<Line>,
    problems: Problems,
    used: Used,
    /// The construct that multiplies the current line, for the message
    /// when the line limit is reached.
    expanding: Option<&'static str>,
}

impl Lexer {
    fn stopped(&self) -> bool {
        self.problems.stopped
    }

    fn error(&mut self, at: &Position, message: impl Into<String>) {
        self.problems.error(Some(at), message);
    }

    fn warn(&mut self, at: &Position, message: impl Into<String>) {
        self.problems.warn(Some(at), message);
    }

    /// Counts one logical line; false once the limit is passed.
    fn count_line(&mut self, at: &Position) -> bool {
        if self.stopped() {
            return false;
        }
        self.used.lines += 1;
        if self.used.lines > self.limits.lines {
            let message = match self.expanding {
                Some(what) => format!(
                    "{what} expands the configuration to more than {} lines (the reader's limit)",
                    self.limits.lines
                ),
                None => format!(
                    "the configuration has more than {} lines (the reader's limit)",
                    self.limits.lines
                ),
            };
            self.problems.stop(Some(at), message);
            return false;
        }
        true
    }

    /// Runs `body` with `what` named as the construct that multiplies
    /// lines, unless an outer one already is.
    fn expanding(&mut self, what: &'static str, body: impl FnOnce(&mut Lexer)) {
        let outer = self.expanding;
        self.expanding = outer.or(Some(what));
        body(self);
        self.expanding = outer;
    }

    /// `chain` holds the files being read, outermost first, to find loops;
    /// `depth` counts the includes and expansions around this file.
    fn file(
        &mut self,
        path: &Path,
        chain: &mut Vec<PathBuf>,
        from: Option<&Position>,
        checks: Checks,
        depth: usize,
    ) {
        if self.stopped() {
            return;
        }
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if chain.contains(&canonical) {
            let names: Vec<String> = chain
                .iter()
                .chain([&canonical])
                .map(|p| p.display().to_string())
                .collect();
            // keepalived has no loop check: it opens the files in turn
            // until it runs out of file descriptors, logs "open problem
            // (Too many open files) - skipping" for this include, and reads
            // on; what it read again is skipped as already defined. Under
            // systemd's 1,024 descriptors that is ~500 opens and a second
            // (2.2.7, measured); vipd skips the include at once.
            self.problems.warn(
                from,
                format!(
                    "include loop: {}: skipped, as keepalived skips it once it runs out of open files",
                    names.join(" -> ")
                ),
            );
            return;
        }
        if depth >= self.limits.depth {
            self.problems.stop(
                from,
                format!(
                    "includes nest deeper than {} files (the reader's limit)",
                    self.limits.depth
                ),
            );
            return;
        }
        let Some(text) = self.load(path, from, checks) else {
            return;
        };
        chain.push(canonical);
        for (index, raw) in text.lines().enumerate() {
            if self.stopped() {
                break;
            }
            let at = Position {
                file: path.to_path_buf(),
                line: index + 1,
            };
            self.raw_line(raw, &at, chain, depth);
        }
        chain.pop();
        // A definition still open at the end of its file ends there.
        self.open_definition = None;
    }

    /// A file's text, if it is one keepalived reads (parser.c
    /// `check_glob_file`, `open_conf_file`): a readable regular file
    /// that is not executable. Otherwise a problem, and `None`.
    fn load(&mut self, path: &Path, from: Option<&Position>, checks: Checks) -> Option<String> {
        self.used.file_opens += 1;
        if self.used.file_opens > self.limits.file_opens {
            self.problems.stop(
                from,
                format!(
                    "includes open more than {} files (the reader's limit)",
                    self.limits.file_opens
                ),
            );
            return None;
        }
        let name = path.display();
        let unusable = match std::fs::metadata(path) {
            Err(error) => Some(format!("cannot read {name}: {error}")),
            Ok(m) if m.is_dir() => Some(format!("{name} is a directory")),
            Ok(m) if !m.is_file() => Some(format!("{name} is not a regular file")),
            Ok(m) if std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0 => {
                Some(format!(
                    "{name} is executable, and keepalived reads no executable file"
                ))
            }
            Ok(_) => None,
        };
        if let Some(message) = unusable {
            self.include_problem(from, checks, IncludeProblem::Read, message, "skipped");
            return None;
        }
        let room = self.limits.input_bytes - self.used.input_bytes;
        let mut bytes = Vec::new();
        let read =
            std::fs::File::open(path).and_then(|f| f.take(room as u64 + 1).read_to_end(&mut bytes));
        if let Err(error) = read {
            self.include_problem(
                from,
                checks,
                IncludeProblem::Read,
                format!("cannot read {name}: {error}"),
                "skipped",
            );
            return None;
        }
        if bytes.len() > room {
            self.problems.stop(
                from,
                format!(
                    "{name}: the files read come to more than {} MiB (the reader's limit)",
                    self.limits.input_bytes >> 20
                ),
            );
            return None;
        }
        self.used.input_bytes += bytes.len();
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// An include problem: an error if this include variant refuses it
    /// (keepalived then refuses to start), else a warning saying what
    /// happens instead, as keepalived logs it and goes on.
    fn include_problem(
        &mut self,
        at: Option<&Position>,
        checks: Checks,
        problem: IncludeProblem,
        message: String,
        instead: &str,
    ) {
        if checks.refuses(problem) || at.is_none() {
            self.problems.error(at, message);
        } else {
            self.problems
                .warn(at, format!("{message}: {instead}, as keepalived does"));
        }
    }

    fn raw_line(&mut self, raw: &str, at: &Position, chain: &mut Vec<PathBuf>, depth: usize) {
        let (text, continued) = decomment(raw);
        if let Some(name) = self.open_definition.clone() {
            if !self.count_line(at) {
                return;
            }
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
        self.line(&text, continued, at, chain, depth);
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
        // Counted before anything else: a line that makes nothing still
        // costs a turn of every loop around it.
        if !self.count_line(at) {
            return;
        }
        if depth > self.limits.depth {
            self.problems.stop(
                Some(at),
                format!(
                    "parameters, sequences and includes nest more than {} levels deep (the reader's limit): does a parameter contain itself?",
                    self.limits.depth
                ),
            );
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
            self.expanding("~SEQ", |lexer| lexer.sequence(rest, at, chain, depth));
            return;
        }
        if let Some(rest) = text.strip_prefix("~LST") {
            self.expanding("~LST", |lexer| lexer.list(rest, at, chain, depth));
            return;
        }
        if text.contains('$') {
            let Some(replaced) = self.replace(text, at) else {
                return;
            };
            if replaced != text {
                self.expanding("$NAME replacement", |lexer| {
                    for part in replaced.lines() {
                        if lexer.stopped() {
                            break;
                        }
                        let (part, more) = decomment(part);
                        lexer.line(&part, more, at, chain, depth + 1);
                    }
                });
                return;
            }
        }
        if let Some(pattern) = include_pattern(text) {
            self.include(pattern, at, chain, depth);
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
    /// A malformed one is skipped with a warning, as keepalived does.
    fn sequence(&mut self, spec: &str, at: &Position, chain: &mut Vec<PathBuf>, depth: usize) {
        let (hex, spec) = match spec.strip_prefix('x') {
            Some(s) => (true, s),
            None => (false, spec),
        };
        let parsed = spec
            .trim_start()
            .strip_prefix('(')
            .and_then(|s| s.split_once(')'))
            .and_then(|(inside, rest)| Some((Sequence::parse(inside)?, rest)));
        let Some((sequence, rest)) = parsed else {
            self.warn(
                at,
                format!("~SEQ: expected ~SEQ(VAR, [START,] [STEP,] END) TEXT, got \"~SEQ{spec}\"; the line is skipped, as keepalived does"),
            );
            return;
        };
        if hex && (sequence.start < 0 || sequence.end < 0) {
            self.warn(
                at,
                "~SEQx: expected numbers of 0 or more; the line is skipped, as keepalived does",
            );
            return;
        }
        for value in sequence.values() {
            if self.stopped() {
                break;
            }
            let value = if hex {
                format!("{value:x}")
            } else {
                value.to_string()
            };
            self.definitions.insert(sequence.var.clone(), value);
            self.line(rest, false, at, chain, depth + 1);
        }
    }

    /// `(var, v1, v2) rest` or `({a, b}, {1, 2}, {3, 4}) rest` after
    /// `~LST` (keepalived.conf(5), List blocks).
    fn list(&mut self, spec: &str, at: &Position, chain: &mut Vec<PathBuf>, depth: usize) {
        let parsed = spec
            .trim_start()
            .strip_prefix('(')
            .and_then(|s| s.split_once(')'))
            .and_then(|(inside, rest)| Some((list_values(inside)?, rest)));
        let Some(((vars, rows), rest)) = parsed else {
            self.warn(
                at,
                format!("~LST: expected ~LST(VAR, VALUE, ...) or ~LST({{VAR, VAR}}, {{VALUE, VALUE}}, ...) TEXT, got \"~LST{spec}\"; the line is skipped, as keepalived does"),
            );
            return;
        };
        for row in rows {
            if self.stopped() {
                break;
            }
            for (var, value) in vars.iter().zip(row) {
                self.definitions.insert(var.clone(), value);
            }
            self.line(rest, false, at, chain, depth + 1);
        }
    }

    /// Replaces defined `$NAME` and `${NAME}` once, left to right
    /// (parser.c `replace_param`); `line` repeats until nothing changes.
    /// `None` when the replacement limit is reached.
    fn replace(&mut self, text: &str, at: &Position) -> Option<String> {
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
                // parser.c find_definition: the name ends at white space,
                // ',', ')' or the end of the line.
                let followed_ok = after[end..]
                    .chars()
                    .next()
                    .is_none_or(|c| c.is_whitespace() || c == ',' || c == ')');
                if followed_ok {
                    (&after[..end], end)
                } else {
                    ("", 0)
                }
            };
            match (consumed > 0).then(|| self.value_of(name, at)).flatten() {
                Some(value) => {
                    self.used.replaced_bytes += value.len();
                    if self.used.replaced_bytes > self.limits.replaced_bytes {
                        let what = self.expanding.unwrap_or("$NAME replacement");
                        self.problems.stop(
                            Some(at),
                            format!(
                                "{what} writes more than {} MiB (the reader's limit)",
                                self.limits.replaced_bytes >> 20
                            ),
                        );
                        return None;
                    }
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
        Some(out)
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
                self.warn(
                    at,
                    "${_RANDOM} is read as its minimum: a configuration should read the same every time",
                );
                let min = argument
                    .and_then(|a| a.split_whitespace().next())
                    .unwrap_or("0");
                Some(min.to_string())
            }
            _ => None,
        }
    }

    /// `include PATTERN` and its variants, with keepalived's rules for
    /// what is missing (parser.c `open_and_check_glob`): a named file or a
    /// pattern's directory that is not there is INCLUDE_M (INCLUDE_B when
    /// the pattern has braces), a wildcard that matches nothing is
    /// INCLUDE_W, some brace alternatives missing is INCLUDE_B.
    fn include(
        &mut self,
        (kind, pattern): (&str, &str),
        at: &Position,
        chain: &mut Vec<PathBuf>,
        depth: usize,
    ) {
        let checks = Checks::of(kind);
        let directory = at.file.parent().unwrap_or(Path::new("."));
        let Some(alternatives) = expand_braces(pattern, self.limits.patterns) else {
            self.problems.stop(
                Some(at),
                format!(
                    "{kind} {pattern}: its braces make more than {} patterns (the reader's limit)",
                    self.limits.patterns
                ),
            );
            return;
        };
        let braces = alternatives.len() > 1 || pattern.contains('{');
        let (mut matches, mut missing) = (Vec::new(), 0);
        for alternative in alternatives {
            // glob(3) reads `**` as `*`; the glob crate would descend
            // into every directory below.
            let alternative = collapse_stars(&alternative);
            let full = directory.join(&alternative);
            let Some(full_text) = full.to_str() else {
                missing += 1;
                continue;
            };
            if !alternative.contains(['*', '?', '[']) {
                match std::fs::symlink_metadata(&full) {
                    Ok(_) => matches.push(full),
                    Err(_) => missing += 1,
                }
                continue;
            }
            let options = glob::MatchOptions {
                case_sensitive: true,
                require_literal_separator: true,
                require_literal_leading_dot: true,
            };
            let found = match glob::glob_with(full_text, options) {
                Ok(paths) => paths
                    .flatten()
                    .take(self.limits.file_opens + 1)
                    .collect::<Vec<_>>(),
                Err(error) => {
                    self.warn(
                        at,
                        format!("{kind}: bad pattern {alternative:?}: {error}; skipped, as keepalived does"),
                    );
                    continue;
                }
            };
            if found.is_empty() && !literal_directory(&full).is_dir() {
                missing += 1;
            }
            matches.extend(found);
        }
        if matches.is_empty() {
            let problem = if missing > 0 && braces {
                IncludeProblem::Brace
            } else if missing > 0 {
                IncludeProblem::Missing
            } else {
                IncludeProblem::Wildcard
            };
            let message = format!("{kind} {pattern}: no file matches");
            if checks.refuses(problem) {
                self.error(at, message);
            } else {
                self.warn(at, message);
            }
            return;
        }
        if missing > 0 {
            self.include_problem(
                Some(at),
                checks,
                IncludeProblem::Brace,
                format!("{kind} {pattern}: some of its files are missing"),
                "the others are read",
            );
            if checks.brace {
                return;
            }
        }
        for file in matches {
            if self.stopped() {
                break;
            }
            self.file(&file, chain, Some(at), checks, depth + 1);
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
        let mut pieces = 0;
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
                    // Each piece split off a line is one more line.
                    if pieces > 0 && !self.count_line(at) {
                        return;
                    }
                    pieces += 1;
                    if !words.is_empty() {
                        self.lines
                            .push(Line::Words(std::mem::take(&mut words), at.clone()));
                        if !self.count_line(at) {
                            return;
                        }
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
            // keepalived (parser.c alloc_strvec_r) logs it and drops the
            // words from the quote on: most keywords are then left
            // without their value, and it exits.
            self.error(at, format!("unterminated quote in {text:?}"));
            return;
        }
        flush(&mut words, &mut word, &mut in_word);
        if !words.is_empty() {
            if pieces > 0 && !self.count_line(at) {
                return;
            }
            self.lines.push(Line::Words(words, at.clone()));
        }
    }
}

/// Removes a comment and the leading and trailing blanks; says whether the
/// line ended in a `\` (a definition that goes on). `\#` and `\!` outside
/// double quotes become `#` and `!` (parser.c `decomment`). A quote left
/// open is the word splitter's to report.
fn decomment(raw: &str) -> (String, bool) {
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
    let trimmed = out.trim_end();
    (trimmed.to_string(), continued)
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

/// A `~SEQ`'s variable and range (keepalived.conf(5), Sequence blocks).
#[derive(Debug, PartialEq, Eq)]
struct Sequence {
    var: String,
    start: i64,
    step: i64,
    end: i64,
}

impl Sequence {
    /// `VAR, [START,] [STEP,] END`, numbers as strtol reads them with base
    /// 0 (parser.c `add_seq`): decimal, 0x hexadecimal, 0 octal.
    fn parse(inside: &str) -> Option<Sequence> {
        let parts: Vec<&str> = inside.split(',').map(str::trim).collect();
        let var = parts.first()?.to_string();
        if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let numbers: Vec<i64> = parts[1..]
            .iter()
            .map(|p| strtol(p))
            .collect::<Option<_>>()?;
        let (start, step, end) = match numbers[..] {
            [end] => (
                if end < 0 { -1 } else { 1 },
                if end < 1 { -1 } else { 1 },
                end,
            ),
            [start, end] => (start, if start <= end { 1 } else { -1 }, end),
            [start, step, end] => {
                if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
                    return None;
                }
                (start, step, end)
            }
            _ => return None,
        };
        Some(Sequence {
            var,
            start,
            step,
            end,
        })
    }

    /// The values, lazily: the caller's line limit bounds how many are
    /// taken, and the arithmetic never overflows.
    fn values(&self) -> impl Iterator<Item = i64> {
        let (step, end) = (self.step, self.end);
        std::iter::successors(Some(self.start), move |value| value.checked_add(step)).take_while(
            move |value| {
                if step > 0 {
                    *value <= end
                } else {
                    *value >= end
                }
            },
        )
    }
}

/// A whole word as C's strtol with base 0 reads it.
fn strtol(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let value = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i64::from_str_radix(hex, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()?
    };
    Some(if negative { -value } else { value })
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

/// csh-style `{a,b}` alternatives, nested, as glob(3) with GLOB_BRACE, in
/// order; `None` if they would be more than `limit`. Worked through a
/// list rather than by recursion, so that a pattern of many braces
/// cannot exhaust the stack.
fn expand_braces(pattern: &str, limit: usize) -> Option<Vec<String>> {
    let mut pending = vec![pattern.to_string()];
    let mut out = Vec::new();
    // Every step removes one brace group from one pattern, so the bytes
    // written bound the work: a pattern of n groups costs n copies.
    let mut budget = limit.saturating_mul(pattern.len().max(64));
    while let Some(pattern) = pending.pop() {
        let Some((head, alternatives, tail)) = first_brace_group(&pattern) else {
            out.push(pattern);
            if out.len() > limit {
                return None;
            }
            continue;
        };
        // Pushed in reverse so that they come off the list in order.
        for alternative in alternatives.iter().rev() {
            let next = format!("{head}{alternative}{tail}");
            budget = budget.checked_sub(next.len())?;
            pending.push(next);
        }
        if pending.len() + out.len() > limit {
            return None;
        }
    }
    Some(out)
}

/// The text before the first complete `{...}`, its alternatives (split at
/// its top-level commas), and the text after it.
fn first_brace_group(pattern: &str) -> Option<(&str, Vec<&str>, &str)> {
    let open = pattern.find('{')?;
    let mut depth = 0;
    let mut bounds = vec![open];
    for (i, c) in pattern[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    bounds.push(open + i);
                    let alternatives = bounds
                        .windows(2)
                        .map(|pair| &pattern[pair[0] + 1..pair[1]])
                        .collect();
                    return Some((&pattern[..open], alternatives, &pattern[open + i + 1..]));
                }
            }
            ',' if depth == 1 => bounds.push(open + i),
            _ => {}
        }
    }
    None
}

/// Runs of `*` as one: glob(3) matches them alike.
fn collapse_stars(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        if !(c == '*' && out.ends_with('*')) {
            out.push(c);
        }
    }
    out
}

/// The directory a pattern starts from: its components before the first
/// that has a wildcard.
fn literal_directory(pattern: &Path) -> PathBuf {
    pattern
        .components()
        .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
        .collect()
}

/// Logical lines into nodes, the way keepalived's parser nests them.
struct Tree<'t> {
    blocks: Blocks<'t>,
    limits: &'t Limits,
    problems: &'t mut Problems,
}

/// A block being filled: the node that owns it (none at the top).
struct Frame {
    owner: Option<Node>,
    children: Vec<Node>,
}

impl Tree<'_> {
    fn build(self, lines: Vec<Line>) -> Vec<Node> {
        let mut stack = vec![Frame {
            owner: None,
            children: Vec::new(),
        }];
        let mut lines = lines.into_iter().peekable();
        // The keyword of the line just read, if it opened no block.
        let mut last_leaf: Option<String> = None;
        while let Some(line) = lines.next() {
            let leaf = last_leaf.take();
            match line {
                Line::Words(words, at) => {
                    let path: Vec<&str> = stack
                        .iter()
                        .filter_map(|f| f.owner.as_ref().map(|o| o.words[0].as_str()))
                        .collect();
                    let opens = (self.blocks)(&path, &words[0]);
                    let brace_follows = matches!(lines.peek(), Some(Line::Open(_)));
                    let node = Node {
                        words,
                        block: None,
                        at,
                    };
                    let opened = match opens {
                        Opens::Always => {
                            if !brace_follows {
                                self.problems.warn(
                                    Some(&node.at),
                                    format!(
                                        "{}: expected '{{' after it; keepalived reads the lines that follow as its block",
                                        node.words[0]
                                    ),
                                );
                            }
                            true
                        }
                        Opens::IfBraceFollows => brace_follows,
                        Opens::Never => false,
                    };
                    if !opened {
                        last_leaf = Some(node.words[0].clone());
                        stack.last_mut().unwrap().children.push(node);
                        continue;
                    }
                    if brace_follows {
                        lines.next();
                    }
                    if stack.len() > self.limits.block_depth {
                        self.problems.stop(
                            Some(&node.at),
                            format!(
                                "blocks nest deeper than {} (the reader's limit)",
                                self.limits.block_depth
                            ),
                        );
                        return Vec::new();
                    }
                    stack.push(Frame {
                        owner: Some(node),
                        children: Vec::new(),
                    });
                }
                Line::Open(at) => {
                    let after = leaf.map(|k| format!(" after {k}")).unwrap_or_default();
                    self.problems.warn(
                        Some(&at),
                        format!(
                            "'{{'{after} ignored: keepalived opens no block here, so the '}}' that matches it ends the block around it"
                        ),
                    );
                }
                Line::Close(at) => {
                    if stack.len() > 1 {
                        close(&mut stack);
                    } else {
                        self.problems
                            .warn(Some(&at), "extra '}' ignored, as keepalived ignores it");
                    }
                }
            }
        }
        while stack.len() > 1 {
            let owner = stack.last().and_then(|f| f.owner.as_ref()).unwrap();
            self.problems.warn(
                Some(&owner.at),
                format!(
                    "{}: its '{{' is never closed; keepalived ends the block at the end of the file",
                    owner.words[0]
                ),
            );
            close(&mut stack);
        }
        stack.pop().map(|f| f.children).unwrap_or_default()
    }
}

/// Ends the innermost block, giving it to its owner.
fn close(stack: &mut Vec<Frame>) {
    let frame = stack.pop().unwrap();
    let mut owner = frame.owner.unwrap();
    owner.block = Some(frame.children);
    stack.last_mut().unwrap().children.push(owner);
}

#[cfg(test)]
mod tests;

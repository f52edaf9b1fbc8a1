use super::*;

use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory per test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "vipd-reader-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Reads a file with braces nesting as written.
fn read_plain(path: &Path, id: &str) -> Result<Read, Vec<ReadError>> {
    read(path, id, &as_written)
}

fn read_text(text: &str, id: &str) -> Result<Read, Vec<ReadError>> {
    let scratch = Scratch::new();
    let path = scratch.file("keepalived.conf", text);
    read_plain(&path, id)
}

/// Each node as `words [block]`, lines given, for compact assertions.
fn shape(nodes: &[Node]) -> String {
    nodes
        .iter()
        .map(|n| {
            let mut s = format!("{}@{}", n.words.join(" "), n.at.line);
            if let Some(block) = &n.block {
                s.push_str(&format!(" {{{}}}", shape(block)));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn ok(text: &str) -> String {
    shape(&read_text(text, "a").unwrap().nodes)
}

fn errors(text: &str) -> Vec<String> {
    read_text(text, "a")
        .unwrap_err()
        .into_iter()
        .map(|e| e.message)
        .collect()
}

#[test]
fn braces_on_the_keyword_line_or_the_next_or_one_line() {
    let same_line = "vrrp_instance VI_1 {\n  priority 100\n}\n";
    let next_line = "vrrp_instance VI_1\n{\n  priority 100\n}\n";
    assert_eq!(ok(same_line), "vrrp_instance VI_1@1 {priority 100@2}");
    assert_eq!(ok(next_line), "vrrp_instance VI_1@1 {priority 100@3}");
    assert_eq!(
        ok("virtual_ipaddress { 192.0.2.1 192.0.2.2 }\n"),
        "virtual_ipaddress@1 {192.0.2.1 192.0.2.2@1}"
    );
    assert_eq!(ok("a {\n b { c }\n d }\n"), "a@1 {b@2 {c@2}; d@3}");
}

#[test]
fn comments_outside_quotes_only_and_escapes() {
    assert_eq!(
        ok("priority 100 # the master\nstate BACKUP ! note\n! whole line\n# also\n"),
        "priority 100@1; state BACKUP@2"
    );
    assert_eq!(
        ok("notify \"/bin/echo # not a comment\" # a comment\n"),
        "notify /bin/echo # not a comment@1"
    );
    assert_eq!(ok("word a\\#b c\\!d\n"), "word a#b c!d@1");
}

#[test]
fn quotes_keep_spaces_and_join_words() {
    let read = read_text("notify_master \"/bin/a b\" 'c d'e\n", "x").unwrap();
    assert_eq!(read.nodes[0].words, ["notify_master", "/bin/a b", "c de"]);
    assert_eq!(
        errors("notify \"unterminated\n"),
        ["unterminated quote in \"notify \\\"unterminated\""]
    );
}

/// keepalived runs files with unbalanced braces (measured with 2.2.7:
/// "There are 1 missing '}'s", "Extra '}' found"): warnings with lines.
#[test]
fn unbalanced_braces_are_warnings_with_positions() {
    let missing = read_text("vrrp_instance VI_1 {\n priority 1\n", "a").unwrap();
    assert_eq!(shape(&missing.nodes), "vrrp_instance VI_1@1 {priority 1@2}");
    assert_eq!(missing.warnings.len(), 1);
    assert_eq!(missing.warnings[0].at.as_ref().unwrap().line, 1);
    assert!(
        missing.warnings[0].message.contains("never closed"),
        "{:?}",
        missing.warnings
    );
    let extra = read_text("a {\n}\n}\n", "a").unwrap();
    assert_eq!(extra.warnings[0].at.as_ref().unwrap().line, 3);
    assert!(extra.warnings[0].message.starts_with("extra '}' ignored"));
}

/// Whether a `{` opens a block is the keyword's business, as in
/// keepalived's process_stream.
#[test]
fn keywords_decide_which_braces_open_blocks() {
    let blocks = |path: &[&str], keyword: &str| match (path, keyword) {
        ([], "section") => Opens::Always,
        (["section"], "list") => Opens::Always,
        _ => Opens::Never,
    };
    let scratch = Scratch::new();
    let read_with = |text: &str| {
        let path = scratch.file("k.conf", text);
        read(&path, "a", &blocks).unwrap()
    };
    // A `{` after a keyword that takes none is ignored, and the `}` that
    // matched it ends the section: what follows is read at the top.
    let stray = read_with("section {\n  a {\n    b 1\n  }\n  c 2\n}\n");
    assert_eq!(shape(&stray.nodes), "section@1 {a@2; b 1@3}; c 2@5");
    let messages: Vec<&str> = stray.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(
        messages[0].starts_with("'{' after a ignored"),
        "{messages:?}"
    );
    assert!(messages[1].starts_with("extra '}' ignored"), "{messages:?}");
    // A section keyword opens its block without a `{`, with a warning.
    let open = read_with("section\n  list {\n    x\n  }\n}\n");
    assert_eq!(shape(&open.nodes), "section@1 {list@2 {x@3}}");
    assert!(open.warnings[0].message.contains("expected '{' after it"));
    assert_eq!(open.warnings[0].at.as_ref().unwrap().line, 1);
}

#[test]
fn conditional_lines_follow_the_config_id() {
    let text = "@main router_id main_router\n@backup router_id backup_router\n@^main peer 1\n@^backup peer 2\n";
    assert_eq!(
        shape(&read_text(text, "main").unwrap().nodes),
        "router_id main_router@1; peer 2@4"
    );
    assert_eq!(
        shape(&read_text(text, "backup").unwrap().nodes),
        "router_id backup_router@2; peer 1@3"
    );
    assert_eq!(
        shape(&read_text(text, "other").unwrap().nodes),
        "peer 1@3; peer 2@4"
    );
}

#[test]
fn parameters_are_replaced_at_use_recursively() {
    // The example of keepalived.conf(5), Parameter substitution.
    let text = "$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}\n$ADDRESS_BASE_SUB=0\n${ADDRESS_BASE}.100/32\n$ADDRESS_BASE_SUB=10\n${ADDRESS_BASE}.100/32\n";
    assert_eq!(ok(text), "10.2.0.100/32@3; 10.2.10.100/32@5");
    assert_eq!(ok("$P=240\npriority $P\n"), "priority 240@2");
    // Not followed by white space, and undefined: left as written.
    assert_eq!(ok("$P=240\nx $Pa $Q\n"), "x $Pa $Q@2");
    assert_eq!(ok("$IF_MAIN=@a\n$IF_MAIN priority 240\n"), "priority 240@2");
    assert_eq!(ok("x ${_HASH}1\n"), "x #1@1");
}

#[test]
fn multi_line_parameters_expand_into_blocks() {
    let text = "$INSTANCE= \\\nvrrp_instance VI_${NUM} { \\\n  @a priority 130 \\\n  @b priority 120 \\\n}\n$NUM=0\n$INSTANCE\n$NUM=1\n$INSTANCE\n";
    assert_eq!(
        ok(text),
        "vrrp_instance VI_0@7 {priority 130@7}; vrrp_instance VI_1@9 {priority 130@9}"
    );
}

#[test]
fn a_parameter_defined_by_itself_is_an_error_not_a_hang() {
    let problems = errors("$A=${A}x\ny $A\n");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with(
            "parameters, sequences and includes nest more than 64 levels deep (the reader's limit)"
        ),
        "{problems:?}"
    );
}

#[test]
fn sequences_repeat_the_rest_of_the_line() {
    assert_eq!(
        ok("~SEQ(SUBNET, 0, 3) ip 10.0.${SUBNET}.1\n"),
        "ip 10.0.0.1@1; ip 10.0.1.1@1; ip 10.0.2.1@1; ip 10.0.3.1@1"
    );
    assert_eq!(
        ok("~SEQx(S, 0x90, 0x10, 0xc0) fe80::${S}:1\n"),
        "fe80::90:1@1; fe80::a0:1@1; fe80::b0:1@1; fe80::c0:1@1"
    );
    assert_eq!(ok("~SEQ(N, 3) n$N\n"), "n1@1; n2@1; n3@1");
    assert_eq!(ok("~SEQ(N, 3, 1) n$N\n"), "n3@1; n2@1; n1@1");
    assert_eq!(
        ok("~SEQ(A, 1, 2) ~SEQ(B, 1, 2) x${A}${B}\n"),
        "x11@1; x12@1; x21@1; x22@1"
    );
    // keepalived logs a malformed one and skips the line.
    let bad = read_text("~SEQ(N, 1, 0, 3) n$N\nx 1\n", "a").unwrap();
    assert_eq!(shape(&bad.nodes), "x 1@2");
    assert!(bad.warnings[0].message.starts_with(
        "~SEQ: expected ~SEQ(VAR, [START,] [STEP,] END) TEXT, got \"~SEQ(N, 1, 0, 3) n$N\""
    ));
    // Numbers as strtol reads them, base 0: 010 is octal.
    assert_eq!(ok("~SEQ(N, 010, 0x9) n$N\n"), "n8@1; n9@1");
    assert_eq!(
        read_text("~SEQ(N, 3, 1, 1) n$N\n", "a")
            .unwrap()
            .warnings
            .len(),
        1,
        "a step that runs away from the end"
    );
}

/// The arithmetic of a sequence at the edge of i64 stops at the edge.
#[test]
fn a_sequence_at_the_end_of_the_numbers_does_not_overflow() {
    assert_eq!(
        ok("~SEQ(N, 9223372036854775806, 1, 9223372036854775807) n$N\n"),
        "n9223372036854775806@1; n9223372036854775807@1"
    );
    assert_eq!(
        ok("~SEQ(N, -9223372036854775807, -5, -9223372036854775807) n$N\n"),
        "n-9223372036854775807@1"
    );
}

#[test]
fn lists_set_one_or_several_variables_and_nest_with_sequences() {
    // The examples of keepalived.conf(5), List blocks.
    assert_eq!(
        ok("~LST({IP, IP1}, {10,1},{20,4},{5,6},{12,8}) 192.168.${IP}.${IP1}\n"),
        "192.168.10.1@1; 192.168.20.4@1; 192.168.5.6@1; 192.168.12.8@1"
    );
    assert_eq!(
        ok("~LST(IP, 1, 2) ~LST(IP1, 5,6) 192.169.${IP}.${IP1}\n"),
        "192.169.1.5@1; 192.169.1.6@1; 192.169.2.5@1; 192.169.2.6@1"
    );
    assert_eq!(
        ok("~LST({IP, IP1}, {10,1},{20,4}) ~SEQ(IP2,168,2,170) 192.${IP2}.${IP}.${IP1}\n"),
        "192.168.10.1@1; 192.170.10.1@1; 192.168.20.4@1; 192.170.20.4@1"
    );
    for bad in ["~LST({A, B}, {1}) x\n", "~LST(A) x\n"] {
        let read = read_text(bad, "a").unwrap();
        assert!(read.nodes.is_empty());
        assert!(
            read.warnings[0].message.starts_with("~LST: expected"),
            "{bad}"
        );
    }
}

#[test]
fn includes_are_relative_to_the_including_file_and_globbed() {
    let scratch = Scratch::new();
    scratch.file("conf.d/b.conf", "b 1\ninclude ../more/c.conf\n");
    scratch.file("conf.d/a.conf", "a 1\n");
    scratch.file("more/c.conf", "c 1\n");
    scratch.file("more/d.conf", "d 1\n");
    let main = scratch.file(
        "main.conf",
        "x 0\ninclude conf.d/*.conf\ninclude more/{d,e}.conf\ny 0\n",
    );
    let read = read_plain(&main, "id").unwrap();
    assert_eq!(
        shape(&read.nodes),
        "x 0@1; a 1@1; b 1@1; c 1@1; d 1@1; y 0@4"
    );
    assert!(read.nodes[2].at.file.ends_with("conf.d/b.conf"));
    // keepalived 2.2.7 logs "Some config files missing" for more/e.conf.
    assert_eq!(read.warnings.len(), 1, "{:?}", read.warnings);
    assert!(read.warnings[0]
        .message
        .ends_with("some of its files are missing: the others are read, as keepalived does"));
}

/// keepalived runs an include loop once it runs out of file descriptors
/// (it skips the include that fails and reads on): vipd skips it at once.
#[test]
fn an_include_loop_is_skipped_with_a_warning_naming_the_chain() {
    let scratch = Scratch::new();
    scratch.file("b.conf", "b 1\ninclude c.conf\n");
    scratch.file("c.conf", "include a.conf\nc 1\n");
    let a = scratch.file("a.conf", "include b.conf\na 1\n");
    let read = read_plain(&a, "id").unwrap();
    assert_eq!(shape(&read.nodes), "b 1@1; c 1@2; a 1@2");
    assert_eq!(read.warnings.len(), 1, "{:?}", read.warnings);
    let message = &read.warnings[0].message;
    assert!(message.starts_with("include loop: "), "{message}");
    let chain: Vec<&str> = message["include loop: ".len()..]
        .split(": skipped")
        .next()
        .unwrap()
        .split(" -> ")
        .collect();
    let names: Vec<&str> = chain
        .iter()
        .map(|p| Path::new(p).file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(names, ["a.conf", "b.conf", "c.conf", "a.conf"]);
    assert_eq!(read.warnings[0].at.as_ref().unwrap().line, 1);
    assert!(read.warnings[0]
        .at
        .as_ref()
        .unwrap()
        .file
        .ends_with("c.conf"));
}

#[test]
fn a_missing_include_warns_for_include_and_fails_for_includea() {
    let read = read_text("include nothing/*.conf\nx 1\n", "id").unwrap();
    assert_eq!(shape(&read.nodes), "x 1@2");
    assert_eq!(read.warnings.len(), 1);
    assert_eq!(
        errors("includea nothing.conf\n"),
        ["includea nothing.conf: no file matches"]
    );
}

#[test]
fn brace_expansion_nests() {
    assert_eq!(
        expand_braces("{foo/{,cat,dog},bar}", 100).unwrap(),
        ["foo/", "foo/cat", "foo/dog", "bar"]
    );
    assert_eq!(expand_braces("plain", 100).unwrap(), ["plain"]);
    assert_eq!(
        expand_braces("{a,b}{c,d}", 4).unwrap(),
        ["ac", "ad", "bc", "bd"]
    );
    assert_eq!(expand_braces("{a,b}{c,d}", 3), None);
    // Many groups of one alternative: no recursion to run out of stack.
    let deep = "{a}".repeat(100_000);
    assert_eq!(
        expand_braces(&deep, 10_000),
        None,
        "bounded by the bytes written"
    );
}

/// glob(3) reads `**` as `*`: only one directory down, not every one.
#[test]
fn a_double_star_is_one_directory_as_glob_3_reads_it() {
    let scratch = Scratch::new();
    scratch.file("conf.d/one/x.conf", "one 1\n");
    scratch.file("conf.d/one/two/x.conf", "two 2\n");
    let main = scratch.file("main.conf", "include conf.d/**/x.conf\n");
    assert_eq!(shape(&read_plain(&main, "id").unwrap().nodes), "one 1@1");
}

/// Brace alternatives are read in the order written, each one's matches
/// sorted (glob(3) with GLOB_BRACE), as keepalived reads them.
#[test]
fn brace_alternatives_are_read_in_the_order_written() {
    let scratch = Scratch::new();
    scratch.file("a.conf", "a 1\n");
    scratch.file("b.conf", "b 1\n");
    let main = scratch.file("main.conf", "include {b,a}.conf\n");
    assert_eq!(
        shape(&read_plain(&main, "id").unwrap().nodes),
        "b 1@1; a 1@1"
    );
}

/// keepalived's include variants (parser.c check_include): plain
/// `include` logs every problem and goes on; the others refuse to start
/// on theirs.
#[test]
fn include_variants_refuse_what_keepalived_refuses() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new();
    std::fs::create_dir_all(scratch.0.join("empty")).unwrap();
    scratch.file("here.conf", "here 1\n");
    let script = scratch.file("script.conf", "script 1\n");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let verdict = |line: &str| -> Result<String, String> {
        let main = scratch.file("main.conf", &format!("{line}\nx 1\n"));
        match read_plain(&main, "id") {
            Ok(read) => Ok(format!("{} [{}]", shape(&read.nodes), read.warnings.len())),
            Err(errors) => Err(errors[0].message.clone()),
        }
    };
    // A wildcard that matches nothing: only includew and includea mind.
    assert_eq!(verdict("includem empty/*.conf"), Ok("x 1@2 [1]".into()));
    assert!(verdict("includew empty/*.conf").is_err());
    // A named file that is not there: includem minds (keepalived 2.2.7
    // exits with "Config files missing"), includer does not.
    assert_eq!(verdict("includer nothere.conf"), Ok("x 1@2 [1]".into()));
    assert!(verdict("includem nothere.conf")
        .unwrap_err()
        .contains("no file matches"));
    // Some brace alternatives missing: includeb skips the include.
    assert_eq!(
        verdict("include {here,gone}.conf"),
        Ok("here 1@1; x 1@2 [1]".into())
    );
    assert!(verdict("includeb {here,gone}.conf").is_err());
    // keepalived reads no executable and no directory: include skips
    // them, includer refuses.
    assert_eq!(verdict("include script.conf"), Ok("x 1@2 [1]".into()));
    assert!(verdict("includer script.conf")
        .unwrap_err()
        .contains("executable"));
    assert_eq!(verdict("include empty"), Ok("x 1@2 [1]".into()));
}

/// A read of `path` on another thread, failed if it takes longer than
/// a minute: a runaway on the old code fails the test instead of hanging
/// it. The bounds make the new code return in well under a second.
fn read_within_a_minute(path: &Path) -> Result<Read, Vec<ReadError>> {
    read_limited_within_a_minute(path, Limits::DEFAULT)
}

/// `read_within_a_minute` with other limits: smaller ones keep a test
/// fast where the default would only take longer the same way.
fn read_limited_within_a_minute(path: &Path, limits: Limits) -> Result<Read, Vec<ReadError>> {
    let (done, result) = std::sync::mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = done.send(read_limited(&path, "id", &as_written, &limits));
    });
    result
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the read ran away: no answer within a minute")
}

/// The one error a runaway read gives: at `file`:`line`, naming the limit.
fn the_limit(result: Result<Read, Vec<ReadError>>, file: &str, line: usize, limit: &str) -> String {
    let errors = match result {
        Ok(read) => panic!("read {} nodes without an error", read.nodes.len()),
        Err(errors) => errors,
    };
    assert_eq!(errors.len(), 1, "one error, not many: {errors:?}");
    let error = &errors[0];
    let at = error.at.as_ref().expect("a position");
    assert!(at.file.ends_with(file), "{error}");
    assert_eq!(at.line, line, "{error}");
    assert!(
        error.message.contains(limit) && error.message.contains("(the reader's limit)"),
        "{error}"
    );
    error.message.clone()
}

/// Three nested sequences are 10^15 lines; the old per-~SEQ cap of
/// 100,000 let them run out of memory.
#[test]
fn nested_sequences_stop_at_the_line_limit() {
    let scratch = Scratch::new();
    let path = scratch.file(
        "keepalived.conf",
        "x 0\n~SEQ(A, 1, 100000) ~SEQ(B, 1, 100000) ~SEQ(C, 1, 100000) x $A $B $C\n",
    );
    let message = the_limit(
        read_within_a_minute(&path),
        "keepalived.conf",
        2,
        "1000000 lines",
    );
    assert!(
        message.starts_with("~SEQ expands the configuration"),
        "{message}"
    );
}

/// A sequence whose line is a parameter that holds another sequence.
#[test]
fn a_sequence_nested_through_a_parameter_stops_at_the_line_limit() {
    let scratch = Scratch::new();
    let path = scratch.file(
        "keepalived.conf",
        "$INNER=~SEQ(B, 1, 100000) ~SEQ(C, 1, 100000) y $B $C\n~SEQ(A, 1, 100000) $INNER\n",
    );
    let limits = Limits {
        lines: 100_000,
        ..Limits::DEFAULT
    };
    the_limit(
        read_limited_within_a_minute(&path, limits),
        "keepalived.conf",
        2,
        "100000 lines",
    );
}

/// `$B=$A $A`, `$C=$B $B`, ...: each doubles, 2^40 words at the end.
/// (With the default 64 MiB it stops the same way, in 12 s of a debug
/// build and 0.5 s of a release one.)
#[test]
fn doubling_parameters_stop_at_the_replacement_limit() {
    let mut text = String::from("$P0=xxxxxxxx\n");
    for i in 1..=40 {
        text.push_str(&format!("$P{i}=$P{} $P{}\n", i - 1, i - 1));
    }
    text.push_str("words $P40\n");
    let scratch = Scratch::new();
    let path = scratch.file("keepalived.conf", &text);
    let limits = Limits {
        replaced_bytes: 1 << 20,
        ..Limits::DEFAULT
    };
    let message = the_limit(
        read_limited_within_a_minute(&path, limits),
        "keepalived.conf",
        42,
        "1 MiB",
    );
    assert!(
        message.starts_with("$NAME replacement writes more than"),
        "{message}"
    );
}

/// A chain of 20 files, each including the next twice: 2^20 opens (21 s
/// and a success on the old code).
#[test]
fn includes_that_double_stop_at_the_open_limit() {
    let scratch = Scratch::new();
    for i in 0..20 {
        scratch.file(
            &format!("f{i}.conf"),
            &format!("include f{n}.conf\ninclude f{n}.conf\n", n = i + 1),
        );
    }
    scratch.file("f20.conf", "leaf 1\n");
    let main = scratch.file("main.conf", "include f0.conf\n");
    let message = the_limit(read_within_a_minute(&main), "f18.conf", 1, "10000 files");
    assert!(message.starts_with("includes open more than"), "{message}");
}

/// Braces that make a million patterns, all one file.
#[test]
fn include_braces_stop_at_the_pattern_limit() {
    let scratch = Scratch::new();
    scratch.file("a.conf", "a 1\n");
    let pattern = format!("a{}.conf", "{,}".repeat(20));
    let main = scratch.file("main.conf", &format!("include {pattern}\n"));
    the_limit(
        read_within_a_minute(&main),
        "main.conf",
        1,
        "10000 patterns",
    );
}

/// The same mistake a hundred thousand times is a hundred errors and a
/// stop, not a hundred thousand errors.
#[test]
fn repeated_errors_stop_reading() {
    let scratch = Scratch::new();
    let path = scratch.file(
        "keepalived.conf",
        "~SEQ(N, 1, 100000) includem nothere$N.conf\n",
    );
    let errors = read_within_a_minute(&path).unwrap_err();
    assert_eq!(
        errors.len(),
        Limits::DEFAULT.problems + 1,
        "{:?}",
        errors.last()
    );
    assert_eq!(
        errors.last().unwrap().message,
        "100 errors: reading stops here"
    );
}

/// A hundred thousand nested blocks: an error, not a stack overflow.
#[test]
fn deep_blocks_stop_at_the_nesting_limit() {
    let scratch = Scratch::new();
    let path = scratch.file("keepalived.conf", &"a {\n".repeat(100_000));
    the_limit(
        read_within_a_minute(&path),
        "keepalived.conf",
        65,
        "blocks nest deeper than 64",
    );
}

/// Files larger, together, than the input limit.
#[test]
fn large_files_stop_at_the_input_limit() {
    let scratch = Scratch::new();
    scratch.file("big.conf", &"x 1\n".repeat(1000));
    let main = scratch.file("main.conf", "include big.conf\ninclude big.conf\n");
    let limits = Limits {
        input_bytes: 6000,
        ..Limits::DEFAULT
    };
    let errors = read_limited(&main, "id", &as_written, &limits).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].at.as_ref().unwrap().line, 2);
    assert!(errors[0]
        .message
        .contains("the files read come to more than"));
}

/// Warnings past the bound are counted in one line.
#[test]
fn warnings_past_the_bound_are_summed_up() {
    let read = read_text("~SEQ(N, 1, 1000) }\n", "a").unwrap();
    assert_eq!(read.warnings.len(), Limits::DEFAULT.problems + 1);
    assert_eq!(
        read.warnings.last().unwrap().message,
        "and 900 more warnings like these, not shown"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// No text makes the reader or the mapping panic or hang: it reads, or
    /// it says why not.
    #[test]
    fn any_text_is_read_or_refused(text in "[ \t\n{}\"'#!\\\\$@~^a-zA-Z0-9_(),.=/:-]{0,300}") {
        let scratch = Scratch::new();
        let path = scratch.file("fuzz.conf", &text);
        if let Ok(read) = read(&path, "a", &crate::config::keepalived::mapping::blocks) {
            let _ = crate::config::keepalived::mapping::map(&read.nodes);
        }
    }

    /// Keepalived-shaped text, with the constructs that expand.
    #[test]
    fn constructs_expand_without_panic(
        parts in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just("vrrp_instance VI_1 {".to_string()),
                proptest::strategy::Just("}".to_string()),
                proptest::strategy::Just("$A=x ${B} $A".to_string()),
                proptest::strategy::Just("$B= \\".to_string()),
                proptest::strategy::Just("~SEQ(N, 1, 3) priority $N".to_string()),
                proptest::strategy::Just("@a virtual_router_id 1".to_string()),
                proptest::strategy::Just("@^a interface eth0".to_string()),
                proptest::strategy::Just("virtual_ipaddress { 192.0.2.1 }".to_string()),
                proptest::strategy::Just("include fuzz.conf".to_string()),
                proptest::strategy::Just("\"unclosed".to_string()),
                "[a-z_]{1,12} [0-9]{1,3}",
            ],
            0..30,
        )
    ) {
        let scratch = Scratch::new();
        let path = scratch.file("fuzz.conf", &parts.join("\n"));
        if let Ok(read) = read(&path, "a", &crate::config::keepalived::mapping::blocks) {
            let _ = crate::config::keepalived::mapping::map(&read.nodes);
        }
    }
}

//! Test-only: what a test does when this machine lacks something it
//! needs. Built only for tests (the `__internal-test` feature), never into
//! the daemon.

/// The skip policy of tests that need something this machine may lack:
/// true when nothing is `missing`; otherwise one "skipped:" line and
/// false, except under CI=true, where a missing prerequisite fails.
pub fn proceed_or_skip(test: &str, missing: Option<String>) -> bool {
    let Some(missing) = missing else { return true };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: CI=true but {missing}");
    }
    println!("skipped: {test}: {missing}");
    false
}

/// `proceed_or_skip` for tests that need only root.
pub fn root_or_skip(test: &str) -> bool {
    let missing = (!nix::unistd::geteuid().is_root()).then(|| "not root".to_string());
    proceed_or_skip(test, missing)
}

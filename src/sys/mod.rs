//! Plumbing the actors use, with no protocol logic and no actors of its own:
//! child processes for checks and notify scripts, a precise timer, the
//! rate limit on drop logs, the panic boundary around handlers, and signals.

pub mod accept;
pub mod boundary;
pub mod control_socket;
pub mod drop_log;
pub mod notifier;
pub mod precise_timer;
pub mod probe;
pub mod signals;

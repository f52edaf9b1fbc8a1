//! Plumbing the actors use, with no protocol logic and no actors of its own:
//! child processes for checks and notify scripts, one precise timer per thread, the
//! rate limit on drop logs, the panic boundary around handlers, and signals.

pub mod accept;
pub mod boundary;
pub mod control_socket;
pub mod drop_log;
pub mod fifo_script;
pub mod launcher;
pub mod notifier;
pub mod notify_fifo;
pub mod privilege;
pub mod probe;
pub mod processes;
pub mod retry;
pub mod shared_timer;
pub mod signals;
pub mod track_file;
pub mod transition_feed;
pub mod uptime;

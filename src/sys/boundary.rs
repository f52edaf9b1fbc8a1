//! The panic boundary. actix does not supervise panics (one takes the
//! whole process down), but it restarts a supervised actor that stops. So
//! every handler body runs inside `guarded`: a panic is logged and turned
//! into `ctx.stop()`, and the Supervisor restarts that actor alone.
//!
//! `started()` is the exception: a restart runs it again at once, so a
//! panic there stopped at once would restart in a loop that never yields
//! (actix's Supervisor), freezing the thread. `guarded_start` waits before
//! it stops: one restart a second at most, and the thread keeps running.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use actix::{Actor, ActorContext, AsyncContext, Context};

/// How long an actor whose start panicked waits before it is restarted.
const AFTER_A_FAILED_START: Duration = Duration::from_secs(1);

/// `body` is an actor's `started()`: a panic is logged and the actor is
/// stopped (so restarted) only after a pause.
pub fn guarded_start<A>(
    actor: &mut A,
    ctx: &mut Context<A>,
    body: impl FnOnce(&mut A, &mut Context<A>),
) where
    A: Actor<Context = Context<A>>,
{
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| body(actor, ctx))) {
        tracing::error!(actor = std::any::type_name::<A>(), message = %panic_message(&*panic), "start panicked; restarting the actor in {AFTER_A_FAILED_START:?}");
        ctx.run_later(AFTER_A_FAILED_START, |_, ctx| ctx.stop());
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

pub fn guarded<A, R>(
    actor: &mut A,
    ctx: &mut Context<A>,
    what: &str,
    body: impl FnOnce(&mut A, &mut Context<A>) -> R,
) -> Option<R>
where
    A: Actor<Context = Context<A>>,
{
    match catch_unwind(AssertUnwindSafe(|| body(actor, ctx))) {
        Ok(result) => Some(result),
        Err(panic) => {
            let message = panic_message(&*panic);
            tracing::error!(actor = std::any::type_name::<A>(), %what, %message, "handler panicked; restarting the actor");
            ctx.stop();
            None
        }
    }
}

//! The panic boundary. actix does not supervise panics (one takes the
//! whole process down), but it restarts a supervised actor that stops. So
//! every handler body runs inside `guarded`: a panic is logged and turned
//! into `ctx.stop()`, and the Supervisor restarts that actor alone.

use std::panic::{catch_unwind, AssertUnwindSafe};

use actix::{Actor, ActorContext, Context};

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
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            tracing::error!(actor = std::any::type_name::<A>(), %what, %message, "handler panicked; restarting the actor");
            ctx.stop();
            None
        }
    }
}

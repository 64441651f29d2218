//! The [`Mailbox`] between the [`ClientHandle`](super::ClientHandle)s and their task: a locked
//! queue and a [`Notify`]. A tokio channel would do, but it allocates a 32-slot block up front;
//! a fleet of thousands of mostly idle clients keeps only an empty queue each.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{oneshot, Notify};

use super::{ClientFn, TaskClosed};

/// What a handle asks of the task.
pub(super) enum Command {
    /// Run a closure on the client (object changes, reports, triggers).
    With(ClientFn),
    /// De-register, wait at most this long, and stop; then answer.
    Shutdown(Duration, oneshot::Sender<()>),
}

/// The commands waiting for the task, the wake-up, and the handle count.
pub(super) struct Mailbox {
    queue: Mutex<Queue>,
    notify: Notify,
    /// Live handles; when it drops to zero the task stops as if shut down.
    handles: AtomicUsize,
}

#[derive(Default)]
struct Queue {
    commands: VecDeque<Command>,
    closed: bool,
}

impl Mailbox {
    /// A mailbox with one handle.
    pub(super) fn new() -> Mailbox {
        Mailbox {
            queue: Mutex::new(Queue::default()),
            notify: Notify::new(),
            handles: AtomicUsize::new(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding the lock cannot leave the queue half-changed.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a command for the task, unless the task has stopped.
    pub(super) fn post(&self, command: Command) -> Result<(), TaskClosed> {
        {
            let mut queue = self.lock();
            if queue.closed {
                return Err(TaskClosed);
            }
            queue.commands.push_back(command);
        }
        self.notify.notify_one();
        Ok(())
    }

    /// The next command, if any.
    pub(super) fn take(&self) -> Option<Command> {
        self.lock().commands.pop_front()
    }

    /// Waits until a command was posted or the last handle went away (a wake-up that came
    /// while nobody waited is kept for the next wait).
    pub(super) async fn wait(&self) {
        self.notify.notified().await;
    }

    /// Whether every handle is gone.
    pub(super) fn orphaned(&self) -> bool {
        self.handles.load(Ordering::Acquire) == 0
    }

    /// Whether the task has stopped.
    pub(super) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    pub(super) fn handle_cloned(&self) {
        self.handles.fetch_add(1, Ordering::AcqRel);
    }

    pub(super) fn handle_dropped(&self) {
        if self.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.notify.notify_one();
        }
    }

    /// Refuses every later command and returns those still queued.
    pub(super) fn close(&self) -> VecDeque<Command> {
        let mut queue = self.lock();
        queue.closed = true;
        std::mem::take(&mut queue.commands)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_refuses_and_returns_what_waits() {
        let mailbox = Mailbox::new();
        assert!(mailbox.post(Command::With(Box::new(|_, _| {}))).is_ok());
        assert!(!mailbox.is_closed());
        let left = mailbox.close();
        assert_eq!(left.len(), 1);
        assert!(mailbox.is_closed());
        assert_eq!(
            mailbox.post(Command::With(Box::new(|_, _| {}))).err(),
            Some(TaskClosed)
        );
        assert!(mailbox.take().is_none());
    }

    #[tokio::test]
    async fn the_last_handle_wakes_the_task() {
        let mailbox = Mailbox::new();
        mailbox.handle_cloned();
        mailbox.handle_dropped();
        assert!(!mailbox.orphaned());
        mailbox.handle_dropped();
        assert!(mailbox.orphaned());
        // The wake-up was stored: this returns at once.
        tokio::time::timeout(Duration::from_secs(5), mailbox.wait())
            .await
            .unwrap();
    }
}

//! Points in a key move where a test can hold a node.
//!
//! Exercise 4.6 is a few steps on two nodes, and its bugs are steps done in the wrong
//! order. A wrong order shows only if something happens between two steps: a client
//! writes, or the node crashes. A test arms a [`Hold`] at one of the [`Step`]s below; the
//! given code that reaches that point stops there until the test lets it go (or crashes
//! the node), so the test can act exactly in that window, whatever order the exercise
//! took its steps in. Outside tests nothing is armed, and passing a point costs one
//! uncontended lock.

use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// A point a node passes while keys move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// [`Node::install`](crate::Node::install) is about to install a change: at the old
    /// owner's handoff, the keys it collects must not be collected yet.
    Install,
    /// [`Node::mark_pulled`](crate::Node::mark_pulled) has recorded a pull as done: the
    /// keys it gained are served from now on, so they must be stored already.
    Pulled,
}

/// The holds armed on one node (cloned with its [`Config`](crate::Config), shared by its
/// restarts).
#[derive(Clone, Debug, Default)]
pub struct Holds(Arc<Mutex<Vec<Armed>>>);

#[derive(Debug)]
struct Armed {
    step: Step,
    reached: oneshot::Sender<()>,
    go: oneshot::Receiver<()>,
}

/// One armed hold, as the test sees it. Dropping it lets the node go on.
#[derive(Debug)]
pub struct Hold {
    reached: oneshot::Receiver<()>,
    go: oneshot::Sender<()>,
}

impl Holds {
    /// Arms a hold: the next time the node passes `step`, it stops there.
    pub fn arm(&self, step: Step) -> Hold {
        let (reached_tx, reached) = oneshot::channel();
        let (go, go_rx) = oneshot::channel();
        self.lock().push(Armed {
            step,
            reached: reached_tx,
            go: go_rx,
        });
        Hold { reached, go }
    }

    /// Called by the node at `step`: returns at once unless a hold is armed there, in
    /// which case it waits until the test lets it go.
    pub async fn pass(&self, step: Step) {
        let armed = {
            let mut armed = self.lock();
            let at = armed.iter().position(|a| a.step == step);
            at.map(|i| armed.remove(i))
        };
        if let Some(armed) = armed {
            let _ = armed.reached.send(());
            let _ = armed.go.await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Armed>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Hold {
    /// Waits until the node stops at this hold; `false` if it did not within `patience`.
    /// (Call it once: a hold is reached once.)
    pub async fn reached(&mut self, patience: std::time::Duration) -> bool {
        matches!(
            tokio::time::timeout(patience, &mut self.reached).await,
            Ok(Ok(()))
        )
    }

    /// Lets the node go on.
    pub fn release(self) {
        let _ = self.go.send(());
    }
}

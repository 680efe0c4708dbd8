//! Polling with a deadline, the replacement for every fixed sleep in a test.
//!
//! Distributed tests wait for things that happen "soon": a node to accept
//! connections, a follower to catch up, a leader to be elected. A fixed sleep is
//! either too short on a loaded laptop (a flaky test) or too long everywhere else
//! (a slow suite). [`eventually`] polls quickly at first, backs off, and gives up
//! at a deadline with a message that says what it waited for and what it saw last.

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `probe` until it returns `Ok`, or fails once `deadline` has passed.
///
/// `probe` returns `Err(seen)` while the condition does not hold yet; `seen` is a
/// short description of the current state, quoted in the failure message. The
/// delay between polls starts at 1 ms and doubles up to 50 ms.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::time::Duration;
/// let mut polls = 0;
/// let n = harness::eventually(Duration::from_secs(5), "the counter to reach 3", || {
///     polls += 1;
///     let now = polls;
///     async move { if now >= 3 { Ok(now) } else { Err(format!("counter = {now}")) } }
/// })
/// .await
/// .unwrap();
/// assert_eq!(n, 3);
///
/// let err = harness::eventually(Duration::from_millis(20), "a miracle", || async {
///     Err::<(), _>("nothing yet".to_string())
/// })
/// .await
/// .unwrap_err();
/// assert!(err.to_string().contains("waiting for a miracle"));
/// assert!(err.to_string().contains("last seen: nothing yet"));
/// # });
/// ```
pub async fn eventually<T, F, Fut>(
    deadline: Duration,
    what: &str,
    mut probe: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    let mut delay = Duration::from_millis(1);
    let mut polls = 0u32;
    loop {
        polls += 1;
        match probe().await {
            Ok(value) => return Ok(value),
            Err(seen) => {
                if start.elapsed() >= deadline {
                    anyhow::bail!(
                        "gave up after {:.1?} ({polls} polls) waiting for {what}; last seen: {seen}",
                        start.elapsed()
                    );
                }
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(50));
    }
}

/// Awaits `future`, or fails once `deadline` has passed: a wait that a bug makes
/// endless (a condition that can never hold) fails the test and says what it was.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::time::Duration;
/// let five = harness::eventually::within(Duration::from_secs(1), "a quick answer", async { 5 });
/// assert_eq!(five.await.unwrap(), 5);
/// let never = std::future::pending::<()>();
/// let err = harness::eventually::within(Duration::from_millis(10), "a durable write", never)
///     .await
///     .unwrap_err();
/// assert!(err.to_string().contains("a durable write did not finish within"));
/// # });
/// ```
pub async fn within<T>(
    deadline: Duration,
    what: &str,
    future: impl Future<Output = T>,
) -> anyhow::Result<T> {
    tokio::time::timeout(deadline, future)
        .await
        .map_err(|_| anyhow::anyhow!("{what} did not finish within {deadline:?}: is something waiting for a condition that never holds?"))
}

/// Runs `work` on a thread of its own and returns its result, or fails once `deadline`
/// has passed: a loop that makes no progress fails the test instead of hanging it. (The
/// thread is left to spin until the test binary exits.) A panic in `work` is re-raised
/// as it was, so an unfinished exercise still names itself.
///
/// ```
/// use std::time::Duration;
/// let sum = harness::eventually::finishes(Duration::from_secs(1), "a sum", || 2 + 3);
/// assert_eq!(sum.unwrap(), 5);
/// let err = harness::eventually::finishes(Duration::from_millis(10), "a replay", || loop {
///     std::thread::park();
/// })
/// .unwrap_err();
/// assert!(err.to_string().contains("a replay did not finish within"));
/// ```
pub fn finishes<T: Send + 'static>(
    deadline: Duration,
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(format!("bounded: {what}"))
        .spawn(move || {
            let _ = send.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)));
        })?;
    match receive.recv_timeout(deadline) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => anyhow::bail!(
            "{what} did not finish within {deadline:?}: does a loop stop making progress?"
        ),
    }
}

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

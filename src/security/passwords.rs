//! Password hashing with argon2id (the crate's defaults are OWASP's parameters:
//! 19 MiB, 2 passes, 1 lane) on a small pool of dedicated threads, one per
//! core, so a login storm queues instead of starving the connections' tasks.
//!
//! Three choices, the first two measured with `specserve-bench login`/`mixed`:
//! - Each hashing thread keeps its 19 MiB working area. The argon2 crate's own
//!   `hash_password` allocates (and the kernel faults in) a fresh one per hash;
//!   reuse makes a hash about 20% cheaper and holds memory at threads x 19 MiB
//!   during a storm, where malloc arenas had grown to ~500 MiB.
//! - The hashing threads run at the lowest scheduling priority (nice 19): they
//!   use every idle cycle, but a core is handed back to the request path as
//!   soon as it has work, so reads keep their latency during a login storm. The price:
//!   on a machine saturated by other requests, logins slow down first.
//! - Verifying (a log-in) goes before hashing (registration, a new or changed
//!   password): a log-in waits at most for the hashes already running, one per
//!   thread, however many password changes are queued.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use tokio::sync::oneshot;

use specserve_runtime::ApiError;

/// A unit of hashing work, given the thread's working area.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// Which queue a job waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Priority {
    /// Log-ins: someone is waiting at a prompt.
    Verify,
    /// Everything that makes a new hash.
    Hash,
}

/// Jobs waiting for a hashing thread, log-ins first.
#[derive(Default)]
struct Queue {
    state: Mutex<Waiting>,
    ready: Condvar,
}

#[derive(Default)]
struct Waiting {
    verify: VecDeque<Job>,
    hash: VecDeque<Job>,
    /// Set when the last [`Passwords`] is dropped: threads finish and exit.
    closed: bool,
}

impl Queue {
    fn push(&self, priority: Priority, job: Job) {
        let mut waiting = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match priority {
            Priority::Verify => waiting.verify.push_back(job),
            Priority::Hash => waiting.hash.push_back(job),
        }
        drop(waiting);
        self.ready.notify_one();
    }

    /// The next job, or `None` once closed and empty.
    fn pop(&self) -> Option<Job> {
        let mut waiting = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(job) = waiting.verify.pop_front().or_else(|| waiting.hash.pop_front()) {
                return Some(job);
            }
            if waiting.closed {
                return None;
            }
            waiting = self.ready.wait(waiting).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn close(&self) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).closed = true;
        self.ready.notify_all();
    }
}

/// Closes the queue when the last [`Passwords`] clone goes away.
struct Feeder(Arc<Queue>);

impl Drop for Feeder {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Hashes and verifies passwords off the async threads.
#[derive(Clone)]
pub struct Passwords {
    feeder: Arc<Feeder>,
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passwords")
    }
}

impl Passwords {
    /// `threads` hashing threads (use the number of cores).
    pub fn new(threads: usize) -> Result<Self, ApiError> {
        // Verified against when the email is unknown, so both paths cost one hash.
        let dummy_hash = hash_into(&mut Vec::new(), "specserve dummy password, never valid")?;
        let queue = Arc::new(Queue::default());
        for index in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || hashing_thread(&queue))
                .map_err(ApiError::internal)?;
        }
        Ok(Passwords { feeder: Arc::new(Feeder(queue)), dummy_hash: dummy_hash.into() })
    }

    /// An argon2id PHC string for `password`.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(Priority::Hash, move |area| hash_into(area, &password)).await?
    }

    /// Whether `password` matches `hash`. With no hash (unknown email, or an
    /// account without a password) a dummy hash is checked, for equal work, and
    /// the answer is `false`.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, ApiError> {
        let real = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.to_string());
        let matches = self.run(Priority::Verify, move |area| verify_into(area, &password, &hash)).await?;
        Ok(real && matches)
    }

    /// Queues `work` for the hashing threads now; the future yields its result.
    fn run<T: Send + 'static>(
        &self,
        priority: Priority,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> impl std::future::Future<Output = Result<T, ApiError>> + Send + 'static {
        let (reply, result) = oneshot::channel();
        let job: Job = Box::new(move |area| {
            // A request that went away (its connection closed) costs no hash.
            if !reply.is_closed() {
                let _ = reply.send(work(area));
            }
        });
        self.feeder.0.push(priority, job);
        async move { result.await.map_err(|_| ApiError::internal("a password hashing thread stopped")) }
    }
}

/// Runs jobs until every [`Passwords`] is gone, reusing one working area.
fn hashing_thread(queue: &Queue) {
    lower_this_threads_priority();
    let mut area = Vec::new();
    while let Some(job) = queue.pop() {
        job(&mut area);
    }
}

/// Nice 19 for the calling thread (Linux schedules threads, not processes).
#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    // SAFETY: setpriority only reads its integer arguments; `who = 0` names the
    // calling thread. Lowering one's own priority needs no privilege; on failure
    // the thread keeps the default priority, which is still correct.
    let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}

/// Hashes with the default parameters and a fresh random salt, in `area`.
fn hash_into(area: &mut Vec<Block>, password: &str) -> Result<String, ApiError> {
    let argon2 = Argon2::default();
    let salt = Salt::generate();
    let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut output, sized(area, argon2.params()))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).map_err(|e| ApiError::internal(e.to_string()))?,
        salt: Some(salt),
        hash: Some(Output::new(&output).map_err(|e| ApiError::internal(e.to_string()))?),
    };
    Ok(phc.to_string())
}

/// Recomputes `phc`'s hash for `password` with its own parameters, in `area`.
/// A malformed stored hash never matches.
fn verify_into(area: &mut Vec<Block>, password: &str, phc: &str) -> bool {
    let Ok(stored) = PasswordHash::new(phc) else { return false };
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else { return false };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(stored.algorithm.as_str()), Params::try_from(&stored))
    else {
        return false;
    };
    let version = match stored.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let argon2 = Argon2::new(algorithm, version, params);
    let mut output = vec![0u8; expected.len()];
    let memory = sized(area, argon2.params());
    if argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut output, memory).is_err() {
        return false;
    }
    // Output's equality is constant-time.
    Output::new(&output).is_ok_and(|computed| computed == *expected)
}

/// `area` grown to `params`' block count (a stored hash may ask for more).
fn sized<'a>(area: &'a mut Vec<Block>, params: &Params) -> &'a mut [Block] {
    if area.len() < params.block_count() {
        area.resize(params.block_count(), Block::default());
    }
    &mut area[..params.block_count()]
}

#[cfg(test)]
mod tests {
    use argon2::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_do() {
        let passwords = Passwords::new(2).unwrap();
        let hash = passwords.hash("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(passwords.verify("correct horse".into(), Some(hash.clone())).await.unwrap());
        assert!(!passwords.verify("wrong horse".into(), Some(hash)).await.unwrap());
        assert!(!passwords.verify("specserve dummy password, never valid".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_interoperate_with_the_argon2_crates_own_phc_strings() {
        let passwords = Passwords::new(1).unwrap();
        let ours = passwords.hash("battery staple".into()).await.unwrap();
        assert!(Argon2::default().verify_password(b"battery staple", ours.as_str()).is_ok());

        // A stored hash with bigger parameters than ours grows the working area.
        let params = Params::new(32 * 1024, 3, 1, None).unwrap();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"battery staple")
            .unwrap()
            .to_string();
        assert!(passwords.verify("battery staple".into(), Some(theirs.clone())).await.unwrap());
        assert!(!passwords.verify("battery stable".into(), Some(theirs)).await.unwrap());
    }

    #[tokio::test]
    async fn a_login_waits_only_for_the_hash_already_running() {
        let passwords = Passwords::new(1).unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        // Occupy the one thread until released, then queue twenty password changes and a login.
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let running = passwords.run(Priority::Hash, move |_| {
            let _ = gate.recv();
        });
        let mut queued = Vec::new();
        for n in 0..20 {
            let order = Arc::clone(&order);
            queued.push(passwords.run(Priority::Hash, move |_| order.lock().unwrap().push(format!("change {n}"))));
        }
        let login = {
            let order = Arc::clone(&order);
            passwords.run(Priority::Verify, move |_| order.lock().unwrap().push("login".to_owned()))
        };
        release.send(()).unwrap();
        let (running, login, queued) = tokio::join!(running, login, futures_util::future::join_all(queued));
        assert!(running.is_ok() && login.is_ok() && queued.iter().all(Result::is_ok));
        let order = order.lock().unwrap();
        assert_eq!(order.first().map(String::as_str), Some("login"), "{order:?}");
        assert_eq!(order.len(), 21);
    }

    #[tokio::test]
    async fn a_malformed_stored_hash_never_matches() {
        let passwords = Passwords::new(1).unwrap();
        for stored in
            ["", "plaintext", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA", "$bcrypt$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA"]
        {
            assert!(!passwords.verify("plaintext".into(), Some(stored.into())).await.unwrap(), "{stored}");
        }
    }
}

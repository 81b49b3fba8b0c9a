//! Brute-force protection for log-ins that does not hand attackers a lockout.
//!
//! Only failed attempts cost anything, and they are counted twice:
//! - per account and address: one address guessing one account is slowed down
//!   without touching anyone else's log-ins to that account;
//! - per account, for addresses that never logged into it: a guess spread over
//!   many addresses is capped too, while the addresses the owner logged in from
//!   (the last few remembered per account) are exempt, so even a distributed
//!   attack does not lock the owner out of their usual places.
//!
//! The price: during such a distributed attack, the owner's first log-in from a
//! new address is refused (`rate_limited`) until the account's budget refills.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use specserve_runtime::rate_limit::KeyedLimiter;

/// Addresses remembered per account as ones its owner logged in from.
const TRUSTED_PER_ACCOUNT: usize = 8;
/// Accounts remembered at most; past it the memory starts over.
const MAX_ACCOUNTS: usize = 100_000;

/// Failed log-in budgets per account and per account-and-address.
#[derive(Debug)]
pub struct LoginThrottle {
    per_account_and_address: KeyedLimiter<(String, IpAddr)>,
    per_account: KeyedLimiter<String>,
    trusted: Mutex<HashMap<String, VecDeque<IpAddr>>>,
}

impl LoginThrottle {
    /// `per_address` failures per minute per account and address, and
    /// `per_account` per account from addresses that never logged into it.
    pub fn new(per_address: f64, per_account: f64) -> Self {
        LoginThrottle {
            per_account_and_address: KeyedLimiter::per_minute_with_third_burst(per_address),
            per_account: KeyedLimiter::per_minute_with_third_burst(per_account),
            trusted: Mutex::default(),
        }
    }

    /// Whether a log-in to `account` (lowercased email) from `ip` may be tried now.
    pub fn may_attempt(&self, account: &str, ip: IpAddr) -> bool {
        let key = (account.to_owned(), ip);
        self.per_account_and_address.has_token(&key)
            && (self.is_trusted(account, ip) || self.per_account.has_token(&account.to_owned()))
    }

    /// A wrong password (or unknown account) from `ip`.
    pub fn failed(&self, account: &str, ip: IpAddr) {
        self.per_account_and_address.try_take(&(account.to_owned(), ip));
        if !self.is_trusted(account, ip) {
            self.per_account.try_take(&account.to_owned());
        }
    }

    /// A successful log-in: `ip` becomes one of the account's known addresses
    /// and its failures there are forgotten.
    pub fn succeeded(&self, account: &str, ip: IpAddr) {
        self.per_account_and_address.reset(&(account.to_owned(), ip));
        let mut trusted = self.trusted.lock().unwrap_or_else(PoisonError::into_inner);
        if trusted.len() >= MAX_ACCOUNTS && !trusted.contains_key(account) {
            trusted.clear();
        }
        let addresses = trusted.entry(account.to_owned()).or_default();
        addresses.retain(|known| *known != ip);
        if addresses.len() == TRUSTED_PER_ACCOUNT {
            addresses.pop_front();
        }
        addresses.push_back(ip);
    }

    fn is_trusted(&self, account: &str, ip: IpAddr) -> bool {
        let trusted = self.trusted.lock().unwrap_or_else(PoisonError::into_inner);
        trusted.get(account).is_some_and(|addresses| addresses.contains(&ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([203, 0, 113, last])
    }

    #[test]
    fn failures_from_one_address_do_not_lock_the_account_elsewhere() {
        let throttle = LoginThrottle::new(3.0, 600.0);
        for _ in 0..10 {
            throttle.failed("alice@example.com", ip(66));
        }
        assert!(!throttle.may_attempt("alice@example.com", ip(66)));
        assert!(throttle.may_attempt("alice@example.com", ip(1)), "the owner elsewhere is not locked out");
    }

    #[test]
    fn a_distributed_guess_is_capped_but_known_addresses_still_get_in() {
        let throttle = LoginThrottle::new(3.0, 3.0);
        throttle.succeeded("alice@example.com", ip(1));
        for attacker in 100..120 {
            throttle.failed("alice@example.com", ip(attacker));
        }
        assert!(!throttle.may_attempt("alice@example.com", ip(200)), "a new address waits for the budget");
        assert!(throttle.may_attempt("alice@example.com", ip(1)), "the owner's known address is exempt");
    }

    #[test]
    fn a_success_forgets_the_failures_of_that_address() {
        let throttle = LoginThrottle::new(9.0, 600.0); // bursts of 3
        throttle.failed("bob@example.com", ip(7));
        throttle.failed("bob@example.com", ip(7));
        throttle.succeeded("bob@example.com", ip(7));
        for _ in 0..3 {
            assert!(throttle.may_attempt("bob@example.com", ip(7)));
            throttle.failed("bob@example.com", ip(7));
        }
        assert!(!throttle.may_attempt("bob@example.com", ip(7)));
    }
}

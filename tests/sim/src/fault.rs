//! [`Fault`] and the queue of injected faults, shared by every simulator.

use std::time::Duration;

/// A misbehaviour a simulator can show instead of (or around) a normal answer.
///
/// Every simulator renders a fault in its own CRM's shape; the per-variant notes below
/// give the KeyCRM shape, and [`crate::amocrm`] and [`crate::bitrix24`] describe theirs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answers with this status. In KeyCRM, 500 and 503 get a Laravel JSON body
    /// (`{"message":"Server Error"}`, `{"message":"Service Unavailable"}`), 502 and 504 an
    /// nginx HTML page, any other status `{"message":"<reason>"}`.
    ServerError(u16),
    /// Answers "too many requests" with `Retry-After`; in KeyCRM, 429 with
    /// `{"message":"Too Many Attempts."}`.
    RateLimited {
        /// The `Retry-After` value in seconds.
        retry_after_secs: u32,
    },
    /// Waits this long, then answers normally. The request is still applied if the client
    /// gives up meanwhile, as a real server would.
    Slow(Duration),
    /// Answers 200 with `content-type: application/json` and a truncated JSON body.
    MalformedJson,
    /// Closes the TCP connection without sending anything.
    DropConnection,
    /// Processes the request normally (a card or lead IS created) and then closes the TCP
    /// connection without sending the response.
    ApplyThenDrop,
    /// Answers 200 with a valid JSON list answer of at least this many bytes.
    HugeBody(usize),
}

#[derive(Debug)]
struct Rule {
    prefix: Option<String>,
    fault: Fault,
    remaining: Option<u32>,
}

/// Injected faults in injection order.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    rules: Vec<Rule>,
}

impl FaultQueue {
    /// Adds a fault for the next `times` matching requests (`None`: until cleared).
    pub(crate) fn push(&mut self, prefix: Option<String>, fault: Fault, times: Option<u32>) {
        if times == Some(0) {
            return;
        }
        self.rules.push(Rule {
            prefix,
            fault,
            remaining: times,
        });
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    /// Takes the first fault whose prefix `matches` says applies to the request (a fault
    /// without a prefix applies to every request), using up one of its applications.
    ///
    /// Each simulator decides what a prefix is compared with: a path, a method name.
    pub(crate) fn take(&mut self, matches: impl Fn(&str) -> bool) -> Option<Fault> {
        let index = self
            .rules
            .iter()
            .position(|rule| rule.prefix.as_deref().is_none_or(&matches))?;
        let rule = &mut self.rules[index];
        let fault = rule.fault.clone();
        if let Some(remaining) = rule.remaining.as_mut() {
            *remaining -= 1;
            if *remaining == 0 {
                self.rules.remove(index);
            }
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl FaultQueue {
        fn take_path(&mut self, path: &str) -> Option<Fault> {
            self.take(|prefix| path.starts_with(prefix))
        }
    }

    #[test]
    fn it_counts_down_and_then_stops() {
        let mut queue = FaultQueue::default();
        queue.push(None, Fault::MalformedJson, Some(2));
        assert_eq!(queue.take_path("/v1/offers"), Some(Fault::MalformedJson));
        assert_eq!(queue.take_path("/v1/products"), Some(Fault::MalformedJson));
        assert_eq!(queue.take_path("/v1/offers"), None);
    }

    #[test]
    fn it_keeps_unlimited_faults_until_cleared() {
        let mut queue = FaultQueue::default();
        queue.push(None, Fault::DropConnection, None);
        for _ in 0..10 {
            assert_eq!(queue.take_path("/v1/offers"), Some(Fault::DropConnection));
        }
        queue.clear();
        assert_eq!(queue.take_path("/v1/offers"), None);
    }

    #[test]
    fn it_matches_prefixes_in_injection_order() {
        let mut queue = FaultQueue::default();
        queue.push(
            Some("/pipelines/cards".to_owned()),
            Fault::ServerError(500),
            Some(1),
        );
        queue.push(None, Fault::ServerError(503), Some(1));
        assert_eq!(queue.take_path("/offers"), Some(Fault::ServerError(503)));
        assert_eq!(queue.take_path("/offers"), None);
        assert_eq!(
            queue.take_path("/pipelines/cards"),
            Some(Fault::ServerError(500))
        );
        assert_eq!(queue.take_path("/pipelines/cards"), None);
    }

    #[test]
    fn it_ignores_zero_times() {
        let mut queue = FaultQueue::default();
        queue.push(None, Fault::MalformedJson, Some(0));
        assert_eq!(queue.take_path("/v1/offers"), None);
    }
}

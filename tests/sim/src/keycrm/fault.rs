//! [`Fault`] and the queue of injected faults.

use std::time::Duration;

/// A misbehaviour the simulator can show instead of (or around) a normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answers with this status. 500 and 503 get a Laravel JSON body
    /// (`{"message":"Server Error"}`, `{"message":"Service Unavailable"}`), 502 and 504 an
    /// nginx HTML page, any other status `{"message":"<reason>"}`.
    ServerError(u16),
    /// Answers 429 with `Retry-After` and `{"message":"Too Many Attempts."}`.
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
    /// Processes the request normally (a card IS created) and then closes the TCP
    /// connection without sending the response.
    ApplyThenDrop,
    /// Answers 200 with a valid JSON paginated envelope of at least this many bytes.
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

    /// Takes the first fault matching a request for `path` (the full path, with `/v1`),
    /// using up one of its applications. A prefix matches the path after `/v1`, or the
    /// full path when the prefix itself starts with `/v1/`.
    pub(crate) fn take(&mut self, path: &str) -> Option<Fault> {
        let api_path = super::api_path(path);
        let index = self.rules.iter().position(|rule| {
            rule.prefix.as_deref().is_none_or(|prefix| {
                api_path.starts_with(prefix)
                    || (prefix.starts_with("/v1/") && path.starts_with(prefix))
            })
        })?;
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

    #[test]
    fn it_counts_down_and_then_stops() {
        let mut queue = FaultQueue::default();
        queue.push(None, Fault::MalformedJson, Some(2));
        assert_eq!(queue.take("/v1/offers"), Some(Fault::MalformedJson));
        assert_eq!(queue.take("/v1/products"), Some(Fault::MalformedJson));
        assert_eq!(queue.take("/v1/offers"), None);
    }

    #[test]
    fn it_keeps_unlimited_faults_until_cleared() {
        let mut queue = FaultQueue::default();
        queue.push(None, Fault::DropConnection, None);
        for _ in 0..10 {
            assert_eq!(queue.take("/v1/offers"), Some(Fault::DropConnection));
        }
        queue.clear();
        assert_eq!(queue.take("/v1/offers"), None);
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
        assert_eq!(queue.take("/offers"), Some(Fault::ServerError(503)));
        assert_eq!(queue.take("/offers"), None);
        assert_eq!(
            queue.take("/pipelines/cards"),
            Some(Fault::ServerError(500))
        );
        assert_eq!(queue.take("/pipelines/cards"), None);
    }

    #[test]
    fn it_ignores_zero_times() {
        let mut queue = FaultQueue::default();
        queue.push(None, Fault::MalformedJson, Some(0));
        assert_eq!(queue.take("/v1/offers"), None);
    }
}

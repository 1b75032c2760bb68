//! Fault injection: make the next N calls of a method fail (or stall) on purpose.

use std::time::Duration;

use crate::error::ApiError;

/// A fault to answer a call with instead of executing it.
#[derive(Debug, Clone, PartialEq)]
pub enum SimFault {
    /// An error with this HTTP status and Telegram's usual description for it
    /// (429 comes with `retry_after` 1).
    Status(u16),
    /// 429 `Too Many Requests: retry after N` with `parameters.retry_after` N.
    RetryAfter(u32),
    /// An arbitrary error, e.g. `Error { code: 403, description: "Forbidden: bot was blocked by the user".into() }`.
    Error {
        /// HTTP status and `error_code`.
        code: u16,
        /// The full `description`.
        description: String,
    },
    /// Execute the call normally, but only after this delay.
    Delay(Duration),
}

impl SimFault {
    /// The error this fault answers with; `None` for [`SimFault::Delay`].
    pub(crate) fn error(&self) -> Option<ApiError> {
        match self {
            SimFault::Status(429) => Some(ApiError::too_many_requests(1)),
            SimFault::Status(code) => {
                let description = match code {
                    400 => "Bad Request",
                    401 => "Unauthorized",
                    403 => "Forbidden",
                    404 => "Not Found",
                    409 => "Conflict",
                    500 => "Internal Server Error",
                    502 => "Bad Gateway",
                    503 => "Service Unavailable",
                    504 => "Gateway Timeout",
                    _ => "Error",
                };
                Some(ApiError::new(*code, description))
            }
            SimFault::RetryAfter(secs) => Some(ApiError::too_many_requests(*secs)),
            SimFault::Error { code, description } => {
                Some(ApiError::new(*code, description.clone()))
            }
            SimFault::Delay(_) => None,
        }
    }
}

/// Pending faults, matched by lowercase method name or `*` for any method.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    pending: Vec<(String, SimFault, u32)>,
}

impl Faults {
    pub fn add(&mut self, method: &str, fault: SimFault, times: u32) {
        if times > 0 {
            self.pending
                .push((method.to_ascii_lowercase(), fault, times));
        }
    }

    /// Takes one use of the oldest fault matching `method`.
    pub fn take(&mut self, method: &str) -> Option<SimFault> {
        let method = method.to_ascii_lowercase();
        let index = self
            .pending
            .iter()
            .position(|(m, _, _)| *m == method || m == "*")?;
        let entry = &mut self.pending[index];
        entry.2 -= 1;
        let fault = entry.1.clone();
        if entry.2 == 0 {
            self.pending.remove(index);
        }
        Some(fault)
    }
}

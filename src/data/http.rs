//! The HTTP client of downloads, with one bound on waiting: each phase of a request (name
//! lookup, connection, sending it, the wait for the answer) and each read of a body gives up
//! after `timeout` without progress, so a mirror that accepts and never answers, or stops in
//! the middle of a file, fails in about `timeout` rather than hanging. The bound is
//! [`DEFAULT_FETCH_TIMEOUT`] unless `$GPED_FETCH_TIMEOUT` (seconds) says otherwise.

use std::time::Duration;

use crate::{Error, Result};

/// Environment variable setting the bound, in seconds, on each wait of a download.
pub const FETCH_TIMEOUT_ENV: &str = "GPED_FETCH_TIMEOUT";
/// The bound on each wait of a download unless `$GPED_FETCH_TIMEOUT` sets one.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The bound on each wait: `$GPED_FETCH_TIMEOUT` seconds (a positive number) if set and
/// non-empty, else [`DEFAULT_FETCH_TIMEOUT`].
pub fn fetch_timeout() -> Result<Duration> {
    fetch_timeout_from(std::env::var(FETCH_TIMEOUT_ENV).ok().as_deref())
}

/// [`fetch_timeout`] with the environment value passed in.
pub fn fetch_timeout_from(value: Option<&str>) -> Result<Duration> {
    let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(DEFAULT_FETCH_TIMEOUT);
    };
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 86_400.0 => Ok(Duration::from_secs_f64(secs)),
        _ => Err(Error::InvalidArgument(format!(
            "{FETCH_TIMEOUT_ENV}: expected a number of seconds in (0, 86400], found `{text}`"
        ))),
    }
}

/// An agent whose every wait is bounded by `timeout`.
pub fn agent(timeout: Duration) -> ureq::Agent {
    let bound = Some(timeout);
    ureq::Agent::config_builder()
        .timeout_resolve(bound)
        .timeout_connect(bound)
        .timeout_send_request(bound)
        .timeout_recv_response(bound)
        .timeout_per_read(bound)
        .build()
        .into()
}

/// An open response: its body and its announced length, if any.
pub struct Response {
    pub body: ureq::BodyReader<'static>,
    pub len: Option<u64>,
}

/// GETs `url`; a failure says what happened in words (HTTP status, no answer within the
/// bound, no such host, refused connection).
pub fn get(agent: &ureq::Agent, url: &str, timeout: Duration) -> Result<Response> {
    let fail = |detail: String| Error::Download {
        url: url.to_string(),
        detail,
    };
    let response = agent
        .get(url)
        .call()
        .map_err(|e| fail(describe(&e, timeout)))?;
    let len = response.body().content_length();
    Ok(Response {
        body: response.into_body().into_reader(),
        len,
    })
}

/// A failed request in words.
pub fn describe(err: &ureq::Error, timeout: Duration) -> String {
    let secs = timeout.as_secs_f64();
    match err {
        ureq::Error::StatusCode(code) => format!(
            "the server answered HTTP {code}; check the URL, or pick another mirror with \
             --base-url or GPED_MIRROR"
        ),
        ureq::Error::Timeout(phase) => format!(
            "no progress for {secs} s ({}); {FETCH_TIMEOUT_ENV} sets this bound",
            phase_text(*phase)
        ),
        ureq::Error::HostNotFound => "the host name does not resolve (no network?)".into(),
        ureq::Error::ConnectionFailed => "no connection could be made".into(),
        ureq::Error::Io(e) => format!("{e}"),
        other => other.to_string(),
    }
}

fn phase_text(phase: ureq::Timeout) -> &'static str {
    use ureq::Timeout as T;
    match phase {
        T::Resolve => "looking up the host name",
        T::Connect => "connecting",
        T::SendRequest | T::SendBody | T::PerWrite => "sending the request",
        T::RecvResponse => "waiting for the answer",
        T::PerRead | T::RecvBody => "reading the answer",
        _ => "the request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_from_the_environment() {
        assert_eq!(fetch_timeout_from(None).unwrap(), DEFAULT_FETCH_TIMEOUT);
        assert_eq!(
            fetch_timeout_from(Some(" ")).unwrap(),
            DEFAULT_FETCH_TIMEOUT
        );
        assert_eq!(
            fetch_timeout_from(Some("2.5")).unwrap(),
            Duration::from_millis(2500)
        );
        for bad in ["0", "-1", "ten", "1e9"] {
            let msg = fetch_timeout_from(Some(bad)).unwrap_err().to_string();
            assert!(
                msg.contains(FETCH_TIMEOUT_ENV) && msg.contains(bad),
                "{msg}"
            );
        }
    }
}

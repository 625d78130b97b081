//! The HTTP/1.1 framing of peer commands, as Kea's HA client and its Control Agent speak it:
//! a `POST /` with a JSON body, answered by `200 OK` with a JSON list of one answer. Only
//! what that exchange needs: `Content-Length` bodies, no chunks, no keep-alive pipelining.

use serde_json::Value;

/// Headers longer than this are refused: a peer command's headers are a few lines.
const MAX_HEAD: usize = 8 * 1024;
/// Bodies longer than this are refused (a lease page of 10,000 leases is about 3 MB).
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// Why bytes are not an HTTP message this side can take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The head is not `LINE CRLF (NAME: VALUE CRLF)* CRLF`.
    #[error("malformed HTTP head at byte {0}")]
    Malformed(usize),
    /// No `Content-Length` where a body is expected.
    #[error("no Content-Length header")]
    NoLength,
    /// The head or body is over the limits.
    #[error("HTTP message too large")]
    TooLarge,
    /// The body is not JSON.
    #[error("body is not JSON: {0}")]
    NotJson(String),
}

/// A message read from the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The request or status line.
    pub start: String,
    /// The `Authorization` header's value, if there is one.
    pub authorization: Option<String>,
    /// The body.
    pub body: Value,
}

impl Message {
    /// The status code of a response's start line, if it is one.
    pub fn status(&self) -> Option<u16> {
        let mut parts = self.start.split(' ');
        parts
            .next()
            .filter(|v| v.starts_with("HTTP/"))
            .and_then(|_| parts.next())
            .and_then(|c| c.parse().ok())
    }
}

/// The bytes of a peer command POSTed to `host` (Kea's PostHttpRequestJson), with the
/// `Authorization` header `authorization` when the peer requires one.
pub fn request(host: &str, body: &Value, authorization: Option<&str>) -> Vec<u8> {
    let body = body.to_string();
    let auth = authorization.map_or_else(String::new, |a| format!("Authorization: {a}\r\n"));
    format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The bytes of the answer to a command without the credentials the endpoint requires, as
/// Kea's HTTP listeners send it.
pub fn unauthorized() -> Vec<u8> {
    let body = serde_json::json!({ "result": 401, "text": "Unauthorized" }).to_string();
    format!(
        "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nWWW-Authenticate: Basic realm=\"kea-dhcp-ha\"\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The bytes of the answer to a peer command: `answer` in a list, as the Control Agent sends.
pub fn response(answer: &Value) -> Vec<u8> {
    let body = Value::Array(vec![answer.clone()]).to_string();
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads one message from the start of `buf`: `Ok(None)` while it is incomplete, else the
/// message and how many bytes it took.
pub fn parse(buf: &[u8]) -> Result<Option<(Message, usize)>, HttpError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > MAX_HEAD {
            Err(HttpError::TooLarge)
        } else {
            Ok(None)
        };
    };
    if end > MAX_HEAD {
        return Err(HttpError::TooLarge);
    }
    let head =
        std::str::from_utf8(&buf[..end]).map_err(|e| HttpError::Malformed(e.valid_up_to()))?;
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap_or_default().to_string();
    if start.split(' ').count() < 3 {
        return Err(HttpError::Malformed(0));
    }
    let mut length = None;
    let mut authorization = None;
    let mut at = start.len() + 2;
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(HttpError::Malformed(at))?;
        if name.eq_ignore_ascii_case("authorization") {
            authorization = Some(value.trim().to_string());
        }
        if name.eq_ignore_ascii_case("content-length") {
            let n: usize = value.trim().parse().map_err(|_| HttpError::Malformed(at))?;
            length = Some(n);
        }
        at += line.len() + 2;
    }
    let length = length.ok_or(HttpError::NoLength)?;
    if length > MAX_BODY {
        return Err(HttpError::TooLarge);
    }
    let from = end + 4;
    let Some(body) = buf.get(from..from + length) else {
        return Ok(None);
    };
    let body = serde_json::from_slice(body).map_err(|e| HttpError::NotJson(e.to_string()))?;
    Ok(Some((
        Message {
            start,
            authorization,
            body,
        },
        from + length,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_request_and_its_answer_round_trip_in_pieces() {
        let body = json!({ "command": "ha-heartbeat", "service": [ "dhcp4" ] });
        let bytes = request("192.0.2.2", &body, None);
        for cut in 0..bytes.len() {
            assert_eq!(parse(&bytes[..cut]), Ok(None), "cut at {cut}");
        }
        let (m, used) = parse(&bytes).expect("valid").expect("complete");
        assert_eq!(used, bytes.len());
        assert_eq!(m.body, body);
        assert_eq!(m.start, "POST / HTTP/1.1");
        let answer = json!({ "result": 0, "text": "HA peer status returned." });
        let (r, _) = parse(&response(&answer)).expect("valid").expect("complete");
        assert_eq!(r.status(), Some(200));
        assert_eq!(r.body, json!([answer]));
        assert_eq!(m.authorization, None);
    }

    #[test]
    fn credentials_go_in_the_authorization_header() {
        let auth = crate::BasicAuth {
            user: "kea".into(),
            password: "secret".into(),
        };
        // base64("kea:secret")
        assert_eq!(auth.header(), "Basic a2VhOnNlY3JldA==");
        let bytes = request("192.0.2.2", &json!({}), Some(&auth.header()));
        let (m, _) = parse(&bytes).expect("valid").expect("complete");
        assert!(auth.admits(m.authorization.as_deref()));
        assert!(!auth.admits(None));
        assert!(!auth.admits(Some("Basic a2VhOnNlY3JldB==")));
        let other = crate::BasicAuth {
            password: "secreT".into(),
            ..auth.clone()
        };
        assert!(!other.admits(m.authorization.as_deref()));
        assert!(!format!("{auth:?}").contains("secret"));
        let (r, _) = parse(&unauthorized()).expect("valid").expect("complete");
        assert_eq!(r.status(), Some(401));
    }

    #[test]
    fn bad_messages_are_errors_not_panics() {
        assert_eq!(parse(b"GET\r\n\r\n"), Err(HttpError::Malformed(0)));
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nHost x\r\n\r\n"),
            Err(HttpError::Malformed(17))
        );
        assert_eq!(parse(b"POST / HTTP/1.1\r\n\r\n"), Err(HttpError::NoLength));
        assert!(matches!(
            parse(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n{x}"),
            Err(HttpError::NotJson(_))
        ));
        assert_eq!(parse(&vec![b'a'; MAX_HEAD + 1]), Err(HttpError::TooLarge));
    }
}

//! What a message from a client must be before the SDK reads it: one
//! check, run by both transports on every message (a stdin line, a POST
//! body), so that nothing the SDK would drop without a word, or answer with
//! the wrong code, reaches it. Each message it refuses gets one answer, with
//! the code JSON-RPC 2.0 gives:
//!
//! - `-32700` Parse error, id `null`: not UTF-8, or not JSON;
//! - `-32600` Invalid Request, with the id when it could be read (else
//!   `null`): not one JSON-RPC 2.0 object (batches included), an id that is
//!   neither a string nor an integer or is over [`MAX_ID_BYTES`], nesting
//!   over [`MAX_DEPTH`] levels or a string no UTF-8 can hold (a lone
//!   surrogate) outside `params`, anything but `initialize` (or `ping`) in a
//!   session that has not been initialized;
//! - `-32602` Invalid params, with the id: the same faults inside `params`,
//!   `initialize` params over [`MAX_INITIALIZE_PARAMS_BYTES`], and params of
//!   a served method (`initialize`, `tools/list`, `tools/call`) that do not
//!   have the shape the specification gives, and a call's `arguments` that
//!   give a key twice in one object (the argument check and the tool could
//!   read different values for it).
//!
//! A call's `arguments` are kept as the client wrote them
//! ([`RawArguments`]): that text is what the tool is given and the store
//! keeps, byte for byte, not the SDK's reading of it written back.
//!
//! Unknown methods pass: the SDK answers them `-32601`. A message that
//! passes reaches the SDK as it came. Error messages quote the client's
//! text only in bounded pieces ([`quote`]). Not this module's: the size cap
//! on a message, which each transport applies as bytes arrive.

use rmcp::model::{
    CallToolRequestParams, ClientJsonRpcMessage, ClientRequest, InitializeRequestParams,
    JsonRpcMessage, NumberOrString, PaginatedRequestParams,
};
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::terminal::quote;

/// Deepest nesting of arrays and objects in a message (the message itself
/// is level 1); under the 128 the SDK's parser stops at.
pub const MAX_DEPTH: usize = 100;
/// Longest method name answered by the SDK; longer ones are unknown.
pub const MAX_METHOD_BYTES: usize = 256;
/// Longest request id, in bytes of JSON.
pub const MAX_ID_BYTES: usize = 256;
/// Largest `initialize` params, in bytes of JSON: what a session holds of
/// its client for as long as it lives.
pub const MAX_INITIALIZE_PARAMS_BYTES: usize = 64 << 10;
/// How much of a client's text an error message quotes.
const QUOTED: usize = 200;

/// Methods a session answers before `initialize`, as the specification
/// allows (`server/discover` is the 2026-07-28 revision's probe).
const BEFORE_INITIALIZE: [&str; 3] = ["initialize", "ping", "server/discover"];

/// A `tools/call`'s `arguments` object, as the client wrote it (the bytes
/// of the message between its braces, inclusive). The transport puts it in
/// the request's extensions (stdio) or in the HTTP request's, which the SDK
/// hands on in [`axum::http::request::Parts`] (HTTP).
#[derive(Debug, Clone)]
pub(crate) struct RawArguments(pub std::sync::Arc<str>);

/// A message refused, and the answer it gets.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub code: i64,
    pub message: String,
    pub id: Value,
    /// False for a notification (or a response): JSON-RPC answers those
    /// with nothing, so stdio drops them; HTTP must answer every POST, and
    /// does with this error.
    pub answered: bool,
}

impl Refusal {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// A server error (JSON-RPC's range -32000 to -32099): too many calls.
    pub const SERVER_BUSY: i64 = -32000;

    /// A refusal of a message whose id could not be read.
    pub fn unread(code: i64, message: String) -> Self {
        Refusal {
            code,
            message,
            id: Value::Null,
            answered: true,
        }
    }

    /// The JSON-RPC error response, one line.
    pub fn to_json(&self) -> String {
        json!({
            "jsonrpc": "2.0",
            "id": self.id,
            "error": { "code": self.code, "message": self.message },
        })
        .to_string()
    }
}

/// What kind of message passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Request,
    Notification,
    Response,
}

/// A message that passed.
#[derive(Debug)]
pub(crate) struct Checked {
    pub kind: Kind,
    pub method: Option<String>,
    /// The request's id, or `null`.
    pub id: Value,
    /// The message as the SDK reads it, but for a call's arguments: `{}`
    /// here when [`arguments`](Self::arguments) holds them.
    pub message: ClientJsonRpcMessage,
    /// A call's arguments object as written, when it was left out of
    /// [`message`](Self::message).
    pub arguments: Option<RawArguments>,
}

impl Checked {
    /// The message whole, as the SDK reads it: a call's arguments read into
    /// it, and their text in its extensions ([`RawArguments`]); the rest
    /// not read again.
    pub fn into_message(self) -> Result<ClientJsonRpcMessage, serde_json::Error> {
        let mut message = self.message;
        if let Some(raw) = self.arguments {
            let read = serde_json::from_str(&raw.0)?;
            if let JsonRpcMessage::Request(request) = &mut message {
                if let ClientRequest::CallToolRequest(call) = &mut request.request {
                    call.params.arguments = Some(read);
                    call.extensions.insert(raw);
                }
            }
        }
        Ok(message)
    }
}

impl Checked {
    pub fn is_initialize(&self) -> bool {
        self.kind == Kind::Request && self.method.as_deref() == Some("initialize")
    }
}

/// Checks one message. `initialized`: whether the session it belongs to
/// has been (stdio: an `initialize` passed before; HTTP: the request names
/// a session).
pub(crate) fn check(bytes: &[u8], initialized: bool) -> Result<Checked, Refusal> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Refusal::unread(
            Refusal::PARSE_ERROR,
            format!(
                "Parse error: the message is not UTF-8 (bytes {}..{} are not)",
                e.valid_up_to(),
                e.valid_up_to() + e.error_len().unwrap_or(1)
            ),
        )
    })?;
    if let Err(e) = serde_json::from_str::<IgnoredAny>(text) {
        return Err(Refusal::unread(
            Refusal::PARSE_ERROR,
            format!("Parse error: {}", quote(&e.to_string(), QUOTED)),
        ));
    }
    match text.trim_start().as_bytes().first() {
        Some(b'{') => {}
        Some(b'[') => {
            return Err(Refusal::unread(
                Refusal::INVALID_REQUEST,
                "Invalid Request: batches are not supported; send one message at a time".into(),
            ))
        }
        _ => {
            return Err(Refusal::unread(
                Refusal::INVALID_REQUEST,
                "Invalid Request: a message is one JSON object".into(),
            ))
        }
    }
    let members: Members = serde_json::from_str(text).map_err(|e| {
        Refusal::unread(
            Refusal::INVALID_REQUEST,
            format!("Invalid Request: {}", quote(&e.to_string(), QUOTED)),
        )
    })?;
    let id = read_id(members.get("id"))?;
    let method = match members.get("method") {
        None => None,
        Some(raw) => match serde_json::from_str::<String>(raw.get()) {
            Ok(method) => Some(method),
            Err(_) => {
                return Err(Refusal {
                    code: Refusal::INVALID_REQUEST,
                    message: "Invalid Request: a method is a string".into(),
                    id,
                    answered: true,
                })
            }
        },
    };
    let (has_id, has_result, has_error) = (
        members.contains_key("id"),
        members.contains_key("result"),
        members.contains_key("error"),
    );
    let kind = match (method.is_some(), has_id, has_result, has_error) {
        (true, true, false, false) => Some(Kind::Request),
        (true, false, false, false) => Some(Kind::Notification),
        (false, _, true, false) | (false, _, false, true) => Some(Kind::Response),
        _ => None,
    };
    let refuse = |code: i64, message: String| Refusal {
        code,
        message,
        id: id.clone(),
        answered: !matches!(kind, Some(Kind::Notification | Kind::Response)),
    };
    let version = members
        .get("jsonrpc")
        .map(|raw| serde_json::from_str::<String>(raw.get()));
    if !matches!(version, Some(Ok(v)) if v == "2.0") {
        return Err(refuse(
            Refusal::INVALID_REQUEST,
            "Invalid Request: a message says \"jsonrpc\": \"2.0\"".into(),
        ));
    }
    let Some(kind) = kind else {
        return Err(refuse(
            Refusal::INVALID_REQUEST,
            "Invalid Request: a message has a method (a request, with an id, or a notification), or a result or an error (a response)".into(),
        ));
    };
    // No method this server or the SDK knows is this long: answered here,
    // so neither the answer nor the SDK's log line quotes it whole.
    if let Some(long) = method.as_deref().filter(|m| m.len() > MAX_METHOD_BYTES) {
        return Err(refuse(
            Refusal::METHOD_NOT_FOUND,
            format!("Method not found: {}", quote(long, QUOTED)),
        ));
    }
    let method_allowed = method
        .as_deref()
        .is_some_and(|m| kind == Kind::Request && BEFORE_INITIALIZE.contains(&m));
    if !initialized && !method_allowed {
        return Err(refuse(
            Refusal::INVALID_REQUEST,
            format!(
                "Invalid Request: call initialize first ({} is answered only in an initialized session)",
                method
                    .as_deref()
                    .map_or("a response".into(), |m| quote(m, QUOTED))
            ),
        ));
    }
    if let Some(twice) = members.repeated() {
        return Err(refuse(
            Refusal::INVALID_REQUEST,
            format!(
                "Invalid Request: the member {:?} appears twice",
                quote(twice, QUOTED)
            ),
        ));
    }
    for (name, raw) in &members.0 {
        if 1 + shape(raw.get().as_bytes()).depth > MAX_DEPTH {
            let (code, what) = in_params(name);
            return Err(refuse(
                code,
                format!("{what}: nested deeper than {MAX_DEPTH} levels"),
            ));
        }
    }
    // Every string as the SDK will decode it, the tree never built: a
    // lone surrogate would make the SDK drop the whole message. (The text
    // is valid JSON, checked above: decoding it fails only there.)
    for (name, raw) in &members.0 {
        if let Err(e) = serde_json::from_str::<Decoded>(raw.get()) {
            let (code, what) = in_params(name);
            return Err(refuse(
                code,
                format!(
                    "{what}: a string no UTF-8 text can hold (a lone surrogate such as \"\\ud800\"): in {}, {}",
                    quote(&serde_json::to_string(name).unwrap_or_default(), QUOTED),
                    quote(&e.to_string(), QUOTED)
                ),
            ));
        }
    }
    let params = members.get("params");
    if method.as_deref() == Some("initialize") {
        let size = params.map_or(0, |p| p.get().len());
        if size > MAX_INITIALIZE_PARAMS_BYTES {
            return Err(refuse(
                Refusal::INVALID_PARAMS,
                format!(
                    "Invalid params: initialize params are at most {MAX_INITIALIZE_PARAMS_BYTES} bytes; these are {size}"
                ),
            ));
        }
    }
    if params.is_some_and(|p| !p.get().starts_with('{')) {
        return Err(refuse(
            Refusal::INVALID_PARAMS,
            "Invalid params: params are an object (MCP passes parameters by name)".into(),
        ));
    }
    // The SDK's own reading of the message, with a call's arguments (an
    // opaque object, as large as the message) left out so that this check
    // does not build their tree: what it cannot read, it would drop.
    let stubbed = stub_arguments(&members, method.as_deref());
    let arguments = stubbed
        .as_ref()
        .map(|(_, raw)| RawArguments(raw.get().into()));
    if let Some((_, raw)) = &stubbed {
        if let Err(e) = serde_json::from_str::<Unique>(raw.get()) {
            return Err(refuse(
                Refusal::INVALID_PARAMS,
                format!(
                    "Invalid params: arguments: {}",
                    quote(&e.to_string(), QUOTED)
                ),
            ));
        }
    }
    let read = stubbed
        .as_ref()
        .map_or(text, |(stubbed, _)| stubbed.as_str());
    match serde_json::from_str::<ClientJsonRpcMessage>(read) {
        Err(e) => Err(refuse(
            Refusal::INVALID_REQUEST,
            format!("Invalid Request: {}", quote(&e.to_string(), QUOTED)),
        )),
        Ok(message) => {
            // The SDK reads a served method whose params do not fit as a
            // custom request, and answers it "method not found".
            if let JsonRpcMessage::Request(request) = &message {
                if let ClientRequest::CustomRequest(custom) = &request.request {
                    if let Some(fault) = params_fault(&custom.method, params) {
                        return Err(refuse(
                            Refusal::INVALID_PARAMS,
                            format!("Invalid params for {}: {fault}", custom.method),
                        ));
                    }
                }
            }
            Ok(Checked {
                kind,
                method,
                id,
                message,
                arguments,
            })
        }
    }
}

/// A message's members in the order written, repeats kept.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'a> Members<'a> {
    fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, raw)| *raw)
    }

    fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn repeated(&self) -> Option<&str> {
        let mut seen = std::collections::HashSet::new();
        self.0
            .iter()
            .map(|(name, _)| name.as_str())
            .find(|name| !seen.insert(*name))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Entries<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'a>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Members(entries))
            }
        }
        deserializer.deserialize_map(Entries(std::marker::PhantomData))
    }
}

/// Any JSON value, read as the SDK reads it (every string decoded) and
/// dropped as it is read.
type Decoded = Walk<false>;

/// [`Decoded`], whose objects must each give a key once (keys compared as
/// decoded: `"a"` and `"\u0061"` are the same key).
type Unique = Walk<true>;

/// A JSON value read and dropped; with `UNIQUE_KEYS`, a key given twice in
/// one object is an error.
struct Walk<const UNIQUE_KEYS: bool>;

impl<'de, const UNIQUE_KEYS: bool> Deserialize<'de> for Walk<UNIQUE_KEYS> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Values<const UNIQUE_KEYS: bool>;
        impl<'de, const UNIQUE_KEYS: bool> Visitor<'de> for Values<UNIQUE_KEYS> {
            type Value = Walk<UNIQUE_KEYS>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Walk)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Walk)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Walk)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Walk)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Walk)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Walk)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<Walk<UNIQUE_KEYS>>()?.is_some() {}
                Ok(Walk)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                if !UNIQUE_KEYS {
                    while map.next_entry::<Decoded, Decoded>()?.is_some() {}
                    return Ok(Walk);
                }
                let mut keys = std::collections::HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<Unique>()?;
                    if let Some(key) = keys.replace(key) {
                        return Err(serde::de::Error::custom(format_args!(
                            "the key {} is given twice in one object",
                            quote(&serde_json::to_string(&key).unwrap_or_default(), QUOTED)
                        )));
                    }
                }
                Ok(Walk)
            }
        }
        deserializer.deserialize_any(Values::<UNIQUE_KEYS>)
    }
}

/// The message with a `tools/call`'s arguments object replaced by `{}`,
/// when it has one.
fn stub_arguments<'a>(
    members: &Members<'a>,
    method: Option<&str>,
) -> Option<(String, &'a RawValue)> {
    if method != Some("tools/call") {
        return None;
    }
    let params: Members<'a> = serde_json::from_str(members.get("params")?.get()).ok()?;
    let arguments = params.get("arguments")?;
    if !arguments.get().starts_with('{') {
        return None;
    }
    let object = |entries: &mut dyn Iterator<Item = (&str, &str)>| {
        let mut out = String::from("{");
        for (i, (name, raw)) in entries.enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(name).unwrap_or_default());
            out.push(':');
            out.push_str(raw);
        }
        out.push('}');
        out
    };
    let params = object(&mut params.0.iter().map(|(name, raw)| {
        let raw = if name == "arguments" { "{}" } else { raw.get() };
        (name.as_str(), raw)
    }));
    let message = object(&mut members.0.iter().map(|(name, raw)| {
        let raw = if name == "params" {
            params.as_str()
        } else {
            raw.get()
        };
        (name.as_str(), raw)
    }));
    Some((message, arguments))
}

/// The id, when there is one and it could be read: a string or an integer
/// the SDK takes, of at most [`MAX_ID_BYTES`].
fn read_id(raw: Option<&RawValue>) -> Result<Value, Refusal> {
    let Some(raw) = raw else {
        return Ok(Value::Null);
    };
    let unread =
        |what: &str| Refusal::unread(Refusal::INVALID_REQUEST, format!("Invalid Request: {what}"));
    let Ok(id) = serde_json::from_str::<Value>(raw.get()) else {
        return Err(unread("the id is not readable"));
    };
    if serde_json::from_str::<NumberOrString>(raw.get()).is_err() {
        return Err(unread("an id is a string or an integer"));
    }
    if raw.get().len() > MAX_ID_BYTES {
        return Err(Refusal {
            code: Refusal::INVALID_REQUEST,
            message: format!(
                "Invalid Request: an id is at most {MAX_ID_BYTES} bytes; this one is {}",
                raw.get().len()
            ),
            id,
            answered: true,
        });
    }
    Ok(id)
}

/// The code and the words for a fault in the member `name`.
fn in_params(name: &str) -> (i64, &'static str) {
    if name == "params" {
        (Refusal::INVALID_PARAMS, "Invalid params")
    } else {
        (Refusal::INVALID_REQUEST, "Invalid Request")
    }
}

/// Why `params` do not fit `method`, for a method this server serves.
fn params_fault(method: &str, params: Option<&RawValue>) -> Option<String> {
    fn fault<T: DeserializeOwned>(params: Option<&RawValue>) -> Option<String> {
        let text = params.map_or("null", |p| p.get());
        serde_json::from_str::<T>(text)
            .err()
            .map(|e| quote(&e.to_string(), QUOTED))
    }
    let fault = match method {
        "initialize" => fault::<InitializeRequestParams>(params),
        "tools/call" => fault::<CallToolRequestParams>(params),
        "tools/list" => fault::<Option<PaginatedRequestParams>>(params),
        _ => return None,
    };
    // The SDK refused them for a reason its own type does not give alone.
    Some(fault.unwrap_or_else(|| "they do not have the shape the specification gives".into()))
}

/// The shape of JSON text, read in one pass without building it: how many
/// values it holds (each `,` `:` `[` `{` outside strings starts one more)
/// and how deep arrays and objects nest. Text that is not JSON gets a shape
/// too, never an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    pub values: usize,
    pub depth: usize,
}

pub(crate) fn shape(json: &[u8]) -> Shape {
    let (mut values, mut depth, mut deepest) = (1usize, 0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                values += 1;
                depth += 1;
                deepest = deepest.max(depth);
            }
            b',' | b':' => values += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Shape {
        values,
        depth: deepest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(message: &[u8]) -> (i64, Value) {
        match check(message, true) {
            Ok(checked) => panic!("passed: {checked:?}"),
            Err(refusal) => (refusal.code, refusal.id),
        }
    }

    #[test]
    fn each_fault_gets_the_code_json_rpc_gives() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let call = |params: &str| {
            format!(r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{params}}}"#)
        };
        for (message, expected) in [
            (b"{\"jsonrpc\":".to_vec(), (-32700, Value::Null)),
            (
                b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\xff\"}".to_vec(),
                (-32700, Value::Null),
            ),
            (b"[]".to_vec(), (-32600, Value::Null)),
            (b"7".to_vec(), (-32600, Value::Null)),
            (
                br#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#.to_vec(),
                (-32600, Value::Null),
            ),
            (
                br#"{"jsonrpc":"1.0","id":3,"method":"ping"}"#.to_vec(),
                (-32600, json!(3)),
            ),
            (
                br#"{"jsonrpc":"2.0","id":"a","method":5}"#.to_vec(),
                (-32600, json!("a")),
            ),
            (br#"{"jsonrpc":"2.0","id":3}"#.to_vec(), (-32600, json!(3))),
            (
                call(r#"{"name":"echo","arguments":{"s":"\ud83d"}}"#).into_bytes(),
                (-32602, json!(7)),
            ),
            (
                call(r#"{"name":"echo","arguments":{"s":{"k":1,"\u006b":2}}}"#).into_bytes(),
                (-32602, json!(7)),
            ),
            (
                call(&format!(r#"{{"name":"echo","arguments":{{"d":{deep}}}}}"#)).into_bytes(),
                (-32602, json!(7)),
            ),
            (
                call(r#"{"name":"echo","arguments":"x"}"#).into_bytes(),
                (-32602, json!(7)),
            ),
            (call(r#"{"arguments":{}}"#).into_bytes(), (-32602, json!(7))),
            (call("[1]").into_bytes(), (-32602, json!(7))),
            (
                br#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":"x"}"#.to_vec(),
                (-32602, json!(2)),
            ),
        ] {
            assert_eq!(
                code(&message),
                expected,
                "{}",
                String::from_utf8_lossy(&message)
            );
        }
        let long = format!(
            r#"{{"jsonrpc":"2.0","id":"{}","method":"ping"}}"#,
            "i".repeat(1000)
        );
        let refused = check(long.as_bytes(), true).unwrap_err();
        assert_eq!(
            (refused.code, refused.id.as_str().map(str::len)),
            (-32600, Some(1000))
        );
        assert!(refused.message.len() < 200);
        let init = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{"experimental":{{"pad":{{"x":"{}"}}}}}},"clientInfo":{{"name":"x","version":"0"}}}}}}"#,
            "p".repeat(MAX_INITIALIZE_PARAMS_BYTES)
        );
        assert_eq!(check(init.as_bytes(), false).unwrap_err().code, -32602);
        // The refusals that name the fault in words of their own.
        for (params, says) in [
            (
                r#"{"name":"echo","arguments":{"a":"\ud800"}}"#,
                r#"a lone surrogate such as "\ud800"): in "params", "#,
            ),
            (
                r#"{"name":"echo","arguments":{"a":{"b":1,"b":2}}}"#,
                r#"arguments: the key "b" is given twice in one object"#,
            ),
        ] {
            let refused = check(call(params).as_bytes(), true).unwrap_err();
            assert!(refused.message.contains(says), "{}", refused.message);
        }
    }

    #[test]
    fn well_formed_messages_pass_and_unknown_methods_are_left_to_the_sdk() {
        for message in [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"a":[1e400]}}}"#,
            r#"{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"echo"}}"#,
            // The same key in different objects.
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"k":{"k":1},"b":[{"k":2},{"k":3}]}}}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"no/such/method","params":{"a":[1]}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/list","extra":true}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":4,"method":"ping","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":5,"result":{}}"#,
        ] {
            assert!(check(message.as_bytes(), true).is_ok(), "{message}");
        }
    }

    #[test]
    fn before_initialize_only_initialize_and_ping_are_answered() {
        let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"#;
        let refused = check(call, false).unwrap_err();
        assert_eq!(
            (refused.code, refused.id, refused.answered),
            (-32600, json!(1), true)
        );
        assert!(refused.message.contains("call initialize first"));
        let note = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        assert!(!check(note, false).unwrap_err().answered);
        assert!(check(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, false).is_ok());
    }

    #[test]
    fn a_message_that_passes_is_the_message_the_sdk_would_read() {
        // The check reads a call without its arguments, then reads them
        // alone: what stdio hands the SDK must equal the SDK's own reading
        // of the whole line, for any arguments and any member order.
        for message in [
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"query":"rate limits","k":5}}}"#,
            r#"{"params":{"arguments":{"a":[1,2.5,{"b":null}],"s":"\u00e9\n\"","big":123456789012345678901234567890},"name":"echo","_meta":{"progressToken":3}},"method":"tools/call","id":"x","jsonrpc":"2.0"}"#,
            r#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo"}}"#,
            r#"{"jsonrpc":"2.0","id":10,"method":"tools/list","params":{}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7}}"#,
        ] {
            let checked = check(message.as_bytes(), true).expect("passes");
            let handed = checked.into_message().expect("reads");
            let sdk: ClientJsonRpcMessage =
                serde_json::from_str(message).expect("the SDK reads it");
            assert_eq!(
                serde_json::to_value(&handed).unwrap(),
                serde_json::to_value(&sdk).unwrap(),
                "{message}"
            );
        }
    }
}

//! Checking a tool's arguments against its input schema, at a cost bounded
//! before it starts.
//!
//! A JSON Schema check costs, at most, the number of subschemas one value
//! can be checked against times the number of values (and string bytes)
//! checked. Both factors are bounded here:
//!
//! - When a tool loads, its schema's *expansion* is measured: the schema's
//!   tree with every local reference (`$ref` to `#...` or an `$anchor`)
//!   inlined, each one unrolled at most [`MAX_UNROLL`] times along a path
//!   (arguments nest no deeper). A schema whose expansion passes
//!   [`MAX_EXPANSION`] subschemas (41 `$defs`, each an `anyOf` of two
//!   references to the next, expand to 2^41) is refused, as is one with a
//!   reference this module cannot follow.
//! - When a tool is called, the expansion times the arguments' size (values
//!   plus string bytes) must stay within [`MAX_CHECK_COST`], or the call is
//!   refused as invalid params before any checking starts.
//!
//! Patterns run on the `regex` crate (finite automata, no backtracking):
//! each costs time linear in the string it matches, so they fit the same
//! bound. A pattern that needs backtracking (look-around, back-references)
//! is refused when the tool loads.

use serde_json::Value;

use crate::terminal::visible_line;

/// Largest compiled form of one `pattern` (the `regex` crate's size limit):
/// a schema cannot make the host build an automaton bigger than this.
const MAX_PATTERN_BYTES: usize = 1 << 20;
/// How often one reference is inlined along one path of the expansion: the
/// deepest arguments can nest.
pub const MAX_UNROLL: usize = 64;
/// Most subschemas a schema may expand to.
pub const MAX_EXPANSION: u64 = 10_000;
/// Most work one check may cost: expansion x (values + string bytes). At
/// about 10 ns a unit, a few seconds at worst (a debug build is slower).
pub const MAX_CHECK_COST: u64 = 256 << 20;

/// A tool's input schema, ready to check arguments against.
pub(crate) struct InputSchema {
    validator: jsonschema::Validator,
    expansion: u64,
}

impl InputSchema {
    /// Compiles `schema`, or says (as a phrase following the file's name)
    /// why this server will not check arguments against it.
    pub(crate) fn compile(schema: &Value) -> Result<Self, String> {
        let expansion = expansion(schema)?;
        let validator = jsonschema::options()
            .with_pattern_options(
                jsonschema::PatternOptions::regex().size_limit(MAX_PATTERN_BYTES),
            )
            .build(schema)
            .map_err(|e| {
                format!(
                    "is not served: its input schema is not one this server can check in linear time: {}",
                    visible_line(&e.to_string())
                )
            })?;
        Ok(InputSchema {
            validator,
            expansion,
        })
    }

    /// Up to three reasons `arguments` do not fit (an instance path and a
    /// message each); refused unchecked if checking could cost more than
    /// [`MAX_CHECK_COST`], or if they hold a number the checker cannot
    /// compare (past a 64-bit float's range, as `1e400`).
    pub(crate) fn errors(&self, arguments: &Value) -> Vec<String> {
        let cost = self.expansion.saturating_mul(size(arguments));
        if cost > MAX_CHECK_COST {
            return vec![format!(
                "the arguments are too large to check against this schema ({} units of work, at most {MAX_CHECK_COST}); send less",
                cost
            )];
        }
        // The checker compares numbers as 64-bit integers or floats, and
        // fails on one that is neither (it would panic).
        if let Some(number) = beyond_f64(arguments) {
            return vec![format!(
                "the number {} is past the range this schema's checker compares (a 64-bit float, magnitude under 1.8e308); send a smaller one",
                crate::terminal::quote(&number.to_string(), 60)
            )];
        }
        self.validator
            .iter_errors(arguments)
            .take(3)
            .map(|e| {
                let at = e.instance_path.to_string();
                let at = if at.is_empty() { "/".to_owned() } else { at };
                format!("at {at}: {}", crate::terminal::quote(&e.to_string(), 300))
            })
            .collect()
    }
}

/// Values in `value`, plus the bytes of its strings and keys.
fn size(value: &Value) -> u64 {
    let mut total = 0u64;
    let mut pending = vec![value];
    while let Some(v) = pending.pop() {
        total += 1;
        match v {
            Value::String(s) => total += s.len() as u64,
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => {
                for (key, item) in map {
                    total += key.len() as u64;
                    pending.push(item);
                }
            }
            _ => {}
        }
    }
    total
}

/// The first number in `value` that is neither a 64-bit integer nor a
/// finite 64-bit float.
fn beyond_f64(value: &Value) -> Option<&serde_json::Number> {
    let mut pending = vec![value];
    while let Some(v) = pending.pop() {
        match v {
            // Every 64-bit integer is a finite float too.
            Value::Number(n) if n.as_f64().is_none() => return Some(n),
            Value::Array(items) => pending.extend(items.iter().rev()),
            Value::Object(map) => pending.extend(map.values().rev()),
            _ => {}
        }
    }
    None
}

/// Keywords whose values are data or text, never subschemas.
const DATA_KEYWORDS: [&str; 7] = [
    "const",
    "enum",
    "examples",
    "default",
    "description",
    "title",
    "$comment",
];
/// Keywords whose values map names (of properties, patterns, definitions)
/// to subschemas.
const NAMED_SUBSCHEMAS: [&str; 5] = [
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

/// Calls `each` on every subschema directly under `schema` (an object or a
/// boolean), and `reference` on each reference it makes. A keyword this
/// module does not know, whose value is an object or an array of objects,
/// is taken for subschemas: counting too much is safe, too little is not.
fn subschemas<'a>(
    schema: &'a Value,
    mut each: impl FnMut(&'a Value) -> Result<(), String>,
    mut reference: impl FnMut(&'a str) -> Result<(), String>,
) -> Result<(), String> {
    let Value::Object(map) = schema else {
        return Ok(());
    };
    for (key, value) in map {
        let key = key.as_str();
        if DATA_KEYWORDS.contains(&key) {
            continue;
        }
        match value {
            Value::String(target) if matches!(key, "$ref" | "$dynamicRef" | "$recursiveRef") => {
                reference(target)?
            }
            Value::Object(named) if NAMED_SUBSCHEMAS.contains(&key) => {
                for sub in named.values() {
                    each(sub)?;
                }
            }
            Value::Object(_) => each(value)?,
            Value::Array(items) => {
                for item in items.iter().filter(|i| i.is_object()) {
                    each(item)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The schema's expansion (see the module's header), or why it is refused.
fn expansion(root: &Value) -> Result<u64, String> {
    let mut anchors = Vec::new();
    collect_anchors(root, &mut anchors)?;
    refuse_embedded_resources(root)?;
    let mut walk = Walk {
        root,
        anchors,
        path: Vec::new(),
        count: 0,
    };
    walk.node(root)?;
    Ok(walk.count.max(1))
}

struct Walk<'a> {
    root: &'a Value,
    anchors: Vec<(&'a str, &'a Value)>,
    /// The references inlined on the way to the current node.
    path: Vec<&'a str>,
    count: u64,
}

impl<'a> Walk<'a> {
    fn node(&mut self, node: &'a Value) -> Result<(), String> {
        self.count += 1;
        if self.count > MAX_EXPANSION {
            return Err(format!(
                "is not served: its input schema expands to more than {MAX_EXPANSION} subschemas once its references are followed, so checking arguments against it could take exponential time"
            ));
        }
        // Both closures need the walk: gather first, then descend.
        let (mut children, mut references) = (Vec::new(), Vec::new());
        subschemas(
            node,
            |sub| {
                children.push(sub);
                Ok(())
            },
            |target| {
                references.push(target);
                Ok(())
            },
        )?;
        for reference in references {
            self.reference(reference)?;
        }
        for child in children {
            self.node(child)?;
        }
        Ok(())
    }

    fn reference(&mut self, reference: &'a str) -> Result<(), String> {
        let target = self.resolve(reference).ok_or_else(|| {
            format!(
                "is not served: its input schema refers to {:?}, which is not a reference within the schema this server can follow",
                crate::terminal::quote(reference, 200)
            )
        })?;
        if self.path.iter().filter(|r| **r == reference).count() >= MAX_UNROLL {
            return Ok(());
        }
        self.path.push(reference);
        let walked = self.node(target);
        self.path.pop();
        walked
    }

    /// A local reference: `#`, `#/json/pointer`, or `#anchor`.
    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        let fragment = reference.strip_prefix('#')?;
        if fragment.is_empty() || fragment.starts_with('/') {
            return self.root.pointer(&percent_decoded(fragment)?);
        }
        self.anchors
            .iter()
            .find(|(name, _)| *name == fragment)
            .map(|(_, node)| *node)
    }
}

/// A subschema with an `$id` of its own is another resource, against which
/// its `#...` references resolve; the measure resolves every reference
/// against the root, so a schema with one is refused rather than measured
/// wrongly.
fn refuse_embedded_resources(root: &Value) -> Result<(), String> {
    let mut pending = children(root)?;
    while let Some(node) = pending.pop() {
        if node.get("$id").is_some() {
            return Err(
                "is not served: its input schema embeds another schema resource (a subschema with its own \"$id\"), whose references this server does not follow"
                    .into(),
            );
        }
        pending.extend(children(node)?);
    }
    Ok(())
}

/// The subschemas directly under `schema`.
fn children(schema: &Value) -> Result<Vec<&Value>, String> {
    let mut found = Vec::new();
    subschemas(
        schema,
        |sub| {
            found.push(sub);
            Ok(())
        },
        |_| Ok(()),
    )?;
    Ok(found)
}

/// Every `$anchor` and `$dynamicAnchor` in subschema position; one name
/// given twice is refused (which one a reference means is not certain).
fn collect_anchors<'a>(
    node: &'a Value,
    anchors: &mut Vec<(&'a str, &'a Value)>,
) -> Result<(), String> {
    if let Value::Object(map) = node {
        for key in ["$anchor", "$dynamicAnchor"] {
            if let Some(Value::String(name)) = map.get(key) {
                if anchors.iter().any(|(seen, _)| seen == name) {
                    return Err(format!(
                        "is not served: its input schema names the anchor {:?} twice",
                        crate::terminal::quote(name, 200)
                    ));
                }
                anchors.push((name, node));
            }
        }
    }
    for child in children(node)? {
        collect_anchors(child, anchors)?;
    }
    Ok(())
}

/// A URI fragment's `%XX` escapes decoded (JSON pointers in `$ref` are
/// URI-encoded); `None` if they do not decode to UTF-8.
fn percent_decoded(fragment: &str) -> Option<String> {
    if !fragment.contains('%') {
        return Some(fragment.to_owned());
    }
    let bytes = fragment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = fragment.get(at + 1..at + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_number_past_a_floats_range_is_refused_not_a_panic() {
        let schema = json!({ "type": "object", "properties": {
            "n": { "type": "integer", "minimum": 1, "maximum": 1000, "multipleOf": 2 } } });
        let checked = InputSchema::compile(&schema).unwrap();
        for text in ["1e400", "-1e400", "1e309", "123e99999"] {
            for arguments in [
                format!(r#"{{"n":{text}}}"#),
                format!(r#"{{"other":[{{"deep":{text}}}]}}"#),
            ] {
                let arguments: Value = serde_json::from_str(&arguments).unwrap();
                let errors = checked.errors(&arguments);
                assert_eq!(errors.len(), 1, "{arguments}");
                assert!(errors[0].contains("past the range"), "{errors:?}");
            }
        }
        // Within range, however written: checked as usual.
        for (text, fits) in [
            ("2", true),
            ("1E2", true),
            ("123456789012345678901234567890", false),
            ("1e-400", false),
            ("3", false),
        ] {
            let arguments: Value = serde_json::from_str(&format!(r#"{{"n":{text}}}"#)).unwrap();
            assert_eq!(checked.errors(&arguments).is_empty(), fits, "{text}");
        }
    }

    #[test]
    fn patterns_run_on_a_linear_time_engine_and_backtracking_ones_are_refused() {
        let schema = json!({ "type": "object", "properties": {
            "text": { "type": "string", "pattern": "^(a+)+$" } } });
        let checked = InputSchema::compile(&schema).unwrap();
        // 2^100000 paths for a backtracking engine; one pass for this one.
        let evil = json!({ "text": format!("{}!", "a".repeat(100_000)) });
        assert_eq!(checked.errors(&evil).len(), 1);
        assert!(checked
            .errors(&json!({ "text": "a".repeat(100_000) }))
            .is_empty());
        for needs_backtracking in ["^(?=a)a$", "^(a)\\1$", "(?<!x)y"] {
            let schema = json!({ "type": "object", "properties": {
                "text": { "type": "string", "pattern": needs_backtracking } } });
            let refused = InputSchema::compile(&schema).err().unwrap();
            assert!(refused.contains("linear time"), "{refused}");
        }
        let keys = json!({ "type": "object",
            "patternProperties": { "^(?=k)": { "type": "string" } } });
        assert!(InputSchema::compile(&keys).is_err());
    }

    /// 2^depth subschemas in `depth` small `$defs`.
    fn doubling(depth: usize, reference: impl Fn(usize) -> String) -> Value {
        let mut defs = serde_json::Map::new();
        for level in 0..depth {
            let next = reference(level + 1);
            defs.insert(
                format!("d{level}"),
                json!({ "anyOf": [{ "$ref": next }, { "$ref": next }] }),
            );
        }
        defs.insert(
            format!("d{depth}"),
            json!({ "type": "string", "$anchor": format!("a{depth}") }),
        );
        json!({ "type": "object", "properties": { "x": { "$ref": reference(0) } }, "$defs": defs })
    }

    #[test]
    fn a_schema_that_expands_exponentially_is_refused_whatever_its_references_look_like() {
        for reference in [
            (|l: usize| format!("#/$defs/d{l}")) as fn(usize) -> String,
            |l: usize| format!("#/%24defs/d{l}"),
        ] {
            let bomb = doubling(41, reference);
            let refused = InputSchema::compile(&bomb).err().unwrap();
            assert!(refused.contains("expands to more than"), "{refused}");
            // A few levels are fine.
            assert!(InputSchema::compile(&doubling(5, reference)).is_ok());
        }
        // Recursion that doubles at each level of the arguments.
        let tree = json!({ "$defs": { "t": { "anyOf": [
            { "type": "array", "items": { "$ref": "#/$defs/t" } },
            { "type": "array", "items": { "$ref": "#/$defs/t" } } ] } },
            "type": "object", "properties": { "x": { "$ref": "#/$defs/t" } } });
        assert!(InputSchema::compile(&tree).is_err());
        // A list, recursive once a level, is fine.
        let list = json!({ "$defs": { "node": { "type": "object",
            "properties": { "next": { "$ref": "#/$defs/node" } } } },
            "type": "object", "properties": { "head": { "$ref": "#/$defs/node" } } });
        assert!(InputSchema::compile(&list).is_ok());
        // A reference that cannot be followed here is refused, not guessed at.
        let remote = json!({ "type": "object", "properties": {
            "x": { "$ref": "https://example.com/schema.json" } } });
        let refused = InputSchema::compile(&remote).err().unwrap();
        assert!(refused.contains("this server can follow"), "{refused}");
        // A bomb behind a property named like a data keyword is still seen.
        let mut hidden = doubling(41, |l| format!("#/$defs/d{l}"));
        let inner = hidden["properties"]["x"].clone();
        hidden["properties"] = json!({ "default": inner, "enum": { "$ref": "#/$defs/d0" } });
        assert!(InputSchema::compile(&hidden).is_err());
    }

    #[test]
    fn arguments_too_large_for_a_schema_are_refused_before_checking() {
        let mut properties = serde_json::Map::new();
        for n in 0..2_000 {
            properties.insert(format!("p{n}"), json!({ "type": "string", "minLength": 1 }));
        }
        let wide = InputSchema::compile(&json!({ "type": "object", "properties": properties,
            "additionalProperties": { "anyOf": [{ "type": "string" }, { "type": "number" }] } }))
        .unwrap();
        let errors = wide.errors(&json!({ "big": "x".repeat(1 << 20) }));
        assert!(errors[0].contains("too large to check"), "{errors:?}");
        assert!(wide.errors(&json!({ "p1": "ok" })).is_empty());
    }

    /// A `$ref` of `#/...` inside a subschema with its own `$id` means that
    /// resource's pointer, not the root's: the expansion measure follows the
    /// root's (a tiny leaf), while the checker follows the resource's (a
    /// doubling chain). Promise: cost bounded before it starts.
    #[test]
    fn a_bomb_behind_an_embedded_id_is_refused() {
        let depth = 41;
        let mut inner = serde_json::Map::new();
        let mut outer = serde_json::Map::new();
        for level in 0..depth {
            let next = format!("#/$defs/d{}", level + 1);
            inner.insert(
                format!("d{level}"),
                json!({ "anyOf": [{ "$ref": next }, { "$ref": next }] }),
            );
            outer.insert(format!("d{level}"), json!({ "type": "string" }));
        }
        inner.insert(format!("d{depth}"), json!({ "type": "string" }));
        outer.insert(format!("d{depth}"), json!({ "type": "string" }));
        let schema = json!({
            "$id": "https://example.com/root.json",
            "type": "object",
            "$defs": outer,
            "properties": { "x": {
                "$id": "https://example.com/sub.json",
                "$defs": inner,
                "$ref": "#/$defs/d0"
            } }
        });
        // Measured before this test was made cheap (debug build, one
        // argument `{"x": 1}`): depth 14 checks in 0.22 s, 16 in 1.1 s, 18 in
        // 5.4 s and 1.8 GB; 26 was killed by the OOM killer on a 24 GB
        // machine. The measure said 89, 101, 113, 161. Depth 41, as the
        // root-level bomb above that is refused, must be refused here too;
        // it is not checked (it would never finish). A root `$id` alone is
        // fine.
        let mut root_only = schema.clone();
        root_only["properties"]["x"] = json!({ "$ref": "#/$defs/d0" });
        assert!(InputSchema::compile(&root_only).is_ok());
        match InputSchema::compile(&schema) {
            // Refused before measuring: the measure cannot follow references
            // inside another resource.
            Err(refused) => assert!(refused.contains("embeds another schema resource"), "{refused}"),
            Ok(checked) => panic!(
                "a schema whose check walks 2^{depth} subschemas was served, its expansion measured as {}",
                checked.expansion
            ),
        }
    }
}

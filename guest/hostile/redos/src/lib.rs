//! An input schema whose `pattern` takes exponential time on a backtracking
//! regex engine for `"aaaa…a!"`: checking arguments against it must stay
//! linear in their size.

struct Redos;

impl vibe_tool::Guest for Redos {
    fn run(_mission: String, input: String) -> Result<String, String> {
        Ok(input)
    }

    fn describe() -> Option<vibe_tool::Description> {
        Some(vibe_tool::Description {
            name: "redos".into(),
            description: "Echoes text that matches a catastrophic pattern".into(),
            input_schema: r#"{"type":"object","properties":{"text":{"type":"string","pattern":"^(a+)+$"},"more":{"type":"object","patternProperties":{"^(b|b)*$":{"type":"string"}}}}}"#.into(),
            output_schema: None,
        })
    }
}

vibe_tool::export!(Redos);

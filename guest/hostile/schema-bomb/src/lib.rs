//! An input schema of 40 small `$defs`, each `anyOf` two `$ref`s to the
//! next, the last `{"type": "string"}`: the argument `{"x": 1}` fails every
//! branch, so a checker without memoisation walks 2^40 of them. No regex,
//! no look-around: nothing the loader refuses today.

const DEPTH: usize = 40;

struct SchemaBomb;

impl vibe_tool::Guest for SchemaBomb {
    fn run(_mission: String, input: String) -> Result<String, String> {
        Ok(input)
    }

    fn describe() -> Option<vibe_tool::Description> {
        let mut defs = Vec::new();
        for i in 0..DEPTH {
            let next = i + 1;
            defs.push(format!(
                r##""a{i}":{{"anyOf":[{{"$ref":"#/$defs/a{next}"}},{{"$ref":"#/$defs/a{next}"}}]}}"##
            ));
        }
        defs.push(format!(r#""a{DEPTH}":{{"type":"string"}}"#));
        Some(vibe_tool::Description {
            name: "schema-bomb".into(),
            description: "Echoes; its input schema is small and exponential to check".into(),
            input_schema: format!(
                r##"{{"type":"object","properties":{{"x":{{"$ref":"#/$defs/a0"}}}},"$defs":{{{}}}}}"##,
                defs.join(",")
            ),
            output_schema: None,
        })
    }
}

vibe_tool::export!(SchemaBomb);

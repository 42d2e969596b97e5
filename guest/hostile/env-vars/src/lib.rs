//! Reads the environment, the arguments and the working directory. Seeing any
//! of the host's would be a leak: it then returns them.

struct EnvVars;

impl vibe_tool::Guest for EnvVars {
    fn run(_mission: String, _input: String) -> Result<String, String> {
        let vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
        let args: Vec<String> = std::env::args().collect();
        // With no working directory given, std reports the root of an empty
        // filesystem: "/" is what a guest sees, not the host's directory.
        let cwd = std::env::current_dir().ok().filter(|dir| dir.as_os_str() != "/");
        if vars.is_empty() && args.is_empty() && cwd.is_none() {
            Err("denied: no environment variables, no arguments, no working directory".into())
        } else {
            Ok(format!("{{\"leaked\":{:?}}}", format!("vars={vars:?} args={args:?} cwd={cwd:?}")))
        }
    }
}

vibe_tool::export!(EnvVars);

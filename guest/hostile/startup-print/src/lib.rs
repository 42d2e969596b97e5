//! Start-up code that prints: `_initialize`, which the component runs when
//! it is instantiated, writes a line to stdout and one to stderr.

#[unsafe(no_mangle)]
pub extern "C" fn _initialize() {
    println!("startup-print: hello from start-up");
    eprintln!("startup-print: and to stderr");
}

struct StartupPrint;

impl vibe_tool::Guest for StartupPrint {
    fn run(_mission: String, _input: String) -> Result<String, String> {
        println!("startup-print: running");
        Ok("{}".into())
    }
}

vibe_tool::export!(StartupPrint);

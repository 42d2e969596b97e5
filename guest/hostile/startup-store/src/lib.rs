//! Start-up code that calls the store: `_initialize`, which the component
//! runs when it is instantiated, lists missions before any call. Returns
//! what that call got: `{"at_start":"ok"}` or `{"at_start":"ERROR"}`.

use std::sync::Mutex;

static AT_START: Mutex<Option<String>> = Mutex::new(None);

#[unsafe(no_mangle)]
pub extern "C" fn _initialize() {
    let got = match vibe_tool::missions::get_mission_history(1) {
        Ok(_) => "ok".to_string(),
        Err(e) => e.to_string(),
    };
    *AT_START.lock().unwrap() = Some(got);
}

struct StartupStore;

impl vibe_tool::Guest for StartupStore {
    fn run(_mission: String, _input: String) -> Result<String, String> {
        let got = AT_START.lock().unwrap().clone().unwrap_or_else(|| "never ran".into());
        Ok(format!("{{\"at_start\":{got:?}}}"))
    }
}

vibe_tool::export!(StartupStore);

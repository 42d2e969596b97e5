//! The wasmtime engine every invocation shares: the pooling allocator,
//! copy-on-write memory images, epoch interruption and its ticker, and the
//! linker that offers a guest WASI (empty) and the store's interfaces.

use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::host::{AgentTool, Invocation, State};

/// How often the engine's epoch advances: the resolution of timeouts.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);

/// An engine with room for `slots` invocations at once, each with at most
/// `max_memory_bytes` of linear memory, and its ticker running.
pub(crate) fn engine(slots: u32, max_memory_bytes: usize) -> wasmtime::Result<Engine> {
    let slots = slots.max(1);
    let mut pool = PoolingAllocationConfig::default();
    // A Rust component for wasm32-wasip2 has one main module and a few
    // small shims: a handful of core instances, one or two memories and tables.
    pool.total_component_instances(slots)
        .total_core_instances(slots * 8)
        .max_core_instances_per_component(16)
        .total_memories(slots * 2)
        .max_memories_per_component(2)
        .total_tables(slots * 4)
        .max_tables_per_component(4)
        .total_stacks(slots)
        .max_memory_size(max_memory_bytes)
        .max_component_instance_size(1 << 20)
        .max_core_instance_size(1 << 20);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .memory_init_cow(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config)?;
    spawn_epoch_ticker(&engine);
    Ok(engine)
}

/// The linker every tool is instantiated with: WASI p2 (its context is
/// empty per invocation) and the `vibe:store` interfaces. WASI's calls that
/// can wait are async, so a guest blocked in one is a pending future the
/// sandbox can drop at its deadline; each guest call runs on a fiber from
/// the pool's stacks.
pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<State>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    AgentTool::add_to_linker::<State, HasSelf<Invocation>>(&mut linker, |state| &mut state.host)?;
    Ok(linker)
}

/// Epoch deadline ticks for a timeout (at least one).
pub(crate) fn ticks(timeout: Duration) -> u64 {
    let ticks = timeout.as_nanos().div_ceil(EPOCH_TICK.as_nanos()).max(1);
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

/// Advances the engine's epoch every tick until the engine is dropped.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("vibe-epoch".into())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        })
        .expect("spawn the epoch thread");
}

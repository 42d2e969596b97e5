//! The wasmtime engine every invocation shares: the pooling allocator,
//! copy-on-write memory images (reset in place between invocations where
//! the kernel can say which pages were written), epoch interruption and its
//! ticker, and the linker that offers a guest WASI (empty) and the store's
//! interfaces.

use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::host::{AgentTool, Invocation, State};

/// How often the engine's epoch advances: the resolution of timeouts.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Core instances one component may have. A Rust component for
/// wasm32-wasip2 has one main module and a few small shims; a Python one
/// (componentize-py) links the interpreter, libc and its runtime as 14.
const CORE_INSTANCES_PER_COMPONENT: u32 = 16;

/// Linear memory a slot keeps mapped between invocations, reset in place to
/// the component's initial image, rather than handing it back to the kernel
/// and faulting it in again on the next run; also the most a reset copies.
/// Only the pages the kernel reports written (Linux 6.7's `PAGEMAP_SCAN`)
/// are copied, so it is used only where the kernel can say so.
const KEEP_RESIDENT_BYTES: usize = 4 << 20;
/// The same for tables (a Python tool's holds about 6,000 functions).
const TABLE_KEEP_RESIDENT_BYTES: usize = 128 << 10;

/// An engine with room for `slots` invocations at once, each with at most
/// `max_memory_bytes` of linear memory, and its ticker running.
pub(crate) fn engine(slots: u32, max_memory_bytes: usize) -> wasmtime::Result<Engine> {
    let slots = slots.max(1);
    let mut pool = PoolingAllocationConfig::default();
    // A handful of core instances per component (see above), one or two
    // memories and a few tables.
    pool.total_component_instances(slots)
        .total_core_instances(slots * CORE_INSTANCES_PER_COMPONENT)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .total_memories(slots * 2)
        .max_memories_per_component(2)
        .total_tables(slots * 4)
        .max_tables_per_component(4)
        .total_stacks(slots)
        .max_memory_size(max_memory_bytes)
        .max_component_instance_size(1 << 20)
        .max_core_instance_size(1 << 20);
    // A slot's memory is reset to the initial image either way (the
    // isolation between invocations is the same); in place, a tool whose
    // run writes scattered pages of a large heap (an interpreter's) does
    // not fault each one in again on every run. Without the kernel's scan,
    // keeping memory resident would mean copying all of it back each time,
    // so the default (give the pages back) stays.
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(Enabled::Yes)
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(TABLE_KEEP_RESIDENT_BYTES);
    }
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

/// Epoch deadline ticks for a timeout: one more than the ticks it spans,
/// because the epoch may advance just after the deadline is set, and the
/// interrupt must never come before the timeout. It comes less than two
/// ticks after it (10 ms), or later if the ticker thread is not scheduled.
pub(crate) fn ticks(timeout: Duration) -> u64 {
    let ticks = timeout.as_nanos().div_ceil(EPOCH_TICK.as_nanos()) + 1;
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

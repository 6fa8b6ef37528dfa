//! GPU profiling for finding where a program's time goes (`MLXR_PROFILE=1`): every GPU
//! node is bracketed by two CUDA events on its stream (device time) and timed on the host
//! (the time to queue it: launch overhead, allocation, kernel loading). [`report`]
//! synchronises, sums both per primitive (name, output dtype and shape) and per name, and
//! formats the heaviest entries. Off by default: then the only cost is one flag check.

use super::{drv, RawStream};
use crate::error::Result;
use cudarc::driver::{result, sys};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// One profiled node: its key, start and end events, host seconds.
struct Record {
    key: String,
    name: String,
    start: usize,
    end: usize,
    host: f64,
}

static RECORDS: Mutex<Vec<Record>> = Mutex::new(Vec::new());

/// Whether `MLXR_PROFILE=1` is set (read once).
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("MLXR_PROFILE").as_deref() == Ok("1"))
}

/// A node being timed, from [`begin`] to [`end`].
pub struct Span {
    start: sys::CUevent,
    host: Instant,
}

fn event(stream: RawStream) -> Result<sys::CUevent> {
    let ev = result::event::create(sys::CUevent_flags::CU_EVENT_DEFAULT)
        .map_err(|e| drv(e, "cuEventCreate"))?;
    // SAFETY: a live event and stream.
    unsafe { result::event::record(ev, stream.cu()) }.map_err(|e| drv(e, "cuEventRecord"))?;
    Ok(ev)
}

/// Start timing a node queued on `stream`.
pub fn begin(stream: RawStream) -> Result<Span> {
    Ok(Span {
        start: event(stream)?,
        host: Instant::now(),
    })
}

/// Finish timing the node started by `span` under `key` (grouped by `name`).
pub fn end(span: Span, stream: RawStream, name: String, key: String) -> Result<()> {
    let host = span.host.elapsed().as_secs_f64();
    let end = event(stream)?;
    RECORDS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Record {
            key,
            name,
            start: span.start as usize,
            end: end as usize,
            host,
        });
    Ok(())
}

/// Sums of (device ms, host ms, count) per key.
type Table = HashMap<String, (f64, f64, usize)>;

fn format_table(title: &str, t: &Table, rows: usize, total: f64) -> String {
    let mut v: Vec<_> = t.iter().collect();
    v.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    let mut s = format!(
        "{title}\n{:>10} {:>6} {:>10} {:>8}  entry\n",
        "gpu ms", "%", "host ms", "count"
    );
    for (k, (d, h, n)) in v.into_iter().take(rows) {
        s += &format!(
            "{d:>10.3} {:>6.1} {h:>10.3} {n:>8}  {k}\n",
            100.0 * d / total.max(1e-12)
        );
    }
    s
}

/// Synchronise the profiled streams, then the per-name and the `rows` heaviest per-entry
/// sums of everything profiled since the last report (which clears them). None when
/// profiling is off.
pub fn report(rows: usize) -> Result<Option<String>> {
    if !enabled() {
        return Ok(None);
    }
    let recs = std::mem::take(&mut *RECORDS.lock().unwrap_or_else(|e| e.into_inner()));
    let (mut by_key, mut by_name) = (Table::new(), Table::new());
    let mut total = 0.0;
    let mut host_total = 0.0;
    for r in &recs {
        let (s, e) = (r.start as sys::CUevent, r.end as sys::CUevent);
        // SAFETY: events recorded by `begin`/`end`; destroyed once read.
        let ms = unsafe {
            result::event::synchronize(e).map_err(|x| drv(x, "cuEventSynchronize"))?;
            let ms = result::event::elapsed(s, e).map_err(|x| drv(x, "cuEventElapsedTime"))?;
            let _ = result::event::destroy(s);
            let _ = result::event::destroy(e);
            ms as f64
        };
        total += ms;
        host_total += r.host * 1e3;
        for (t, k) in [(&mut by_key, &r.key), (&mut by_name, &r.name)] {
            let x = t.entry(k.clone()).or_insert((0.0, 0.0, 0));
            x.0 += ms;
            x.1 += r.host * 1e3;
            x.2 += 1;
        }
    }
    let mut s = format!(
        "mlxr GPU profile: {} nodes, {total:.3} ms of GPU time (node events), {host_total:.3} ms to queue them\n",
        recs.len()
    );
    s += &format_table("-- per primitive --", &by_name, rows, total);
    s += &format_table("-- per primitive, dtype and shape --", &by_key, rows, total);
    Ok(Some(s))
}

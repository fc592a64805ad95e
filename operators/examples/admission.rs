//! Admission control by hand: one membrane's queue fills up and drains again, and the pure
//! operators of the fast path decide what happens to the requests — no Kafka, no timely.
//!
//! - [`QueueAverage`] keeps the EWMA of the reported queue fill (weight 0.2 per report);
//! - [`Red`] drops requests with a probability that rises from 0 at 60 % average fill to 30 % at
//!   100 %, and rejects everything above (`queue_full`); the draw is keyed by request id, so the
//!   same requests are dropped on every run;
//! - the AIMD [`Governor`] halves the admission rate when the pressure (here the average fill)
//!   passes 70 % and gives it back by +0.05 every 50 ms tick once it is below 55 %;
//! - the [`TokenBucket`] of one logical shard turns that scale into admitted requests.
//!
//! Time is event time in ms, passed in by the caller: the example is a loop over a made-up
//! telemetry series, one report every 100 ms and 100 requests between reports.
//!
//! ```text
//! cargo run --release -p echoflow-operators --example admission
//! ```

use echoflow_operators::aimd::{AimdConfig, Governor, TokenBucket};
use echoflow_operators::priority::Priority;
use echoflow_operators::red::{QueueAverage, Red, RedConfig, RedOutcome, drop_probability};

fn main() {
    let red_cfg = RedConfig::default();
    let red = Red::new(red_cfg.clone());
    let aimd = AimdConfig::default();
    let mut governor = Governor::new(aimd.clone());
    // One shard of 100: 1,000 requests/s at scale 1.
    let mut bucket = TokenBucket::new(&aimd, 100);
    let mut queue = QueueAverage::default();
    let mut count = 0u32;

    // Queue depth out of 100: rises to 95 over 4 s, holds, then drains.
    let depth = |t_ms: u64| -> u64 {
        match t_ms {
            0..4_000 => t_ms * 95 / 4_000,
            4_000..6_000 => 95,
            _ => 95u64.saturating_sub((t_ms - 6_000) * 95 / 2_000),
        }
    };

    println!(
        "  t ms | depth | avg fill | p(drop) | scale | admitted | red_drop | queue_full | rate_limited"
    );
    let (mut total_in, mut total_out) = (0u64, 0u64);
    for report in 0..100u64 {
        let t = report * 100;
        // Telemetry first at its timestamp (SPEC §4), then the requests up to the next report.
        queue.update(red_cfg.weight, depth(t), 100);
        governor.advance_to(t);
        for event in governor.on_pressure(t, queue.avg_fill()) {
            bucket.set_scale(event.at_ms, event.scale);
        }
        let (mut admitted, mut dropped, mut full, mut limited) = (0, 0, 0, 0);
        for i in 0..100u64 {
            let now = t + i;
            for event in governor.advance_to(now) {
                bucket.set_scale(event.at_ms, event.scale);
            }
            let id = format!("r-{report:03}-{i:03}");
            total_in += 1;
            // The SPEC §4 order: the token bucket, then RED / queue-full.
            if !bucket.try_take(now) {
                limited += 1;
                continue;
            }
            match red
                .decide(&queue, Priority::Medium, id.as_bytes(), &mut count)
                .outcome
            {
                RedOutcome::Admit => admitted += 1,
                RedOutcome::RedDrop => dropped += 1,
                RedOutcome::QueueFull => full += 1,
            }
        }
        total_out += admitted + dropped + full + limited;
        if report % 5 == 0 {
            println!(
                "{t:>6} | {:>5} | {:>8.3} | {:>7.3} | {:>5.2} | {admitted:>8} | {dropped:>8} | {full:>10} | {limited:>12}",
                depth(t),
                queue.avg_fill(),
                drop_probability(&red_cfg, queue.avg_fill()),
                governor.scale(),
            );
        }
    }
    // Conservation: every request ended in exactly one outcome.
    assert_eq!(total_in, total_out);
    // After the drain the governor has recovered the full rate.
    assert_eq!(governor.scale(), 1.0);
    println!(
        "{total_in} requests, each in exactly one outcome; final scale {}",
        governor.scale()
    );
}

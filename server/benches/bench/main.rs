//! `scripts/bench`: the real server against a Stripe-shaped simulator and the
//! database, every row of the table measured with its baseline in the
//! same run, printed as one table.
//!
//!   cargo bench -p server --bench bench -- [--scale 1] [--only reconcile,due,…]
//!   cargo test  -p server --bench bench -- --scale 0.01     (scripts/test: the test build, tiny)
//!
//! `SERVER_BIN` names the binary measured; `BENCH_PG_URL` (an administrator's URL)
//! adds the PostgreSQL rows; `BENCH_WASM_GZ_BYTES` and `BENCH_BUILD_SECONDS` are
//! what `scripts/bench` measured of the build. A row whose outcome is wrong (a
//! payment not found, a charge lost) stops the bench with an error; a goal
//! missed is only reported.

#[path = "../../tests/api/helpers/stripe_semantics.rs"]
#[allow(dead_code)]
mod stripe_semantics;

mod env;
mod rows;
mod seed;
mod simulator;

use env::{Bench, Engine};
use rows::Line;

const ROWS: [&str; 7] = ["simulator", "reconcile", "due", "ingest", "apply", "dashboard", "api"];

struct Args {
    scale: f64,
    only: Vec<String>,
}

fn args() -> Args {
    let mut args = Args { scale: 1.0, only: ROWS.iter().map(|r| (*r).to_owned()).collect() };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        match arg.as_str() {
            "--scale" => {
                args.scale =
                    given.next().and_then(|s| s.parse().ok()).filter(|s: &f64| *s > 0.0).expect("--scale N (> 0)");
            }
            "--only" => {
                args.only = given.next().expect("--only row,row").split(',').map(str::to_owned).collect();
                assert!(args.only.iter().all(|r| ROWS.contains(&r.as_str())), "rows: {}", ROWS.join(", "));
            }
            // What cargo passes to a bench or test binary.
            "--bench" | "--nocapture" | "--test-threads=1" => {}
            other => panic!("unknown argument {other}: --scale N, --only {}", ROWS.join(",")),
        }
    }
    args
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let lines = runtime.block_on(run(&args));
    print_table(&lines, args.scale);
}

async fn run(args: &Args) -> Vec<Line> {
    let bench = Bench::from_env();
    let wants = |row: &str| args.only.iter().any(|r| r == row);
    let mut lines = Vec::new();
    let step = |name: &str, started: std::time::Instant| {
        eprintln!("bench: {name} measured in {:.1} s", started.elapsed().as_secs_f64());
    };
    let engines: Vec<Engine> =
        std::iter::once(Engine::Sqlite).chain(bench.pg_admin_url.is_some().then_some(Engine::Postgres)).collect();
    if wants("simulator") {
        let started = std::time::Instant::now();
        lines.extend(rows::simulator(args.scale).await);
        step("simulator", started);
    }
    if wants("reconcile") {
        let started = std::time::Instant::now();
        lines.extend(rows::reconcile(&bench, args.scale).await);
        step("reconcile", started);
    }
    if wants("due") {
        let started = std::time::Instant::now();
        lines.extend(rows::due_run(&bench, args.scale).await);
        step("due-date run", started);
    }
    if wants("ingest") {
        for engine in &engines {
            let started = std::time::Instant::now();
            lines.extend(rows::ingest(&bench, *engine, args.scale).await);
            step(&format!("ingest on {}", engine.name()), started);
        }
    }
    if wants("apply") {
        for engine in &engines {
            let instances: &[usize] = if *engine == Engine::Postgres { &[1, 2] } else { &[1] };
            for n in instances {
                let started = std::time::Instant::now();
                lines.extend(rows::apply(&bench, *engine, *n, args.scale).await);
                step(&format!("apply on {}, {n} instance(s)", engine.name()), started);
            }
        }
    }
    if wants("dashboard") {
        let started = std::time::Instant::now();
        lines.extend(rows::dashboard(&bench, args.scale).await);
        step("dashboard", started);
    }
    if wants("api") {
        let started = std::time::Instant::now();
        lines.extend(rows::api(&bench, args.scale).await);
        step("api", started);
    }
    lines.extend(rows::footprint_from_env());
    if std::env::var_os("BENCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&bench.dir);
    }
    lines
}

fn print_table(lines: &[Line], scale: f64) {
    let header = ["row", "measure", "value", "baseline (same run)", "ratio", "goal", "met"];
    let cells: Vec<[String; 7]> = lines
        .iter()
        .map(|l| {
            let met = match l.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "—",
            };
            [
                l.row.clone(),
                l.measure.clone(),
                l.value.clone(),
                l.baseline.clone(),
                l.ratio.clone(),
                l.goal.clone(),
                met.to_owned(),
            ]
        })
        .collect();
    println!();
    println!(
        "Échéancier bench, scale {scale} ({} on {}, {} cores), {}",
        if cfg!(debug_assertions) { "test build" } else { "release build" },
        std::env::consts::ARCH,
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        chrono::Utc::now().format("%Y-%m-%d")
    );
    println!();
    println!("| {} |", header.join(" | "));
    println!("|{}", "---|".repeat(header.len()));
    for row in &cells {
        println!("| {} |", row.join(" | "));
    }
    let missed = lines.iter().filter(|l| l.met == Some(false)).count();
    println!();
    println!("{missed} goal(s) missed of {}", lines.iter().filter(|l| l.met.is_some()).count());
}

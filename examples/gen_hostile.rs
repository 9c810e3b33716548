//! Generate the hostile input set (see `SECURITY.md` and `examples/hostile/gen.rs`):
//!
//! ```text
//! cargo run --release --example gen_hostile -- OUT_DIR [--scale F] [--only a.log,b.jsonl] [--list]
//! ```
//!
//! `--scale 1` (the default) is the full-size set of issue 6 (about 1.5 GB on disk);
//! `tests/hostile.rs` generates a scaled-down copy at test time. The output is a pure
//! function of the scale (fixed seed). `OUT_DIR/MANIFEST.tsv` lists every file with the
//! way to read it (`text`: plain, `jsonl`: with `--jsonl`, `both`).

#[path = "hostile/gen.rs"]
mod gen;

use std::path::PathBuf;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: gen_hostile OUT_DIR [--scale F] [--only NAME[,NAME...]] [--list]\n\
         files:"
    );
    for (name, mode, what) in gen::catalogue() {
        eprintln!("  {name:<18} {:<5} {what}", mode.as_str());
    }
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut dir: Option<PathBuf> = None;
    let mut scale = 1.0f64;
    let mut only: Option<Vec<String>> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--scale" => match args.next().and_then(|v| v.parse::<f64>().ok()) {
                Some(s) if s.is_finite() && s > 0.0 => scale = s,
                _ => return usage(),
            },
            "--only" => match args.next() {
                Some(v) => only = Some(v.split(',').map(str::to_string).collect()),
                None => return usage(),
            },
            "--list" | "-h" | "--help" => return usage(),
            _ if dir.is_none() && !a.starts_with('-') => dir = Some(PathBuf::from(a)),
            _ => return usage(),
        }
    }
    let Some(dir) = dir else {
        return usage();
    };
    let t0 = std::time::Instant::now();
    match gen::generate(&dir, scale, only.as_deref()) {
        Ok(items) => {
            let total: u64 = items.iter().map(|i| i.bytes).sum();
            for it in &items {
                // How to run it: plain, with --jsonl, or both.
                let runs = match (it.mode.text(), it.mode.jsonl()) {
                    (true, true) => "plain, --jsonl",
                    (false, true) => "--jsonl",
                    _ => "plain",
                };
                println!("{:>12}  {:<18} {runs}", it.bytes, it.name);
            }
            println!(
                "{total:>12}  total, {} files in {} ({:.1}s, scale {scale})",
                items.len(),
                dir.display(),
                t0.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen_hostile: {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}

//! What `watch` and `scan` accept as input: gzip, xz, zstd and bzip2 read by their magic
//! bytes (under their own name, a rotated name, or on stdin) exactly like the plain text;
//! a compressed name on content that is not compressed is a one-line error; and binary
//! files (a NUL byte in the first 32 KiB) skipped with a note unless `--binary`.

#[path = "support/scratch.rs"]
mod scratch;
use scratch::scratch;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_trace-sentinel")
}

/// Ordinary lines with two spikes.
fn text() -> Vec<u8> {
    let mut t = String::new();
    for i in 0..300 {
        t.push_str(&format!(
            "GET /api/items/{} 200 in {} ms\n",
            i % 17,
            10 + i % 9
        ));
        if i == 150 || i == 260 {
            t.push_str(&format!("SPIKE-{i} {}\n", "x".repeat(700)));
        }
    }
    t.into_bytes()
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn xz(b: &[u8]) -> Vec<u8> {
    let mut w =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).unwrap();
    w.write_all(b).unwrap();
    w.finish().unwrap()
}

fn zst(b: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(b, 1).unwrap()
}

fn bz2(b: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// A compressor of the test data.
type Compress = fn(&[u8]) -> Vec<u8>;

/// Each format: its extension and its compressor.
const FORMATS: [(&str, Compress); 4] = [("gz", gzip), ("xz", xz), ("zst", zst), ("bz2", bz2)];

fn run(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    child.wait_with_output().expect("wait")
}

/// The anomalies of a JSON run, without the read-time timestamps.
fn anomalies(out: &Output) -> Vec<String> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{} {} {} {}",
                v["source"], v["metric"], v["score"], v["message"]
            )
        })
        .collect()
}

#[test]
fn every_format_reads_like_the_plain_text_by_magic() {
    let tmp = scratch("inputs-formats");
    let dir = tmp.path();
    let plain = text();
    std::fs::write(dir.join("app.log"), &plain).unwrap();
    let json = ["--format", "json", "--source", "app", "--warmup", "10"];
    let want = anomalies(&run(
        dir,
        &[&["watch", "app.log"][..], &json].concat(),
        None,
    ));
    assert!(want.len() >= 2, "{want:?}");
    for (ext, compress) in FORMATS {
        // Two compressed parts back to back (concatenated members, streams or frames).
        let half = plain.len() / 2;
        let cut = half + plain[half..].iter().position(|&b| b == b'\n').unwrap() + 1;
        let mut bytes = compress(&plain[..cut]);
        bytes.extend(compress(&plain[cut..]));
        let named = format!("app.log.{ext}");
        std::fs::write(dir.join(&named), &bytes).unwrap();
        std::fs::write(dir.join("app.log.1"), &bytes).unwrap();
        for cmd in ["watch", "scan"] {
            for (path, stdin) in [
                (named.as_str(), None),
                ("app.log.1", None),
                ("-", Some(&bytes[..])),
            ] {
                let got = anomalies(&run(dir, &[&[cmd, path][..], &json].concat(), stdin));
                assert_eq!(got, want, "{cmd} {path} ({ext})");
            }
        }
    }
}

#[test]
fn a_compressed_name_on_other_content_is_a_one_line_error() {
    let tmp = scratch("inputs-misnamed");
    let dir = tmp.path();
    std::fs::write(dir.join("plain.gz"), text()).unwrap();
    std::fs::write(dir.join("plain.xz"), text()).unwrap();
    std::fs::write(dir.join("gzip.zst"), gzip(&text())).unwrap();
    std::fs::write(dir.join("plain.bz2"), text()).unwrap();
    for (file, format) in [
        ("plain.gz", "gzip"),
        ("plain.xz", "xz"),
        ("gzip.zst", "zstd"),
        ("plain.bz2", "bzip2"),
    ] {
        for cmd in ["watch", "scan"] {
            let out = run(dir, &[cmd, file], None);
            assert_eq!(out.status.code(), Some(2), "{cmd} {file}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                err,
                format!(
                    "trace-sentinel: error: '{file}' is not {format} data, though its name says so\n"
                ),
                "{cmd} {file}"
            );
        }
    }
}

#[test]
fn binary_files_are_skipped_with_a_note_unless_asked_for() {
    let tmp = scratch("inputs-binary");
    let dir = tmp.path();
    let mut binary = b"\x7fELF\x02\x01\x01\x00\x00\x00".to_vec();
    for i in 0..5000u32 {
        binary.extend_from_slice(&i.to_le_bytes());
        binary.extend_from_slice(b"\x00\x00\n");
    }
    std::fs::write(dir.join("prog"), &binary).unwrap();
    std::fs::write(dir.join("prog.gz"), gzip(&binary)).unwrap();
    std::fs::write(dir.join("app.log"), text()).unwrap();
    let json = ["--format", "json", "--warmup", "10"];
    let want = anomalies(&run(
        dir,
        &[&["watch", "app.log"][..], &json].concat(),
        None,
    ));
    for cmd in ["watch", "scan"] {
        for prog in ["prog", "prog.gz"] {
            let out = run(dir, &[&[cmd, prog, "app.log"][..], &json].concat(), None);
            assert_eq!(anomalies(&out), want, "{cmd} {prog}");
            let err = String::from_utf8_lossy(&out.stderr);
            let notes: Vec<&str> = err.lines().filter(|l| l.contains("binary")).collect();
            assert_eq!(
                notes,
                [format!(
                    "trace-sentinel: note: skipping binary file '{prog}' (a NUL byte in its first 32 KiB; --binary reads it as text)"
                )],
                "{cmd} {prog}: {err}"
            );
        }
        // `--binary` reads it as text: its lines are counted.
        let out = run(
            dir,
            &[
                &[cmd, "prog", "app.log", "--binary", "--stats-json", "s.json"][..],
                &json,
            ]
            .concat(),
            None,
        );
        assert!(out.status.success());
        assert!(!String::from_utf8_lossy(&out.stderr).contains("skipping"));
        let stats: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("s.json")).unwrap()).unwrap();
        assert!(stats["events"].as_u64().unwrap() > 5000, "{cmd}: {stats}");
    }
    // Stdin too.
    let out = run(dir, &["watch", "-"], Some(&binary));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("skipping binary file '-'"));
}

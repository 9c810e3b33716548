"""The native pipelines and the command line: Sentinel.scan and watch_file report what
the CLI reports on the same files (the CLI's JSON lines are compared with each
anomaly's as_dict), for one and several threads, compressed input and JSON lines;
watch_file(follow=True) yields appended lines while following, and stops when closed
(also from another thread); the console script runs the CLI."""

import faulthandler
import gzip
import json
import os
import shutil
import subprocess
import sys
import threading

import pytest

from conftest import DATASETS, GOLDEN
from trace_sentinel import Anomaly, Sentinel
from trace_sentinel.cli import main as cli_main

DEMO = DATASETS / "demo.log"


def cli_json(args):
    exe = shutil.which("trace-sentinel")
    assert exe, "the console script is installed with the package"
    out = subprocess.run([exe, *args, "--format", "json"], capture_output=True, text=True, check=True)
    return [json.loads(line) for line in out.stdout.splitlines()]


def strip_now(d):
    # Plain-text lines are stamped with the clock time, which differs between runs.
    d = dict(d)
    d.pop("timestamp")
    return d


@pytest.mark.parametrize("threads", [1, 2])
def test_scan_equals_cli_scan(threads):
    want = cli_json(["scan", str(DEMO), "--threads", str(threads), "--progress", "never"])
    got = [a.as_dict() for a in Sentinel(shard_by="source").scan(DEMO, threads=threads)]
    assert want and [strip_now(d) for d in got] == [strip_now(d) for d in want]
    assert all(isinstance(a, Anomaly) for a in Sentinel().scan([DEMO]))


def test_scan_semantic_mad_gzip_and_jsonl(tmp_path):
    gz = tmp_path / "demo.log.gz"
    gz.write_bytes(gzip.compress(DEMO.read_bytes()))
    want = cli_json(["scan", str(gz), "--semantic", "--detector", "mad", "--progress", "never"])
    got = [a.as_dict() for a in Sentinel(enable_semantic=True, detector="mad").scan(gz)]
    assert [strip_now(d) for d in got] == [strip_now(d) for d in want]
    src = GOLDEN / "jsonl_multi_source.jsonl"
    want = cli_json(["scan", str(src), "--jsonl", "--warmup", "10", "--threshold", "2.5", "--progress", "never"])
    got = [a.as_dict() for a in Sentinel(warmup=10, threshold=2.5, shard_by="source").scan(src, jsonl=True)]
    assert [d["explanation"] for d in got] == [d["explanation"] for d in want]


@pytest.mark.parametrize("templates", [False, True])
def test_watch_file_once_equals_cli_watch(templates):
    flags = ["--templates"] if templates else []
    want = cli_json(["watch", str(DEMO), *flags])
    got = [a.as_dict() for a in Sentinel(templates=templates, shard_by="source").watch_file(DEMO)]
    assert want and [strip_now(d) for d in got] == [strip_now(d) for d in want]
    # The line numbers and, with templates, each anomaly's template come along.
    assert all(d["line"] >= 1 for d in got)
    novel = [d for d in got if d["metric"] == "template.novelty"]
    assert bool(novel) == templates
    assert all("template_id" in d and "level" in d for d in novel)
    assert templates or not any("template_id" in d for d in got)


@pytest.fixture
def hang_guard():
    """Ends the test run with tracebacks if a test hangs despite its closer (say, a
    close() that cannot reach a waiting next())."""
    faulthandler.dump_traceback_later(300, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def closer(stream, seconds):
    """A timer that closes `stream` after `seconds` (a failing test must not hang)."""
    t = threading.Timer(seconds, stream.close)
    t.daemon = True
    t.start()
    return t


def test_watch_file_follow_sees_appends_and_closes(tmp_path, hang_guard):
    log = tmp_path / "app.log"
    log.write_text("")
    stream = Sentinel(warmup=5).watch_file(log, follow=True, poll_interval=0.05)
    guard = closer(stream, 120)
    with open(log, "a") as f:
        for i in range(40):
            f.write("GET /api 200 %s\n" % ("9" * (1 + i % 3)))
        f.write("x" * 3000 + "\n")
    # Blocks until the follower has read the long line; the guard ends the wait with
    # StopIteration if it never comes.
    first = next(stream, None)
    guard.cancel()
    assert first is not None, "no anomaly while following"
    assert first.metric == "message.length" and first.event.source == "app.log"
    assert first.line == 41 and not stream.done
    stream.close()
    assert stream.done and list(stream) == [] and stream.poll(0.01) == []


def test_follow_stream_closes_from_another_thread_while_waiting(tmp_path, hang_guard):
    log = tmp_path / "quiet.log"
    log.write_text("nothing happens here\n")
    with Sentinel().watch_file(log, follow=True) as stream:
        assert stream.poll(0.0) == [] and not stream.done
        # next() waits (GIL released: the timer thread runs) until close() ends it.
        closer(stream, 0.2)
        assert next(stream, "ended") == "ended"
        assert stream.done


def test_follow_poll_returns_what_arrives(tmp_path, hang_guard):
    log = tmp_path / "app.log"
    log.write_text("")
    with Sentinel(warmup=5).watch_file(log, follow=True, poll_interval=0.05) as stream:
        guard = closer(stream, 120)
        with open(log, "a") as f:
            for i in range(40):
                f.write("GET /api 200 %s\n" % ("9" * (1 + i % 3)))
            f.write("y" * 2000 + "\n")
            f.write("z" * 4000 + "\n")
        got = []
        while len(got) < 2 and not stream.done:
            got += stream.poll(1.0)
        guard.cancel()
    lengths = [a for a in got if a.metric == "message.length"]
    assert [a.line for a in lengths] == [41, 42], got
    with pytest.raises(ValueError):
        stream.poll(-1)


def test_pipelines_refuse_python_only_settings():
    class Mine:
        def extract(self, event):
            return {}

    with pytest.raises(ValueError):
        Sentinel(extractor=Mine()).scan(DEMO)
    with pytest.raises(OSError):
        list(Sentinel().scan("/nonexistent/file.log"))
    with pytest.raises(ValueError):
        Sentinel().scan(DEMO, threads=0)


def test_console_script_runs_the_cli(capsys):
    assert cli_main(["scan", "--help"]) == 0
    assert cli_main(["frobnicate"]) == 2
    out = subprocess.run([sys.executable, "-m", "trace_sentinel", "watch", str(DEMO), "--format", "json"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.count("\n") > 0

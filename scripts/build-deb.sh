#!/usr/bin/env bash
# Build the Debian package of trace-sentinel with cargo-deb (installed with
# `cargo install cargo-deb` when missing):
#   1. the binary, with the release profile (or PROFILE=dev to reuse a test build);
#   2. its man pages (`trace-sentinel man [COMMAND]`, gzipped) and bash, zsh and fish
#      completions (`trace-sentinel completions SHELL`) into target/deb-assets/, made
#      by that very binary, so they match its flags;
#   3. `cargo deb --no-build`: binary, systemd unit, /etc/default/trace-sentinel, man
#      pages, completions and docs, per [package.metadata.deb] in Cargo.toml.
# Prints the path of the .deb last (target/debian/trace-sentinel_VERSION-1_ARCH.deb).
#
# Usage: scripts/build-deb.sh            # release build
#        PROFILE=dev scripts/build-deb.sh
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PROFILE:-release}
case "$profile" in
    dev) dir=debug ;;
    *) dir=$profile ;;
esac
if ! cargo deb --version >/dev/null 2>&1; then
    echo "== installing cargo-deb" >&2
    cargo install cargo-deb --locked
fi
cargo build --profile "$profile" --bin trace-sentinel
target=${CARGO_TARGET_DIR:-target}
bin=$target/$dir/trace-sentinel
assets=$target/deb-assets
rm -rf "$assets"
mkdir -p "$assets/man" "$assets/completions"
"$bin" man | gzip -9n > "$assets/man/trace-sentinel.1.gz"
# Every command of `--help` but help has a page of its own.
for cmd in $("$bin" --help | awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && !/^  / {on = 0}'); do
    [ "$cmd" = help ] && continue
    "$bin" man "$cmd" | gzip -9n > "$assets/man/trace-sentinel-$cmd.1.gz"
done
"$bin" completions bash > "$assets/completions/trace-sentinel"
"$bin" completions zsh > "$assets/completions/_trace-sentinel"
"$bin" completions fish > "$assets/completions/trace-sentinel.fish"
# The dev profile keeps full debug info: strip it there, as a release build is.
strip=()
[ "$profile" = dev ] && strip=(--strip)
cargo deb --no-build --profile "$profile" "${strip[@]}" -q
ls -t "$target"/debian/trace-sentinel_*.deb | head -n 1

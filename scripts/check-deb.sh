#!/usr/bin/env bash
# The Debian package end to end (run by .ci/run): build it (scripts/build-deb.sh, the
# dev profile by default so the test build is reused; PROFILE=release for the real
# thing), install it with dpkg, and check what an operator gets: `trace-sentinel
# --version`, `man trace-sentinel` and a command's page, bash completion of commands
# and flags, the zsh and fish scripts in place, `systemd-analyze verify` of the
# installed unit (with its man-page references), the conffile. Purges the package
# again at the end. Installing needs root; elsewhere only the build is checked.
set -euo pipefail
cd "$(dirname "$0")/.."
export PROFILE=${PROFILE:-dev}
deb=$(scripts/build-deb.sh | tail -n 1)
echo "== built $deb"
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Depends\|Section\):/  \1:/p'
contents=$(dpkg-deb --contents "$deb")
for f in ./usr/bin/trace-sentinel ./usr/lib/systemd/system/trace-sentinel@.service \
    ./etc/default/trace-sentinel ./usr/share/man/man1/trace-sentinel.1.gz \
    ./usr/share/man/man1/trace-sentinel-watch.1.gz \
    ./usr/share/bash-completion/completions/trace-sentinel \
    ./usr/share/zsh/vendor-completions/_trace-sentinel \
    ./usr/share/fish/vendor_completions.d/trace-sentinel.fish \
    ./usr/share/doc/trace-sentinel/production.md; do
    grep -q " $f\$" <<<"$contents" || { echo "missing from the package: $f" >&2; exit 1; }
done
if [ "$(id -u)" != 0 ] || ! command -v dpkg >/dev/null; then
    echo "note: not root: the package was built and its contents checked, not installed"
    exit 0
fi
if dpkg -s trace-sentinel >/dev/null 2>&1; then
    echo "note: trace-sentinel is already installed; it is replaced by this build"
fi
cleanup() { dpkg --purge trace-sentinel >/dev/null 2>&1 || true; }
trap cleanup EXIT
dpkg -i "$deb" >/dev/null
got=$(/usr/bin/trace-sentinel --version)
echo "== $got"
[ "$got" = "trace-sentinel $(cargo pkgid | sed 's/.*[#@]//')" ] || { echo "unexpected version: $got" >&2; exit 1; }
man -w trace-sentinel >/dev/null
MANWIDTH=100 man trace-sentinel 2>/dev/null | grep -q "trace-sentinel-watch(1)"
MANWIDTH=100 man trace-sentinel-watch 2>/dev/null | grep -q -- "--alertmanager"
echo "== man trace-sentinel and man trace-sentinel-watch render"
# As bash-completion would: load the script, call the function `complete -p` names with
# the command, the word and the previous word.
completed=$(bash -c '
    source /usr/share/bash-completion/completions/trace-sentinel
    f=$(complete -p trace-sentinel | sed -E "s/.*-F ([^ ]+).*/\1/")
    COMP_WORDS=(trace-sentinel wat); COMP_CWORD=1
    "$f" trace-sentinel wat trace-sentinel; echo "${COMPREPLY[*]}"
    COMP_WORDS=(trace-sentinel watch --alert); COMP_CWORD=2
    "$f" trace-sentinel --alert watch; echo "${COMPREPLY[*]}"')
grep -qx "watch" <<<"$(sed -n 1p <<<"$completed")" || { echo "bash completion of 'wat': $completed" >&2; exit 1; }
grep -q -- "--alertmanager" <<<"$(sed -n 2p <<<"$completed")" || { echo "bash completion of '--alert': $completed" >&2; exit 1; }
echo "== bash completion: 'wat' -> $(sed -n 1p <<<"$completed"); '--alert' -> $(sed -n 2p <<<"$completed")"
systemd-analyze verify /usr/lib/systemd/system/trace-sentinel@.service
echo "== systemd-analyze verify accepts the installed unit"
dpkg-query -W -f='${Conffiles}\n' trace-sentinel | grep -q /etc/default/trace-sentinel
echo "== the package installs and works"

#!/usr/bin/env python3
"""List import cycles between the source files of each crate (exit 1 if there is one).

A file imports another when its code (comments and doc comments aside, tests included)
names an item through a path into that file's module: `crate::a::b::Item`, `super::x`,
`self::x`, or a `use` of a child module declared with `mod` (a `mod` declaration alone
is structure, not an import). A path resolves to the deepest module it names that has
a file, so `crate::Error` is the crate root (lib.rs or main.rs) and
`crate::detect::shard::Shard` is detect/shard.rs. Crate-level cycles cannot exist:
cargo refuses them.

Usage: scripts/import-cycles.py [ROOT]   (default: the repository this script is in)
"""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def crate_roots():
    """(name, src dir, root file) of every crate: crates/*/src and the root package in
    src/ (its library, lib.rs, holds the modules; main.rs only calls it)."""
    out = []
    crates = os.path.join(ROOT, "crates")
    for name in sorted(os.listdir(crates)):
        src = os.path.join(crates, name, "src")
        if os.path.isfile(os.path.join(src, "lib.rs")):
            out.append((name, src, "lib.rs"))
    if os.path.isfile(os.path.join(ROOT, "src", "lib.rs")):
        out.append(("(cli)", os.path.join(ROOT, "src"), "lib.rs"))
    elif os.path.isfile(os.path.join(ROOT, "src", "main.rs")):
        out.append(("(bin)", os.path.join(ROOT, "src"), "main.rs"))
    return out


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    lines = []
    for line in text.split("\n"):
        # Drop `//` comments outside string literals (good enough for this codebase:
        # a `//` inside a string is followed by no crate path that matters).
        in_str = False
        cut = len(line)
        i = 0
        while i < len(line):
            c = line[i]
            if c == '"' and (i == 0 or line[i - 1] != "\\"):
                in_str = not in_str
            elif not in_str and line.startswith("//", i):
                cut = i
                break
            i += 1
        lines.append(line[:cut])
    return "\n".join(lines)


def module_files(src, root_file):
    """Map module path (tuple) -> file, following `mod x;` declarations."""
    files = {}

    def visit(path, modpath):
        files[modpath] = path
        text = strip_comments(open(path, encoding="utf-8").read())
        base = os.path.dirname(path)
        stem = os.path.splitext(os.path.basename(path))[0]
        own_dir = base if stem in ("mod", "lib", "main") else os.path.join(base, stem)
        for m in re.finditer(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", text, re.M):
            name = m.group(1)
            # `#[path = "..."]` right before the declaration overrides the location.
            before = text[: m.start()].rstrip().split("\n")[-1]
            pm = re.search(r'#\[path\s*=\s*"([^"]+)"\]', before)
            if pm:
                child = os.path.normpath(os.path.join(base, pm.group(1)))
            else:
                child = os.path.join(own_dir, name + ".rs")
                if not os.path.isfile(child):
                    child = os.path.join(own_dir, name, "mod.rs")
            if os.path.isfile(child) and child.startswith(src):
                visit(child, modpath + (name,))

    visit(os.path.join(src, root_file), ())
    return files


def inline_blocks(text):
    """Byte ranges of inline `mod name { .. }` blocks (tests and the like)."""
    out = []
    for m in re.finditer(r"\bmod\s+\w+\s*\{", text):
        depth, i = 0, m.end() - 1
        while i < len(text):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        out.append((m.end(), i))
    return out


def edges(files):
    by_file = {f: m for m, f in files.items()}
    out = {f: set() for f in by_file}
    for f, mod in by_file.items():
        text = strip_comments(open(f, encoding="utf-8").read())
        # Inline modules (`mod tests { .. }`) share the file: `super::` from inside one
        # means the file's own module, so it never leaves the file.
        inline = inline_blocks(text)
        paths = []
        for m in re.finditer(r"\b(crate|super|self)((?:::\w+)+)", text):
            head, rest = m.group(1), m.group(2).split("::")[1:]
            nested = any(a <= m.start() < b for a, b in inline)
            if head == "crate":
                paths.append(tuple(rest))
            elif head == "self" or nested:
                # `super::` inside an inline module is the file's own module.
                paths.append(mod + tuple(rest))
            else:
                paths.append(mod[:-1] + tuple(rest) if mod else tuple(rest))
        # `use name::..` and `pub use name::..` of a child module declared here.
        for m in re.finditer(r"\buse\s+(\w+)((?:::\w+)*)", text):
            first = m.group(1)
            if mod + (first,) in files:
                paths.append(mod + (first,) + tuple(m.group(2).split("::")[1:]))
        for p in paths:
            best = ()
            for k in range(len(p), 0, -1):
                if p[:k] in files:
                    best = p[:k]
                    break
            target = files[best]
            if target != f:
                out[f].add(target)
    return out


def cycles(graph):
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            strong(v)
    return comps


def main():
    found = 0
    n_files = 0
    for name, src, root in crate_roots():
        files = module_files(src, root)
        n_files += len(files)
        graph = edges(files)
        for comp in cycles(graph):
            found += 1
            rel = [os.path.relpath(f, ROOT) for f in comp]
            print(f"cycle in {name}: " + " <-> ".join(rel))
    if found:
        sys.exit(1)
    print(f"no import cycle among {n_files} files")


if __name__ == "__main__":
    main()

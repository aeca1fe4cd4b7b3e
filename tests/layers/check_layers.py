#!/usr/bin/env python3
"""Checks the source tree's include graph against its layers file.

    check_layers.py --root REPO --layers docs/layers.txt [--doc docs/architecture.md]
    check_layers.py --layers docs/layers.txt --diagram

The layers file (its own header comment describes the format) lists the
layers bottom to top, the paths each owns and which layers each may include.
Every `#include "..."` or `#include <...>` in a scanned file that names a file
of the tree is checked; one that names no file of the tree is a system or
third-party header and is ignored. Fails (exit 1), printing each offending
file and line, on:
  - an include of a layer the includer's layer may not include (a higher
    layer, or a sibling not listed);
  - an include by a public-only layer of another layer's non-public file;
  - an include of a file no layer owns;
  - a cycle between directories (a file that a layer owns by name, such as
    one public header, counts as a directory of its own);
  - a scanned file no layer owns, a layer that owns no file, a path that
    names no file.
With --doc, the file must also contain the diagram (--diagram) verbatim.
Exit 2: the layers file itself is malformed.

Python 3 standard library only.
"""

import argparse
import os
import posixpath
import re
import sys
from fnmatch import fnmatchcase

SOURCE_SUFFIXES = (".h", ".hh", ".hpp", ".c", ".cc", ".cpp", ".cxx", ".inc")

# An #include directive from its '#' (the lexer below finds where lines
# start outside comments and literals).
INCLUDE_RE = re.compile(r'#[ \t]*include[ \t]*([<"])([^>"\n]+)[>"]')
RAW_STRING_RE = re.compile(r'R"([^()\\\s]{0,16})\(')
IDENTIFIER_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class LayersFileError(Exception):
    pass


class Layer:
    def __init__(self, name, allowed, default_allowed, public_only, line):
        self.name = name
        self.allowed = allowed  # names of layers it may include, besides itself
        self.default_allowed = default_allowed  # allowed: every layer listed above
        self.public_only = public_only
        self.line = line


class Layers:
    def __init__(self, origin):
        self.origin = origin  # the layers file's name, for messages
        self.layers = []
        self.by_name = {}
        self.public = []
        self.scan = []
        self.include_dirs = []
        # path (a directory ending in / or a file) -> (layer, line)
        self.owners = {}


def parse_layers(text, origin="layers file"):
    """Parses the layers file; raises LayersFileError naming the line."""
    layers = Layers(origin)
    current = None

    def fail(number, message):
        raise LayersFileError(f"{origin}:{number}: {message}")

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        indented = line[0] in " \t"
        words = line.split()
        if indented:
            if current is None:
                fail(number, f"path {words[0]} outside a layer")
            if len(words) != 1:
                fail(number, "one path per line")
            path = normalize_entry(words[0])
            if path is None:
                fail(number, f"{words[0]}: not a relative path inside the tree")
            if path in layers.owners:
                fail(number, f"{path} is already owned by layer {layers.owners[path][0].name}")
            layers.owners[path] = (current, number)
            continue
        current = None
        keyword = words[0]
        if keyword == "layer":
            current = parse_layer_line(layers, line, number, fail)
        elif keyword == "public":
            if len(words) != 2:
                fail(number, "public takes one glob")
            layers.public.append(words[1])
        elif keyword == "scan":
            layers.scan = [d.strip("/") for d in words[1:]]
        elif keyword == "include-dirs":
            layers.include_dirs = [posixpath.normpath(d) for d in words[1:]]
        else:
            fail(number, f"unknown keyword {keyword}")
    if not layers.layers:
        raise LayersFileError(f"{origin}: no layers")
    if not layers.scan:
        raise LayersFileError(f"{origin}: no scan directories")
    return layers


def parse_layer_line(layers, line, number, fail):
    """`layer NAME [public-only]` or `layer NAME: BELOW... [public-only]`."""
    head, colon, tail = line.strip()[len("layer"):].partition(":")
    head_words = head.split()
    tail_words = tail.split()
    public_only = "public-only" in head_words[1:] or "public-only" in tail_words
    head_words = [word for word in head_words if word != "public-only"]
    tail_words = [word for word in tail_words if word != "public-only"]
    if len(head_words) != 1 or not re.fullmatch(r"[A-Za-z_][\w-]*", head_words[0]):
        fail(number, "expected `layer NAME [: LAYER...] [public-only]`")
    name = head_words[0]
    if name in layers.by_name:
        fail(number, f"layer {name} is listed twice")
    if colon:
        for below in tail_words:
            if below not in layers.by_name:
                fail(number, f"layer {name} may include {below}, which is not listed above it")
        allowed = set(tail_words)
    else:
        allowed = {layer.name for layer in layers.layers}
    layer = Layer(name, allowed, not colon, public_only, number)
    layers.layers.append(layer)
    layers.by_name[name] = layer
    return layer


def normalize_entry(path):
    if path.startswith("/"):
        return None
    directory = path.endswith("/")
    normal = posixpath.normpath(path)
    if normal == "." or normal.startswith(".."):
        return None
    return normal + "/" if directory else normal


def glob_matches(pattern, path):
    """fnmatch per path component: * never crosses a /."""
    pattern_parts = pattern.split("/")
    path_parts = path.split("/")
    return len(pattern_parts) == len(path_parts) and all(
        fnmatchcase(part, glob) for part, glob in zip(path_parts, pattern_parts)
    )


def owner_of(layers, path):
    """(layer, owning entry) for `path`, the longest entry that matches, or None."""
    best = None
    for entry, (layer, _) in layers.owners.items():
        matches = path.startswith(entry) if entry.endswith("/") else path == entry
        if matches and (best is None or len(entry) > len(best[1])):
            best = (layer, entry)
    return best


def source_files(root, layers):
    files = []
    for top in layers.scan:
        base = os.path.join(root, top)
        for directory, subdirs, names in os.walk(base):
            subdirs.sort()
            for name in sorted(names):
                if name.endswith(SOURCE_SUFFIXES):
                    full = os.path.join(directory, name)
                    files.append(os.path.relpath(full, root).replace(os.sep, "/"))
    return files


def includes_of(text):
    """(line number, quote or bracket, name) of each #include in C/C++ text.

    A small lexer: a `#include` counts only where a directive can start, so
    one inside a comment or a string literal (generated code held in a raw
    string, say) is not an include of the file that holds it."""
    i = 0
    n = len(text)
    line = 1
    line_start = True  # only blanks since the last newline
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            line_start = True
            i += 1
        elif c in " \t\r\f\v":
            i += 1
        elif c == "#" and line_start:
            match = INCLUDE_RE.match(text, i)
            if match:
                yield line, match.group(1), match.group(2).strip()
            # The rest of the directive, with its continuation lines and
            # comments.
            while i < n and text[i] != "\n":
                if text.startswith("\\\n", i):
                    line += 1
                    i += 2
                elif text.startswith("/*", i):
                    end = text.find("*/", i + 2)
                    end = n if end < 0 else end + 2
                    line += text.count("\n", i, end)
                    i = end
                elif text.startswith("//", i):
                    while i < n and text[i] != "\n":
                        i += 1
                else:
                    i += 1
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            # A comment is a blank: a directive may follow it.
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            line += text.count("\n", i, end)
            i = end
        else:
            line_start = False
            raw = RAW_STRING_RE.match(text, i) if c == "R" else None
            if raw and (i == 0 or text[i - 1] not in IDENTIFIER_CHARS or
                        text[i - 1] in "uUL8"):
                end = text.find(")" + raw.group(1) + '"', raw.end())
                end = n if end < 0 else end + len(raw.group(1)) + 2
                line += text.count("\n", i, end)
                i = end
            elif c == '"' or (c == "'" and (i == 0 or text[i - 1] not in IDENTIFIER_CHARS)):
                # A string or character literal (a ' after a digit or a
                # letter separates digits: 1'000). Ends at its quote or,
                # unterminated, at the end of the line.
                i += 1
                while i < n and text[i] != c and text[i] != "\n":
                    if text.startswith("\\\n", i):
                        line += 1
                    i += 2 if text[i] == "\\" else 1
                if i < n and text[i] == c:
                    i += 1
            else:
                i += 1


def resolve(root, includer, delimiter, name, include_dirs):
    """The tree-relative path the include names, or None (not a file of the tree)."""
    candidates = []
    if delimiter == '"':
        candidates.append(posixpath.join(posixpath.dirname(includer), name))
    candidates.extend(posixpath.join(d, name) for d in include_dirs)
    for candidate in candidates:
        normal = posixpath.normpath(candidate)
        if normal.startswith("../") or normal == "..":
            continue
        if os.path.isfile(os.path.join(root, normal)):
            return normal
    return None


def unit_of(path, entry):
    """The node of the directory graph: a file owned by name is its own node."""
    return path if entry == path else posixpath.dirname(path)


def strongly_connected(graph):
    """Tarjan's algorithm, iterative: the components of more than one node."""
    index = {}
    low = {}
    on_stack = set()
    stack = []
    components = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def check(root, layers):
    """Every problem found, as "path:line: message" strings (empty: clean)."""
    problems = []
    files = source_files(root, layers)
    owned = {}
    for path in files:
        found = owner_of(layers, path)
        if found is None:
            problems.append(f"{path}: no layer owns this file")
        else:
            owned[path] = found
    used_entries = {entry for _, entry in owned.values()}
    for entry, (layer, line) in layers.owners.items():
        if entry not in used_entries:
            problems.append(f"{layers.origin}:{line}: {entry} (layer {layer.name}) names no file")
    for layer in layers.layers:
        if not any(found[0] is layer for found in owned.values()):
            problems.append(f"{layers.origin}:{layer.line}: layer {layer.name} owns no file")

    edges = {}  # (from unit, to unit) -> ["path:line: #include ..."]
    for path in files:
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as source:
            text = source.read()
        for line, delimiter, name in includes_of(text):
            target = resolve(root, path, delimiter, name, layers.include_dirs)
            if target is None or target == path:
                continue
            closing = ">" if delimiter == "<" else '"'
            spelled = f"#include {delimiter}{name}{closing}"
            where = f"{path}:{line}: {spelled}"
            target_owner = owner_of(layers, target)
            if target_owner is None:
                problems.append(f"{where}: {target} belongs to no layer")
                continue
            if path not in owned:
                continue  # already reported as unowned
            layer, entry = owned[path]
            target_layer, target_entry = target_owner
            if target_layer is not layer:
                if target_layer.name not in layer.allowed:
                    problems.append(
                        f"{where}: layer {layer.name} may not include layer "
                        f"{target_layer.name} ({target})")
                elif layer.public_only and not any(
                        glob_matches(glob, target) for glob in layers.public):
                    problems.append(
                        f"{where}: layer {layer.name} may include only public headers; "
                        f"{target} is not one")
            source_unit = unit_of(path, entry)
            target_unit = unit_of(target, target_entry)
            if source_unit != target_unit:
                edges.setdefault((source_unit, target_unit), []).append(where)

    graph = {}
    for source_unit, target_unit in edges:
        graph.setdefault(source_unit, set()).add(target_unit)
    for component in strongly_connected(graph):
        members = set(component)
        problems.append("cycle between " + ", ".join(component) + ":")
        for (source_unit, target_unit), wheres in sorted(edges.items()):
            if source_unit in members and target_unit in members:
                problems.extend("  " + where for where in wheres)
    return problems, len(files)


def diagram(layers):
    """The layers top to bottom, each with what it may include."""
    width = max(len(layer.name) for layer in layers.layers)
    lines = []
    for layer in reversed(layers.layers):
        if not layer.allowed:
            may = "(nothing)"
        elif layer.default_allowed:
            may = "every layer below"
        else:
            may = " ".join(below.name for below in reversed(layers.layers)
                           if below.name in layer.allowed)
        if layer.public_only:
            may += ", public headers only"
        lines.append(f"{layer.name.ljust(width)}  -> {may}")
    return "\n".join(lines) + "\n"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="the source tree")
    parser.add_argument("--layers", required=True, help="the layers file")
    parser.add_argument("--doc", help="a document that must contain the diagram verbatim")
    parser.add_argument("--diagram", action="store_true", help="print the diagram and exit")
    args = parser.parse_args(argv)
    # Messages name the layers file as the tree does, when it is in the tree.
    origin = os.path.relpath(args.layers, args.root)
    if origin.startswith(".."):
        origin = args.layers
    try:
        with open(args.layers, encoding="utf-8") as layers_file:
            layers = parse_layers(layers_file.read(), origin)
    except (OSError, LayersFileError) as error:
        print(f"check_layers: {error}", file=sys.stderr)
        return 2
    if args.diagram:
        sys.stdout.write(diagram(layers))
        return 0
    problems, file_count = check(args.root, layers)
    if args.doc:
        with open(args.doc, encoding="utf-8") as doc:
            if diagram(layers) not in doc.read():
                problems.append(f"{args.doc}: does not contain the layer diagram of "
                                f"{args.layers} (check_layers.py --diagram prints it)")
    for problem in problems:
        print(problem)
    if problems:
        print(f"check_layers: {len(problems)} problem line(s) in {file_count} files",
              file=sys.stderr)
        return 1
    print(f"check_layers: {file_count} files, {len(layers.layers)} layers: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

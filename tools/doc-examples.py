#!/usr/bin/env python3
"""Every public item of a crate has an example, or a link to one (issue 17).

usage: tools/doc-examples.py CRATE.json

CRATE.json is rustdoc's JSON output for the crate (nightly:
`cargo +nightly rustdoc -p evbase-std --lib -- -Z unstable-options
--output-format json`). rustdoc's own `missing_doc_code_examples` lint cannot
serve: it skips items defined in private modules and re-exported, which is
every item of evbase-std.

An item passes when its docs hold a code block, or a line of its docs says
`Example: [...]` (or `Examples: [...]`) linking an item whose docs hold a code
block. Items re-exported from other crates are theirs to document; trait
impls (Debug, Deref, From...) are documented by their traits.
"""

import json
import re
import sys

EXAMPLE_LINK = re.compile(r"\bExamples?: \[([^\]]+)\](?:\(([^)]+)\))?")


def main(path):
    doc = json.load(open(path))
    index = doc["index"]
    root = index[str(doc["root"])]
    crate = root["crate_id"]
    seen, items = set(), []

    def local(item_id):
        item = index.get(str(item_id))
        return item if item is not None and item["crate_id"] == crate else None

    def visit(item_id, path):
        item = local(item_id)
        if item is None or str(item_id) in seen:
            return
        seen.add(str(item_id))
        kind, inner = next(iter(item["inner"].items()))
        if kind in ("use", "import"):
            # A re-export: check what it names, if it is this crate's.
            if inner.get("id") is not None and not inner.get("is_glob"):
                seen.discard(str(item_id))
                visit(inner["id"], path[:-1] + [inner["name"]])
            return
        if kind == "impl":
            if inner.get("trait") is None:
                for child in inner["items"]:
                    c = local(child)
                    if c is not None and c["visibility"] == "public":
                        visit(child, path + [c["name"]])
            return
        # Trait items have visibility "default": as public as their trait.
        if item["visibility"] not in ("public", "default") and kind != "module":
            return
        items.append((item, "::".join(path)))
        if kind == "module":
            # Submodules (the prelude) last, so items get their shortest path.
            children = sorted(inner["items"], key=lambda c: "module" in (local(c) or {"inner": {}})["inner"])
            for child in children:
                c = local(child)
                visit(child, path + [c["name"] if c and c.get("name") else "?"])
        elif kind in ("struct", "enum", "union"):
            for impl in inner.get("impls", []):
                visit(impl, path)
        elif kind == "trait":
            for child in inner["items"]:
                visit(child, path + [local(child)["name"]])

    visit(doc["root"], [root["name"]])

    def has_code(item):
        return "```" in (item.get("docs") or "")

    missing = []
    for item, name in items:
        if has_code(item):
            continue
        docs = item.get("docs") or ""
        targets = [item["links"].get(m.group(2) or m.group(1)) for m in EXAMPLE_LINK.finditer(docs)]
        if any(t is not None and local(t) is not None and has_code(local(t)) for t in targets):
            continue
        missing.append(name)
    print(f"{len(items) - len(missing)} of {len(items)} public items have an example or link to one")
    for name in missing:
        print(f"  no example: {name}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

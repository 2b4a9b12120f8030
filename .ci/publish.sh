#!/usr/bin/env bash
# Ready to publish (issue 17): what a Rust user looks at before depending on
# evbase. Installs what it needs (idempotent). Steps:
#   1. metadata: every crate that may publish has a licence, description,
#      keywords, categories, readme, docs.rs link and no placeholder address;
#   2. packages: `cargo package -p ...` packages the five user crates and
#      builds each from its package, all in one call: cargo resolves their
#      path dependencies on each other through a local registry overlay, so
#      no crate needs to be on crates.io first (evbase-tests is
#      `publish = false` and left out). Each package holds the licence texts
#      and the README, and no tests/;
#   3. docs.rs: each crate documented with -D warnings on exactly the
#      features and targets of its [package.metadata.docs.rs];
#   4. evbase-std: every public item has an example or a link to one (the
#      examples themselves run with `cargo test --workspace` in checks.sh);
#   5. evbase-core's features are additive: each set of them checks alone;
#   6. the minimum Rust version (`rust-version`) builds the workspace;
#   7. semver: `cargo semver-checks` against the last release tag (v*), only
#      once one exists.
# .ci/docs.sh documents the workspace as developers build it (unified
# features, the unpublished crates too); step 3 is docs.rs's view, crate by
# crate, and is what checks the macOS, FreeBSD and Windows pages.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf -- '--- %s\n' "$*"; }
host=$(rustc -vV | sed -n 's/^host: //p')
meta=$(mktemp)
trap 'rm -f "$meta"' EXIT
cargo metadata --no-deps --format-version 1 >"$meta"
target_dir=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["target_directory"])' "$meta")

# Lines "name<TAB>version<TAB>manifest dir" of the members that may publish.
published=$(python3 - "$meta" <<'EOF'
import json, os, sys
for p in json.load(open(sys.argv[1]))["packages"]:
    if p["publish"] != []:
        print(p["name"], p["version"], os.path.dirname(p["manifest_path"]), sep="\t")
EOF
)

say "1. metadata of the published crates"
python3 - "$meta" <<'EOF'
import json, sys
bad = []
for p in json.load(open(sys.argv[1]))["packages"]:
    if p["publish"] == []:
        continue
    for field in ("license", "description", "readme", "documentation", "rust_version"):
        if not p.get(field):
            bad.append(f"{p['name']}: no {field}")
    if not 1 <= len(p["keywords"]) <= 5 or not 1 <= len(p["categories"]) <= 5:
        bad.append(f"{p['name']}: wants 1 to 5 keywords and categories")
    if "example" in (p.get("repository") or "") + (p.get("homepage") or ""):
        bad.append(f"{p['name']}: placeholder address")
    if "targets" not in ((p["metadata"] or {}).get("docs") or {}).get("rs", {}):
        bad.append(f"{p['name']}: no [package.metadata.docs.rs] targets")
print("\n".join(bad) or "ok")
sys.exit(1 if bad else 0)
EOF

say "2. packages"
pkgs=()
while IFS=$'\t' read -r name _; do pkgs+=(-p "$name"); done <<<"$published"
# cargo unpacks the packages it verifies into its registry cache under
# their name and version (0.1.0 until a release), and reuses what an
# earlier run left there: a stale evbase-core failed the verification of
# the others. Our crates never come from a registry, so those copies go.
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/evbase-* "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/evbase-*
# The same for the .crate files of an earlier run in the target directory.
rm -rf "$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/package"
# tests/ stay out of the packages (they are the repository's; evbase-libevent's
# need libevent's source tree), so cargo says it drops those test targets.
cargo package --allow-dirty "${pkgs[@]}" 2>&1 \
    | { grep -Ev '^\s+(Compiling|Checking|Downloaded|Downloading|Unpacking)|^warning: ignoring test `.*` as `tests/' || true; }
while IFS=$'\t' read -r name version _; do
    list=$(cargo package --list --allow-dirty -p "$name" 2>/dev/null)
    for f in LICENSE-MIT LICENSE-APACHE README.md; do
        grep -qx "$f" <<<"$list" || { echo "$name: $f missing from the package"; exit 1; }
        # Symlinks in the repository, regular files in the .crate.
        tar -tvzf "$target_dir/package/$name-$version.crate" "$name-$version/$f" | grep -q '^-' \
            || { echo "$name: $f is not a regular file in the .crate"; exit 1; }
    done
    if grep -q '^tests/' <<<"$list"; then echo "$name: tests/ in the package"; exit 1; fi
    echo "$name: $(wc -l <<<"$list") files, $(du -k "$target_dir/package/$name-$version.crate" | cut -f1) KiB packed"
done <<<"$published"

say "3. docs.rs configurations, with -D warnings"
docs_plan=$(python3 - "$meta" <<'EOF'
import json, sys
for p in json.load(open(sys.argv[1]))["packages"]:
    if p["publish"] == []:
        continue
    d = p["metadata"]["docs"]["rs"]
    args = []
    if d.get("all-features"):
        args.append("--all-features")
    if d.get("no-default-features"):
        args.append("--no-default-features")
    if d.get("features"):
        args += ["--features", ",".join(d["features"])]
    flags = " ".join(d.get("rustdoc-args", []))
    for target in d["targets"]:
        print(p["name"], target, " ".join(args) or "-", flags or "-", sep="\t")
EOF
)
mapfile -t doc_targets < <(cut -f2 <<<"$docs_plan" | sort -u | grep -vx "$host" || true)
[ ${#doc_targets[@]} -eq 0 ] || rustup target add "${doc_targets[@]}" >/dev/null
while IFS=$'\t' read -r name target args flags; do
    [ "$args" = - ] && args=""
    [ "$flags" = - ] && flags=""
    # The host's pages share the build of the other checks (no --target).
    tflag=(--target "$target")
    [ "$target" = "$host" ] && tflag=()
    echo "$name on $target ${args:-(default features)}"
    # shellcheck disable=SC2086
    RUSTDOCFLAGS="-D warnings --cfg docsrs $flags" cargo doc -q --no-deps -p "$name" "${tflag[@]}" $args
done <<<"$docs_plan"

say "4. evbase-std: an example for every public item"
rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || true
cargo +nightly rustdoc -q -p evbase-std --lib -- -Z unstable-options --output-format json
python3 tools/doc-examples.py "$target_dir/doc/evbase_std.json"

say "5. evbase-core: every set of features checks alone"
features=$(python3 - "$meta" <<'EOF'
import json, sys
p = next(p for p in json.load(open(sys.argv[1]))["packages"] if p["name"] == "evbase-core")
print(" ".join(f for f in p["features"] if f != "default"))
EOF
)
read -ra fs <<<"$features"
for ((mask = 0; mask < 1 << ${#fs[@]}; mask++)); do
    set_=()
    for i in "${!fs[@]}"; do (((mask >> i) & 1)) && set_+=("${fs[$i]}"); done
    joined=$(IFS=,; echo "${set_[*]}")
    echo "evbase-core --features '${joined}'"
    cargo check -q -p evbase-core --all-targets --no-default-features --features "$joined"
done

msrv=$(python3 - "$meta" <<'EOF'
import json, sys
print(next(p for p in json.load(open(sys.argv[1]))["packages"] if p["name"] == "evbase-core")["rust_version"])
EOF
)
say "6. the minimum Rust version, $msrv"
msrv_targets=(thumbv7em-none-eabihf x86_64-pc-windows-gnu x86_64-unknown-freebsd)
rustup toolchain install "$msrv" --profile minimal >/dev/null
rustup target add --toolchain "$msrv" "${msrv_targets[@]}" >/dev/null
m=(cargo "+$msrv" check -q --locked)
echo "Linux, every target of every crate"
"${m[@]}" --workspace --all-targets
echo "Cortex-M, no_std (with and without alloc)"
"${m[@]}" -p evbase-core --target thumbv7em-none-eabihf
"${m[@]}" -p evbase-core --target thumbv7em-none-eabihf --features alloc
echo "Windows"
"${m[@]}" -p evbase-windows -p evbase-std -p evbase-tests --all-targets --target x86_64-pc-windows-gnu
echo "FreeBSD (kqueue)"
"${m[@]}" -p evbase-posix -p evbase-std --all-targets --target x86_64-unknown-freebsd

say "7. semver against the last release"
tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null || true)
if [ -n "$tag" ] && [ "$(git rev-list -n1 "$tag")" = "$(git rev-parse HEAD)" ]; then
    # HEAD is the release: compare it with the one before.
    tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*' HEAD^ 2>/dev/null || true)
fi
if [ -z "$tag" ]; then
    echo "skipped: no release tag (v*) yet; cargo semver-checks runs once one exists"
else
    command -v cargo-semver-checks >/dev/null || cargo install cargo-semver-checks --locked
    while IFS=$'\t' read -r name _ dir; do
        rel=${dir#"$PWD"/}
        if git cat-file -e "$tag:$rel/Cargo.toml" 2>/dev/null; then
            echo "$name against $tag"
            cargo semver-checks -p "$name" --baseline-rev "$tag"
        else
            echo "$name: new since $tag"
        fi
    done <<<"$published"
fi

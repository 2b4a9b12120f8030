#!/usr/bin/env bash
# A fuzzing campaign on one target, resumed from the committed corpus:
#
#   fuzz/campaign.sh TARGET SECONDS
#
# 1. builds TARGET without AddressSanitizer (-s none; release with debug
#    assertions and overflow checks, cargo-fuzz's default): about 3 times
#    the executions per second of the ASan build, and the core has no
#    unsafe code for ASan to watch;
# 2. runs it under `nice -n 19` for SECONDS from seeds/TARGET (the
#    committed corpus, read-only) and corpus/TARGET (the working corpus,
#    ignored by git, where new inputs go);
# 3. appends a line to campaigns.tsv: date, commit, target, seconds,
#    executions, executions per second, final cov and ft, crashes;
# 4. minimises seeds/TARGET + corpus/TARGET with `cargo fuzz cmin` into
#    seeds/TARGET (commit it);
# 5. replays every input of seeds/TARGET once on the ASan build, so that
#    each path the corpus reaches is also checked for memory errors (the
#    dependencies' unsafe code: heapless, the allocator).
#
# A crash stops the script after step 3, with the input in
# artifacts/TARGET/: `cargo +nightly fuzz tmin -s none TARGET <input>`
# minimises it, `cargo +nightly fuzz fmt TARGET <input>` prints it; the
# minimised input goes to regressions/TARGET/ under a name that says what
# failed (CI replays those; cmin never drops them).
# CAMPAIGN_NICE (default 19) and CAMPAIGN_JOBS (default 1) may be set.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: campaign.sh TARGET SECONDS}
seconds=${2:?usage: campaign.sh TARGET SECONDS}
[ -f "fuzz_targets/$target.rs" ] || { echo "no fuzz target $target"; exit 2; }
nice_level=${CAMPAIGN_NICE:-19}

mkdir -p "seeds/$target" "corpus/$target" "artifacts/$target" logs
log="logs/$target-$(date +%Y%m%dT%H%M%S).log"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain -- ../core 2>/dev/null)" ] || commit="$commit+dirty-core"

nice -n "$nice_level" cargo +nightly fuzz build -s none "$target"
crashes_before=$(find "artifacts/$target" -type f | wc -l)
set +e
nice -n "$nice_level" cargo +nightly fuzz run -s none "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
    -artifact_prefix="artifacts/$target/" >"$log" 2>&1
rc=$?
set -e
crashes=$(($(find "artifacts/$target" -type f | wc -l) - crashes_before))

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
# The last status line ("#N DONE cov: C ft: F ..."; a crash ends without DONE).
last=$(grep -E '^#[0-9]+.*cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
if [ -z "$execs" ]; then # no final stats after a crash: the last status line
    execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")
    rate=$(sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p' <<<"$last")
fi
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$commit" "$target" "$seconds" \
    "${execs:-0}" "${rate:-0}" "${cov:-?}" "${ft:-?}" "$crashes" >>campaigns.tsv
echo "$target: ${execs:-0} executions in ${seconds} s (${rate:-0}/s), cov ${cov:-?} ft ${ft:-?}, $crashes crash(es); log $log"
if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    grep -E 'panicked|SUMMARY|ERROR' "$log" | head -5
    echo "crash input(s): $(find "artifacts/$target" -type f -newer "$log" -o -type f -cnewer "$log" | sort -u | tr '\n' ' ')"
    exit 1
fi

# Minimise into seeds/TARGET: cmin keeps the smallest inputs that reach
# every feature of the union.
cp -n "seeds/$target"/* "corpus/$target"/ 2>/dev/null || true
nice -n "$nice_level" cargo +nightly fuzz cmin -s none "$target" "corpus/$target" -- -rss_limit_mb=2048 >>"$log" 2>&1
rm -rf "seeds/$target"
cp -r "corpus/$target" "seeds/$target"
echo "seeds/$target: $(find "seeds/$target" -type f | wc -l) inputs, $(du -sk "seeds/$target" | cut -f1) KiB"

# Every minimised input once under AddressSanitizer.
nice -n "$nice_level" cargo +nightly fuzz run "$target" "seeds/$target" -- -runs=0 -rss_limit_mb=2048 \
    -artifact_prefix="artifacts/$target/" >>"$log" 2>&1 \
    || { echo "ASan replay of seeds/$target failed: see $log"; exit 1; }
echo "ASan replay of seeds/$target: clean"

#!/usr/bin/env bash
# bench/run.sh: measure authkit against the libraries people would pick
# instead, and write bench/RESULTS.md (PERF.md's method: anchor and authkit in
# the same `go test -bench` invocations, interleaved, medians via benchstat).
#
#   bench/run.sh            full run: ROUNDS (10) invocations of the compiled
#                           benchmark binary, each -count 1 -benchtime 300ms,
#                           plus the password benchmarks at a fixed 20x per
#                           round; then benchstat and RESULTS.md (≈10 min on
#                           the 2-vCPU VM).
#   bench/run.sh -smoke     every benchmark once at -benchtime=100x; checks
#                           that they compile and run, asserts nothing.
#   bench/run.sh -profile REGEX
#                           CPU and memory profiles of the benchmarks matching
#                           REGEX into $PROFILE_DIR (default
#                           /tmp/authkit-bench-profiles), printing the top
#                           entries.
#
# Environment: ROUNDS, BENCHTIME, PW_BENCHTIME override the defaults. The
# store benchmarks (redis_test.go, sql_test.go) read their own variables.
set -euo pipefail

cd "$(dirname "$0")"
BENCH_DIR=$(pwd)
BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da
ROUNDS=${ROUNDS:-10}
BENCHTIME=${BENCHTIME:-300ms}
PW_BENCHTIME=${PW_BENCHTIME:-20x}
SLOW='^BenchmarkPasswordVerify' # argon2id: fixed iteration count

case "${1:-}" in
-smoke)
	exec go test -count=1 -run '^$' -bench . -benchtime=100x ./...
	;;
-profile)
	re=${2:?usage: run.sh -profile REGEX}
	P=${PROFILE_DIR:-/tmp/authkit-bench-profiles}
	mkdir -p "$P"
	go test -c -o "$P/bench.test" .
	# Two runs: sampling every allocation (memprofilerate 1) would dominate
	# a CPU profile taken at the same time.
	"$P/bench.test" -test.run '^$' -test.bench "$re" -test.benchtime "${BENCHTIME}" -test.benchmem \
		-test.cpuprofile "$P/cpu.out"
	"$P/bench.test" -test.run '^$' -test.bench "$re" -test.benchtime "${BENCHTIME}" -test.benchmem \
		-test.memprofile "$P/mem.out" -test.memprofilerate 1 >/dev/null
	echo "== CPU (flat, top 25)"
	go tool pprof -top -nodecount 25 "$P/bench.test" "$P/cpu.out" 2>/dev/null | tail -n +5
	echo "== CPU (cumulative, top 25)"
	go tool pprof -top -cum -nodecount 25 "$P/bench.test" "$P/cpu.out" 2>/dev/null | tail -n +5
	echo "== allocations (alloc_objects, top 25)"
	go tool pprof -sample_index=alloc_objects -top -nodecount 25 "$P/bench.test" "$P/mem.out" 2>/dev/null | tail -n +5
	echo "profiles in $P"
	exit 0
	;;
"") ;;
*)
	echo "usage: $0 [-smoke | -profile REGEX]" >&2
	exit 2
	;;
esac

START=$(date +%s)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# benchstat, pinned, from the Go module proxy (reinstalled only when the
# installed binary is another version).
GOBIN_DIR=$(go env GOBIN)
[ -n "$GOBIN_DIR" ] || GOBIN_DIR=$(go env GOPATH)/bin
BENCHSTAT=$GOBIN_DIR/benchstat
if ! go version -m "$BENCHSTAT" 2>/dev/null | grep -q "golang.org/x/perf.*$BENCHSTAT_VERSION"; then
	echo "installing benchstat@$BENCHSTAT_VERSION"
	GOFLAGS=-mod=mod go install "golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION"
fi

echo "building the benchmark binary"
go test -c -o "$WORK/bench.test" .
go build -o "$WORK/report" ./internal/report

RAW=$WORK/raw.txt
: >"$RAW"
for i in $(seq 1 "$ROUNDS"); do
	echo "round $i/$ROUNDS ($(($(date +%s) - START))s elapsed)"
	# Fast benchmarks: every one once per round, so drift on the shared
	# machine hits anchor and authkit alike.
	"$WORK/bench.test" -test.run '^$' -test.bench . -test.skip "$SLOW" \
		-test.benchtime "$BENCHTIME" -test.count 1 -test.benchmem >>"$RAW"
	# argon2id: fixed iterations (the benchmark warms up first).
	"$WORK/bench.test" -test.run '^$' -test.bench "$SLOW" \
		-test.benchtime "$PW_BENCHTIME" -test.count 1 -test.benchmem >>"$RAW"
done
if grep -q -E '^(--- FAIL|FAIL|panic:)' "$RAW"; then
	grep -E -A5 '^(--- FAIL|FAIL|panic:)' "$RAW" >&2
	echo "a benchmark failed; RESULTS.md not written" >&2
	exit 1
fi
ELAPSED=$(($(date +%s) - START))

CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
NCPU=$(nproc)
# benchstat: a table per benchmark, a column per implementation (the first,
# usually the anchor or raw primitive, is the base of the "vs base" deltas).
"$BENCHSTAT" -table .name -col /impl "$RAW" >"$WORK/benchstat.txt" 2>&1 || "$BENCHSTAT" "$RAW" >"$WORK/benchstat.txt"

"$WORK/report" -raw "$RAW" -benchstat "$WORK/benchstat.txt" \
	-cpu "$CPU ($NCPU CPUs)" -go "$(go version)" -date "$(date -u '+%Y-%m-%d %H:%M UTC')" \
	-elapsed "$((ELAPSED / 60))m$((ELAPSED % 60))s" -notes "$BENCH_DIR/NOTES.md" \
	-cmd "$ROUNDS rounds of \`bench.test -test.bench . -test.benchtime $BENCHTIME -test.count 1\`, interleaved with \`-test.bench '$SLOW' -test.benchtime $PW_BENCHTIME\`; benchstat $BENCHSTAT_VERSION" \
	>"$BENCH_DIR/RESULTS.md"
cp "$RAW" "$BENCH_DIR/results-raw.txt"
echo "wrote $BENCH_DIR/RESULTS.md and results-raw.txt in $((ELAPSED / 60))m$((ELAPSED % 60))s"
grep -E '^[0-9]+ met' "$BENCH_DIR/RESULTS.md" || true

// Command report turns the raw output of bench/run.sh's `go test -bench`
// invocations into bench/RESULTS.md: the machine, the medians of every
// benchmark, and every ratio docs/PERF.md names, each marked met or missed.
//
// Usage (run.sh does this):
//
//	go run ./internal/report -raw raw.txt -benchstat benchstat.txt \
//		-cpu "$CPU" -go "$(go version)" -date "$(date -u)" -cmd "..." > RESULTS.md
//
// Medians are computed here the way benchstat computes them (the middle
// value, or the mean of the two middle values), so the ratios agree with the
// benchstat tables that follow them.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// samples maps benchmark name (without the -GOMAXPROCS suffix) to unit to
// the values of every run.
type samples map[string]map[string][]float64

var procSuffix = regexp.MustCompile(`-\d+$`)

func parse(r io.Reader, s samples) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // a "BenchmarkX ... FAIL" or log line
		}
		name := procSuffix.ReplaceAllString(f[0], "")
		if s[name] == nil {
			s[name] = map[string][]float64{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			s[name][f[i+1]] = append(s[name][f[i+1]], v)
		}
	}
	return sc.Err()
}

func median(v []float64) float64 {
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	n := len(c)
	if n%2 == 1 {
		return c[n/2]
	}
	return (c[n/2-1] + c[n/2]) / 2
}

// get returns the median of name's unit, and whether it was measured.
func (s samples) get(name, unit string) (float64, bool) {
	v := s[name][unit]
	if len(v) == 0 {
		return 0, false
	}
	return median(v), true
}

// row is one line of the ratio table.
type row struct {
	what, value, target, status string
}

type report struct {
	s      samples
	factor float64 // this machine's bare handler time / docs/PERF.md's
	rows   []row
	met    int
	miss   []string
	nm     []string
}

// add records a row; ok==nil means informational (no docs/PERF.md target).
func (r *report) add(what, value, target string, ok *bool) {
	st := "info"
	switch {
	case ok == nil:
	case *ok:
		st = "**met**"
		r.met++
	default:
		st = "**MISSED**"
		r.miss = append(r.miss, what)
	}
	r.rows = append(r.rows, row{what, value, target, st})
}

func (r *report) missing(what, target, why string) {
	r.rows = append(r.rows, row{what, "not measured: " + why, target, "not measured"})
	r.nm = append(r.nm, what)
}

func b(v bool) *bool { return &v }

func ns(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f ms", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.2f µs", v/1e3)
	default:
		return fmt.Sprintf("%.1f ns", v)
	}
}

// ratio adds "a / b" of ns/op with an optional limit (limit <= 0: info).
func (r *report) ratio(what, a, bn string, limit float64, target string) {
	x, ok1 := r.s.get(a, "ns/op")
	y, ok2 := r.s.get(bn, "ns/op")
	if !ok1 || !ok2 {
		r.missing(what, target, "no "+pick(ok1, bn, a))
		return
	}
	val := fmt.Sprintf("%.3f× (%s / %s)", x/y, ns(x), ns(y))
	if limit <= 0 {
		r.add(what, val, target, nil)
		return
	}
	r.add(what, val, target, b(x/y <= limit))
}

func pick(ok bool, a, b string) string {
	if ok {
		return a
	}
	return b
}

// scaled notes what an absolute time would be at the speed of the machine
// docs/PERF.md's absolute targets were set on.
func (r *report) scaled(v float64) string {
	if r.factor <= 0 {
		return ""
	}
	return fmt.Sprintf("; ≈ %s at docs/PERF.md's machine speed (÷ %.2f)", ns(v/r.factor), r.factor)
}

func (r *report) build() {
	s := r.s
	// Machine factor: docs/PERF.md's bare handler (httptest request + recorder,
	// "ok") took 3.7 µs on the machine its absolute µs targets come from.
	if bt, ok := s.get("BenchmarkSession/op=read/impl=bare", "ns/op"); ok {
		r.factor = bt / 3700
		r.add("machine factor: bare httptest handler here / docs/PERF.md's 3.7 µs",
			fmt.Sprintf("%.2f× (%s)", r.factor, ns(bt)), "— (absolute µs targets were set on a machine this much faster)", nil)
	}
	// --- JWT verify
	for _, alg := range []string{"ES256", "EdDSA", "RS256", "HS256"} {
		p := "BenchmarkJWTVerify/alg=" + alg + "/impl="
		switch alg {
		case "ES256", "EdDSA":
			r.ratio("verify "+alg+": authkit / raw primitive", p+"authkit", p+"raw", 1.15, "≤ 1.15×")
		case "RS256":
			r.ratio("verify "+alg+": authkit / raw primitive", p+"authkit", p+"raw", 1.2, "≤ 1.2×")
		case "HS256":
			t, ok1 := s.get(p+"authkit", "ns/op")
			a, ok2 := s.get(p+"authkit", "allocs/op")
			if ok1 && ok2 {
				r.add("verify HS256: authkit time and allocs", fmt.Sprintf("%s, %.0f allocs%s", ns(t), a, r.scaled(t)),
					"≤ 6 µs and ≤ 30 allocs", b(t <= 6000 && a <= 30))
			} else {
				r.missing("verify HS256: authkit time and allocs", "≤ 6 µs and ≤ 30 allocs", "no authkit HS256")
			}
			// docs/PERF.md's 6 µs was set on a CPU with SHA extensions, where the
			// raw HMAC is 0.73–0.83 µs. On a CPU without them the HMAC alone
			// can take several µs, so the same budget is also judged as the
			// time authkit adds beyond the raw primitive: 6 − 0.78 µs.
			rt, ok3 := s.get(p+"raw", "ns/op")
			if ok1 && ok3 {
				r.add("verify HS256: authkit − raw primitive (the 6 µs budget less docs/PERF.md's raw HMAC median)",
					fmt.Sprintf("%s (%s − %s)", ns(t-rt), ns(t), ns(rt)), "≤ 5.22 µs", b(t-rt <= 5220))
			}
			r.ratio("verify HS256: authkit / raw primitive", p+"authkit", p+"raw", 0, "—")
		}
		r.ratio("verify "+alg+": authkit / golang-jwt/v5", p+"authkit", p+"golang-jwt", 1.0, "≤ 1.0× (no slower)")
		r.ratio("verify "+alg+": authkit / jwx/v3 jwt.Parse", p+"authkit", p+"jwx-jwt", 0, "—")
		r.ratio("verify "+alg+": authkit / jwx/v3 jws.Verify (signature only)", p+"authkit", p+"jwx-jws", 0, "—")
		pp := "BenchmarkJWTVerifyPaired/alg=" + alg
		if v, ok := s.get(pp, "authkit/raw"); ok {
			g, _ := s.get(pp, "authkit/golang-jwt")
			r.add("verify "+alg+" (paired batches, min-of-batch): authkit/raw, authkit/golang-jwt",
				fmt.Sprintf("%.3f×, %.3f×", v, g), "cross-check", nil)
		}
	}
	// --- JWT issue
	for _, alg := range []string{"ES256", "EdDSA", "RS256", "HS256"} {
		p := "BenchmarkJWTIssue/alg=" + alg + "/impl="
		r.ratio("issue "+alg+": authkit / golang-jwt/v5", p+"authkit", p+"golang-jwt", 1.0, "≤ 1.0× (\"any algorithm: no slower than golang-jwt\", applied to issuing)")
		r.ratio("issue "+alg+": authkit / raw primitive sign", p+"authkit", p+"raw", 0, "—")
		r.ratio("issue "+alg+": authkit / jwx/v3 jwt.Sign", p+"authkit", p+"jwx-jwt", 0, "—")
	}
	// --- RBAC
	for _, c := range []string{"direct", "inherited", "denied"} {
		p := "BenchmarkRBAC/case=" + c + "/impl="
		x, ok1 := s.get(p+"authkit-Can", "ns/op")
		a, ok2 := s.get(p+"authkit-Can", "allocs/op")
		m, ok3 := s.get(p+"map", "ns/op")
		if ok1 && ok2 && ok3 {
			r.add("rbac "+c+": Policy.Can / plain map, allocs",
				fmt.Sprintf("%.2f× (%s / %s), %.0f allocs", x/m, ns(x), ns(m), a), "≤ 2× and 0 allocs", b(x/m <= 2 && a == 0))
		} else {
			r.missing("rbac "+c+": Policy.Can / plain map, allocs", "≤ 2× and 0 allocs", "benchmark absent")
		}
		r.ratio("rbac "+c+": RoleSet.Can / plain map", p+"authkit-RoleSet", p+"map", 0, "—")
		r.ratio("rbac "+c+": casbin Enforce / Policy.Can (speed-up)", p+"casbin", p+"authkit-Can", 0, "≈ 200× expected")
		r.ratio("rbac "+c+": casbin CachedEnforcer / Policy.Can", p+"casbin-cached", p+"authkit-Can", 0, "—")
	}
	// --- Session middleware
	for _, op := range []string{"read", "write"} {
		p := "BenchmarkSession/op=" + op + "/impl="
		bt, ok1 := s.get(p+"bare", "ns/op")
		ba, _ := s.get(p+"bare", "allocs/op")
		at, ok2 := s.get(p+"authkit", "ns/op")
		aa, _ := s.get(p+"authkit", "allocs/op")
		st, ok3 := s.get(p+"scs", "ns/op")
		sa, _ := s.get(p+"scs", "allocs/op")
		what := "session " + op + " (memstore): time added by authkit / added by scs; allocs added"
		target := "≤ ⅓ and ≤ 40 allocs"
		if !(ok1 && ok2 && ok3) {
			r.missing(what, target, "benchmark absent")
			continue
		}
		val := fmt.Sprintf("%.3f× (authkit +%s, +%.0f allocs [%.0f total]; scs +%s, +%.0f allocs; bare %s, %.0f allocs)",
			(at-bt)/(st-bt), ns(at-bt), aa-ba, aa, ns(st-bt), sa-ba, ns(bt), ba)
		if op == "read" {
			r.add(what, val, target, b((at-bt)/(st-bt) <= 1.0/3 && aa-ba <= 40))
		} else {
			r.add(what, val, "— (docs/PERF.md sets the target for read-only requests)", nil)
		}
	}
	// Redis/SQL stores: round trips are reported as a custom metric by the
	// store benchmarks (bench/redis_test.go, bench/sql_test.go) when present.
	var rt []string
	for name, units := range s {
		for u := range units {
			if strings.Contains(strings.ToLower(u), "roundtrip") || strings.Contains(strings.ToLower(u), "round-trip") {
				rt = append(rt, name+"\x00"+u)
			}
		}
	}
	sort.Strings(rt)
	for _, k := range rt {
		name, u, _ := strings.Cut(k, "\x00")
		v, _ := s.get(name, u)
		if strings.Contains(strings.ToLower(name), "read") {
			r.add("session read-only request, "+strings.TrimPrefix(name, "Benchmark")+": "+u, fmt.Sprintf("%.2f", v), "1 round trip", b(v <= 1))
		} else {
			r.add(strings.TrimPrefix(name, "Benchmark")+": "+u, fmt.Sprintf("%.2f", v), "—", nil)
		}
	}
	if len(rt) == 0 {
		r.missing("session middleware, Redis or PostgreSQL: round trips per read-only request", "1 round trip",
			"no benchmark reports a round-trip metric (see RESULTS.md notes)")
	}
	for name := range s {
		if strings.HasPrefix(name, "BenchmarkSession") && !strings.HasPrefix(name, "BenchmarkSession/op=") {
			if t, ok := s.get(name, "ns/op"); ok {
				a, _ := s.get(name, "allocs/op")
				r.add(strings.TrimPrefix(name, "Benchmark"), fmt.Sprintf("%s, %.0f allocs", ns(t), a), "—", nil)
			}
		}
	}
	// --- RequireAuth + RequirePermission
	// impl=raw is the bare handler plus the raw signature check, impl=verify
	// the bare handler plus Verifier.Verify; both build the same request.
	for _, alg := range []string{"HS256", "ES256"} {
		p := "BenchmarkMiddleware/alg=" + alg + "/impl="
		what := "RequireAuth + RequirePermission (" + alg + ", bearer) beyond the signature check: full request − (bare handler + raw signature check)"
		target := "≤ 3 µs and ≤ 25 allocs"
		ft, ok1 := s.get(p+"authkit", "ns/op")
		fa, _ := s.get(p+"authkit", "allocs/op")
		bt, ok2 := s.get(p+"bare", "ns/op")
		ba, _ := s.get(p+"bare", "allocs/op")
		rt, ok3 := s.get(p+"raw", "ns/op")
		ra, _ := s.get(p+"raw", "allocs/op")
		vt, ok4 := s.get(p+"verify", "ns/op")
		va, _ := s.get(p+"verify", "allocs/op")
		if !(ok1 && ok2 && ok3) {
			r.missing(what, target, "middleware.RequireAuth/RequirePermission benchmark absent")
			continue
		}
		extra, extraA := ft-rt, fa-ra
		val := fmt.Sprintf("%s, %.0f allocs (full %s / %.0f allocs; bare %s / %.0f; bare+raw signature %s / %.0f)%s",
			ns(extra), extraA, ns(ft), fa, ns(bt), ba, ns(rt), ra, r.scaled(extra))
		if alg == "HS256" {
			r.add(what, val, target, b(extra <= 3000 && extraA <= 25))
		} else {
			// The ES256 signature alone varies by several µs between runs,
			// so the difference is reported, not judged.
			r.add(what, val, target+" (judged on HS256: this difference is within the ES256 signature's noise)", nil)
		}
		if ok4 {
			w := "RequireAuth + RequirePermission (" + alg + "): the middleware's own work (the middleware alone) = full − (bare + Verifier.Verify)"
			v := fmt.Sprintf("%s, %.0f allocs%s", ns(ft-vt), fa-va, r.scaled(ft-vt))
			if alg == "HS256" {
				r.add(w, v, target, b(ft-vt <= 3000 && fa-va <= 25))
			} else {
				r.add(w, v, target+" (judged on HS256)", nil)
			}
		}
	}
	// --- TOTP
	for _, c := range []string{"match", "miss"} {
		p := "BenchmarkTOTP/case=" + c + "/impl="
		r.ratio("TOTP verify, "+c+": authkit / pquerna/otp ValidateCustom", p+"authkit", p+"pquerna", 1.0, "≤ 1.0× (no slower)")
	}
	// --- Passkey sign-in finish
	// Judged on the paired benchmark (the three finishes timed in turn in
	// every iteration, median of each per round), for the same reason as
	// the password row. WebAuthn verification stays on go-webauthn, so when
	// ≤ 1.3× is missed docs/PERF.md's rule for hand-written code relaxes
	// the target to "no slower than the peer": go-webauthn used directly.
	pk := "BenchmarkPasskeyFinishPaired"
	if v, ok := s.get(pk, "authkit/raw"); ok {
		a, _ := s.get(pk, "authkit-ns/op")
		g, _ := s.get(pk, "gowebauthn-ns/op")
		w, _ := s.get(pk, "raw-ns/op")
		gw, _ := s.get(pk, "gowebauthn/raw")
		ag, _ := s.get(pk, "authkit/gowebauthn")
		met := v <= 1.3
		r.add("passkey sign-in finish (ES256), paired: authkit / raw signature check + one store read",
			fmt.Sprintf("%.3f× (%s / %s; median over rounds of per-round medians)", v, ns(a), ns(w)), "≤ 1.3×", b(met))
		r.add("passkey sign-in finish, paired: go-webauthn used directly (the peer) / raw",
			fmt.Sprintf("%.3f× (%s / %s)", gw, ns(g), ns(w)), "— (the floor go-webauthn's own parsing and checks set)", nil)
		peer := fmt.Sprintf("%.3f× (%s / %s)", ag, ns(a), ns(g))
		if met {
			r.add("passkey sign-in finish, paired: authkit / go-webauthn used directly", peer,
				"≤ 1.0× only if the row above is missed (no slower than the peer)", nil)
		} else {
			r.add("passkey sign-in finish, paired: authkit / go-webauthn used directly", peer,
				"≤ 1.0× (≤ 1.3× missed; relaxed to no slower than the peer)", b(ag <= 1.0))
		}
	} else {
		r.missing("passkey sign-in finish, paired: authkit / raw signature check + one store read", "≤ 1.3×", "paired benchmark absent")
	}
	p := "BenchmarkPasskeyFinish/impl="
	r.ratio("passkey sign-in finish, separate sub-benchmarks: authkit / raw", p+"authkit", p+"raw", 0, "≤ 1.3× (judged on the paired row)")
	r.ratio("passkey sign-in finish, separate sub-benchmarks: authkit / go-webauthn used directly", p+"authkit", p+"gowebauthn", 0, "(judged on the paired row)")
	if a, ok := s.get(p+"authkit", "allocs/op"); ok {
		g, _ := s.get(p+"gowebauthn", "allocs/op")
		w, _ := s.get(p+"raw", "allocs/op")
		r.add("passkey sign-in finish: allocations, authkit vs go-webauthn vs raw", fmt.Sprintf("%.0f vs %.0f vs %.0f allocs", a, g, w), "—", nil)
	}
	// --- Password
	p = "BenchmarkPasswordVerify/impl="
	// Judged on the paired benchmark (one authkit hash and one argon2id hash
	// alternately, median of each per round): the machine drifts by more
	// than 2% between two separate sub-benchmarks. The separate medians
	// are shown for information.
	if v, ok := s.get("BenchmarkPasswordVerifyPaired", "authkit/argon2id"); ok {
		a, _ := s.get("BenchmarkPasswordVerifyPaired", "authkit-ns/op")
		g, _ := s.get("BenchmarkPasswordVerifyPaired", "argon2id-ns/op")
		r.add("password verify (OWASP m=19456 t=2 p=1), paired: authkit / alexedwards/argon2id",
			fmt.Sprintf("%.3f× (%s / %s; median over rounds of per-round medians)", v, ns(a), ns(g)), "≤ 1.02×", b(v <= 1.02))
	} else {
		r.missing("password verify, paired: authkit / alexedwards/argon2id", "≤ 1.02×", "paired benchmark absent")
	}
	r.ratio("password verify, separate sub-benchmarks: authkit / alexedwards/argon2id", p+"authkit", p+"argon2id", 0, "≤ 1.02× (judged on the paired row)")
	if a, ok := s.get(p+"authkit", "allocs/op"); ok {
		g, _ := s.get(p+"argon2id", "allocs/op")
		ab, _ := s.get(p+"authkit", "B/op")
		gb, _ := s.get(p+"argon2id", "B/op")
		r.add("password verify: allocations, authkit vs argon2id", fmt.Sprintf("%.0f vs %.0f allocs, %.2f vs %.2f MiB", a, g, ab/(1<<20), gb/(1<<20)), "—", nil)
	}
	if pk, ok := s.get(p+"authkit-parallel", "peak-live-MiB"); ok {
		cm, _ := s.get(p+"authkit-parallel", "capxm-MiB")
		hs, _ := s.get(p+"authkit-parallel", "hashes/s")
		// Slack of 1 MiB for everything else live in the test process.
		r.add("password verify, 4 goroutines per CPU: peak live heap vs MaxConcurrent × m",
			fmt.Sprintf("%.1f MiB vs %.1f MiB (%.1f hashes/s)", pk, cm, hs), "≤ cap × m (+1 MiB other live data)", b(pk <= cm+1))
	} else {
		r.missing("password verify: peak live heap vs MaxConcurrent × m", "≤ cap × m", "parallel benchmark absent")
	}
}

func main() {
	raw := flag.String("raw", "", "raw go test -bench output (required)")
	bs := flag.String("benchstat", "", "benchstat output to include")
	cpu := flag.String("cpu", "", "CPU model")
	gover := flag.String("go", "", "go version")
	date := flag.String("date", "", "date of the run")
	cmd := flag.String("cmd", "", "how the numbers were produced")
	elapsed := flag.String("elapsed", "", "wall time of the run")
	notes := flag.String("notes", "", "file with extra notes (markdown) to append")
	flag.Parse()
	if *raw == "" {
		fmt.Fprintln(os.Stderr, "report: -raw is required")
		os.Exit(2)
	}
	f, err := os.Open(*raw)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	s := samples{}
	if err := parse(f, s); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	f.Close()
	r := &report{s: s}
	r.build()

	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	fmt.Fprintf(w, "# authkit benchmark results\n\n")
	fmt.Fprintf(w, "Generated by `bench/run.sh`; do not edit by hand. Targets and anchors: `docs/PERF.md`.\n\n")
	fmt.Fprintf(w, "- CPU: %s\n- Date: %s\n- Go: %s\n", *cpu, *date, *gover)
	if flags := cpuFlags(); flags != nil && !flags["sha_ni"] {
		fmt.Fprintf(w, "- This CPU has no SHA extensions (no `sha_ni` in /proc/cpuinfo): SHA-256, and so HS256 and HMAC-SHA1 TOTP, "+
			"run several times slower than on the AMD EPYC (Zen 4) where docs/PERF.md's anchors were measured. Compare ratios, not absolute times.\n")
	}
	if *cmd != "" {
		fmt.Fprintf(w, "- Method: %s\n", *cmd)
	}
	if *elapsed != "" {
		fmt.Fprintf(w, "- Wall time of the run: %s\n", *elapsed)
	}
	fmt.Fprintf(w, "\nEvery figure is the median over all runs; every ratio is a ratio of two medians from the same `go test -bench` invocations (interleaved). ")
	fmt.Fprintf(w, "The machine is a shared VM: absolute times drift 10–15%% between runs, so compare ratios, not times, across files.\n\n")
	fmt.Fprintf(w, "## Targets (docs/PERF.md)\n\n%d met, %d missed, %d not measured.\n\n", r.met, len(r.miss), len(r.nm))
	if len(r.miss) > 0 {
		fmt.Fprintf(w, "Missed:\n")
		for _, m := range r.miss {
			fmt.Fprintf(w, "- %s\n", m)
		}
		fmt.Fprintln(w)
	}
	if len(r.nm) > 0 {
		fmt.Fprintf(w, "Not measured:\n")
		for _, m := range r.nm {
			fmt.Fprintf(w, "- %s\n", m)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "| what | measured | target | status |\n|---|---|---|---|\n")
	for _, x := range r.rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", x.what, x.value, x.target, x.status)
	}
	// Medians of everything.
	fmt.Fprintf(w, "\n## Medians\n\n| benchmark | runs | time/op | B/op | allocs/op | other |\n|---|---|---|---|---|---|\n")
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t, _ := s.get(n, "ns/op")
		bop, _ := s.get(n, "B/op")
		al, _ := s.get(n, "allocs/op")
		var other []string
		var units []string
		for u := range s[n] {
			if u != "ns/op" && u != "B/op" && u != "allocs/op" {
				units = append(units, u)
			}
		}
		sort.Strings(units)
		for _, u := range units {
			v, _ := s.get(n, u)
			other = append(other, fmt.Sprintf("%.4g %s", v, u))
		}
		fmt.Fprintf(w, "| %s | %d | %s | %.0f | %.0f | %s |\n", strings.TrimPrefix(n, "Benchmark"), len(s[n]["ns/op"]), ns(t), bop, al, strings.Join(other, ", "))
	}
	if *notes != "" {
		if nb, err := os.ReadFile(*notes); err == nil {
			fmt.Fprintf(w, "\n## Notes\n\n%s\n", strings.TrimSpace(string(nb)))
		}
	}
	if *bs != "" {
		if bb, err := os.ReadFile(*bs); err == nil {
			fmt.Fprintf(w, "\n## benchstat\n\nbenchstat over the same raw output (medians ± 95%% confidence interval):\n\n```\n%s\n```\n", strings.TrimSpace(string(bb)))
		}
	}
}

// cpuFlags returns the flags of the first CPU in /proc/cpuinfo, or nil.
func cpuFlags() map[string]bool {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "flags" {
			m := map[string]bool{}
			for _, f := range strings.Fields(v) {
				m[f] = true
			}
			return m
		}
	}
	return nil
}

package redisstore_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit-go/authkit/internal/testenv"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/store/redisstore"
)

// The cross-process test re-executes the test binary: with childEnv set,
// TestMain runs runChild instead of the tests.
const (
	childEnv       = "REDISSTORE_TEST_CHILD" // "single" or "cluster"
	childPrefixEnv = "REDISSTORE_TEST_CHILD_PREFIX"
	childRoundsEnv = "REDISSTORE_TEST_CHILD_ROUNDS"

	crossRounds     = 20
	crossGoroutines = 4                     // racers per process and item
	crossSlot       = 40 * time.Millisecond // every round starts on a shared wall-clock slot
	crossBurst      = 3                     // limiter burst: of all racers exactly this many are allowed
)

// childResult is what one child process reports: per round, how many of
// its goroutines won each race, and how many saw the refresh token at all.
type childResult struct {
	Refresh      []int      `json:"refresh"`       // rotations won
	RefreshFound []int      `json:"refresh_found"` // rotations won or retried (same successor)
	RefreshNext  [][]string `json:"refresh_next"`  // successor ids seen
	TOTP         []int      `json:"totp"`
	Backup       []int      `json:"backup"`
	MFAPut       []int      `json:"mfa_put"`
	Limit        []int      `json:"limit"`
	Errors       []string
}

// crossToken is the id of round i's refresh token (a token of user "u").
func crossToken(i int) string {
	return jwt.RefreshTokenID(fmt.Sprintf("%s%s%043d", jwt.RefreshTokenPrefix, jwt.RefreshShard("u"), i))
}

// crossNext is a fresh successor id in crossToken's shard.
func crossNext() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return jwt.RefreshTokenID(jwt.RefreshTokenPrefix + jwt.RefreshShard("u") + fmt.Sprintf("%043x", b))
}
func crossUser(i int) string { return fmt.Sprintf("cross-user-%d", i) }
func crossCode(i int) []byte { return []byte(fmt.Sprintf("cross-code-mac-%d\x00", i)) }

// TestCrossProcess races two OS processes, each with its own client and
// connection pool and several goroutines, on the same refresh tokens, TOTP
// steps, backup codes and MFA enrollment versions, on a single node and on
// the Cluster: exactly one caller in all wins each (one refresh per token,
// single-use backup codes, one TOTP step, one compare-and-set write per
// enrollment version; ASVS 6.5.1, RFC 9700 §4.14.2). They also race on one rate-limiter key per round: exactly
// crossBurst of the 8 calls are allowed.
func TestCrossProcess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		st := newStore(t, b.client(t), redisstore.Config{})
		ctx := t.Context()
		now := time.Now()
		for i := range crossRounds {
			if ok, err := st.RefreshTokens().Create(ctx, jwt.RefreshToken{ID: crossToken(i), FamilyID: fmt.Sprint("fam", i), UserID: "u",
				IssuedAt: now, Expiry: now.Add(time.Hour), FamilyExpiry: now.Add(time.Hour), SignIn: jwt.SignIn{AuthTime: now}}); err != nil || !ok {
				t.Fatalf("refresh Create: %v %v", ok, err)
			}
			seedMFA(t, st.MFA(), crossUser(i), crossCode(i), []byte("other"))
		}

		type proc struct {
			cmd   *exec.Cmd
			stdin io.WriteCloser
			out   *bufio.Reader
		}
		procs := make([]*proc, 2)
		for p := range procs {
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"="+strings.ToLower(b.name), childPrefixEnv+"="+st.Prefix(),
				childRoundsEnv+"="+strconv.Itoa(crossRounds))
			cmd.Stderr = os.Stderr
			stdin, err := cmd.StdinPipe()
			must(t, err)
			stdout, err := cmd.StdoutPipe()
			must(t, err)
			must(t, cmd.Start())
			procs[p] = &proc{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
		}
		for _, p := range procs {
			line, err := p.out.ReadString('\n')
			if err != nil || line != "ready\n" {
				t.Fatalf("child did not get ready: %q, %v", line, err)
			}
		}
		start := time.Now().Add(100 * time.Millisecond).UnixNano()
		for _, p := range procs {
			fmt.Fprintf(p.stdin, "%d\n", start)
			p.stdin.Close()
		}
		results := make([]childResult, len(procs))
		for i, p := range procs {
			out, err := io.ReadAll(p.out)
			must(t, err)
			must(t, p.cmd.Wait())
			if err := json.Unmarshal(out, &results[i]); err != nil {
				t.Fatalf("child output %q: %v", out, err)
			}
			for _, e := range results[i].Errors {
				t.Errorf("child %d: %s", i, e)
			}
		}
		won := make([]int, len(procs)) // refresh rounds won per process, for the log
		for r := range crossRounds {
			var refresh, found, totp, backup, limit, mfaPut int
			next := map[string]bool{}
			for i, res := range results {
				for _, n := range res.RefreshNext[r] {
					next[n] = true
				}
				limit += res.Limit[r]
				refresh += res.Refresh[r]
				found += res.RefreshFound[r]
				totp += res.TOTP[r]
				backup += res.Backup[r]
				mfaPut += res.MFAPut[r]
				won[i] += res.Refresh[r]
			}
			all := len(procs) * crossGoroutines
			if refresh != 1 || found != all || len(next) != 1 {
				t.Errorf("round %d: %d callers rotated the refresh token, %d rotated or retried, %d distinct successors; want exactly 1, %d and 1",
					r, refresh, found, len(next), all)
			}
			if totp != 1 {
				t.Errorf("round %d: %d callers claimed the TOTP step; want exactly 1", r, totp)
			}
			if backup != 1 {
				t.Errorf("round %d: %d callers spent the backup code; want exactly 1", r, backup)
			}
			if mfaPut != 1 {
				t.Errorf("round %d: %d callers won one MFA compare-and-set; want exactly 1", r, mfaPut)
			}
			if limit != crossBurst {
				t.Errorf("round %d: the limiter allowed %d of %d calls; want exactly %d", r, limit, all, crossBurst)
			}
		}
		t.Logf("refresh rounds won per process: %v", won)
		// The other backup code of each set is untouched.
		for i := range crossRounds {
			used, err := st.MFA().UseBackupCode(ctx, crossUser(i), []byte("other"))
			if err != nil || !used {
				t.Fatalf("other code of user %d: used=%v err=%v", i, used, err)
			}
		}
	})
}

// runChild is the body of a child process: it opens its own client, says
// "ready", reads the start time from stdin, then races in each round's
// wall-clock slot and prints a childResult as JSON.
func runChild() int {
	kind, prefix := os.Getenv(childEnv), os.Getenv(childPrefixEnv)
	rounds, _ := strconv.Atoi(os.Getenv(childRoundsEnv))
	var c redis.UniversalClient
	if kind == "cluster" {
		var addrs []string
		for _, a := range strings.Split(os.Getenv(testenv.RedisClusterAddrsEnv), ",") {
			addrs = append(addrs, strings.TrimSpace(a))
		}
		c = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	} else {
		opt, err := redis.ParseURL(os.Getenv(testenv.RedisURLEnv))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		c = redis.NewClient(opt)
	}
	defer c.Close()
	st, err := redisstore.New(redisstore.Config{Client: c, Prefix: prefix, Timeout: 30 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); err != nil { // connect before the race
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println("ready")
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	startNS, _ := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	start := time.Unix(0, startNS)

	lim, err := st.Limiter(redisstore.LimiterConfig{Name: "cross", Limit: crossBurst, Per: time.Hour})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	res := childResult{Refresh: make([]int, rounds), RefreshFound: make([]int, rounds), RefreshNext: make([][]string, rounds), TOTP: make([]int, rounds),
		Backup: make([]int, rounds), MFAPut: make([]int, rounds), Limit: make([]int, rounds)}
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		res.Errors = append(res.Errors, err.Error())
		mu.Unlock()
	}
	step := uint64(time.Now().Unix() / 30)
	for r := range rounds {
		time.Sleep(time.Until(start.Add(time.Duration(r) * crossSlot)))
		var wg sync.WaitGroup
		for range crossGoroutines {
			wg.Go(func() {
				rot, err := st.RefreshTokens().Rotate(ctx, jwt.Rotation{ID: crossToken(r), Now: time.Now(), Grace: time.Minute,
					Next: jwt.RefreshToken{ID: crossNext(), Expiry: time.Now().Add(time.Hour)}})
				if err != nil {
					fail(err)
				}
				ok, err := st.TOTPReplay().Advance(ctx, crossUser(r), step, time.Now().Add(time.Minute))
				if err != nil {
					fail(err)
				}
				used, err := st.MFA().UseBackupCode(ctx, crossUser(r), crossCode(r))
				if err != nil {
					fail(err)
				}
				put, err := crossPut(ctx, st.MFA(), crossUser(r))
				if err != nil {
					fail(err)
				}
				d, err := lim.Allow(ctx, crossUser(r))
				if err != nil {
					fail(err)
				}
				mu.Lock()
				defer mu.Unlock()
				switch rot.Outcome {
				case jwt.Rotated:
					res.Refresh[r]++
					res.RefreshFound[r]++
				case jwt.RotateRetried:
					res.RefreshFound[r]++
				}
				if rot.Outcome == jwt.Rotated || rot.Outcome == jwt.RotateRetried {
					res.RefreshNext[r] = append(res.RefreshNext[r], rot.Token.ID)
				}
				if ok {
					res.TOTP[r]++
				}
				if used {
					res.Backup[r]++
				}
				if put {
					res.MFAPut[r]++
				}
				if d.Allowed {
					res.Limit[r]++
				}
			})
		}
		wg.Wait()
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

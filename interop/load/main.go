// Command load is a load check for the example server. It builds and starts
// ./examples/server itself (in memory mode, with users imported from a
// generated -import file), then
//
//  1. logs in once and sends authenticated GET /api/me (Authorization:
//     Bearer) for -duration over -conns connections, and
//  2. fires a burst of -burst concurrent logins, each for a different
//     account (so the per-account lockout is not what is measured),
//
// and reports requests per second, p50/p99 latency, errors, and the server
// process's peak resident memory (VmHWM from /proc/PID/status, Linux only).
//
//	cd interop/load && go run . -duration 10s -conns 32 -burst 200
//
// It is a measurement, not a test: nothing fails on slow numbers.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

const password = "load-test passphrase 7f3c"

func main() {
	root := flag.String("root", "../..", "repository root (where go.mod of github.com/authkit-go/authkit is)")
	duration := flag.Duration("duration", 10*time.Second, "how long to send GET /api/me")
	conns := flag.Int("conns", 32, "concurrent connections for GET /api/me")
	burst := flag.Int("burst", 200, "concurrent logins in the burst")
	flag.Parse()
	if err := run(*root, *duration, *conns, *burst); err != nil {
		log.Fatal(err)
	}
}

// argon2idHash returns a PHC-format argon2id hash at the password package's
// default parameters (m=19456 KiB, t=2, p=1), so logins do not rehash.
func argon2idHash(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, 2, 19456, 1, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=19456,t=2,p=1$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

type server struct {
	cmd  *exec.Cmd
	url  string
	done chan error
}

// startServer builds and starts the example server with the import file.
func startServer(root, dir, importFile string) (*server, error) {
	bin := filepath.Join(dir, "server")
	build := exec.Command("go", "build", "-o", bin, "./examples/server")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-import", importFile)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, done: make(chan error, 1)}
	urlc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listening on (http://\S+)`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
		s.done <- cmd.Wait()
	}()
	select {
	case s.url = <-urlc:
		return s, nil
	case err := <-s.done:
		return nil, fmt.Errorf("server exited: %v (see %s)", err, logf.Name())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		return nil, errors.New("server did not start within 30 s")
	}
}

// memory reads VmHWM (peak RSS) and VmRSS of the server from /proc.
func (s *server) memory() (hwm, rss string) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return "n/a", "n/a"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			hwm = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			rss = strings.TrimSpace(v)
		}
	}
	return hwm, rss
}

func (s *server) stop() error {
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-s.done:
		return err
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		return errors.New("server did not stop within 15 s of SIGINT")
	}
}

// login posts to /auth/login and returns the status and the access token.
func login(ctx context.Context, c *http.Client, base, email string) (int, string, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/auth/login", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	for _, ck := range resp.Cookies() {
		if ck.Name == "__Host-access_token" {
			return resp.StatusCode, ck.Value, nil
		}
	}
	return resp.StatusCode, "", nil
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(p * float64(len(d)-1))
	return d[i]
}

func run(root string, duration time.Duration, conns, burst int) error {
	dir, err := os.MkdirTemp("", "authkit-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	hash, err := argon2idHash(password)
	if err != nil {
		return err
	}
	var imp strings.Builder
	enc := json.NewEncoder(&imp)
	_ = enc.Encode(map[string]any{"email": "load@example.com", "password_hash": hash, "roles": []string{"viewer"}})
	for i := range burst {
		_ = enc.Encode(map[string]any{"email": fmt.Sprintf("burst-%d@example.com", i), "password_hash": hash, "roles": []string{"viewer"}})
	}
	importFile := filepath.Join(dir, "users.jsonl")
	if err := os.WriteFile(importFile, []byte(imp.String()), 0o600); err != nil {
		return err
	}

	srv, err := startServer(root, dir, importFile)
	if err != nil {
		return err
	}
	defer srv.stop()
	hwm0, rss0 := srv.memory()
	fmt.Printf("server %s (pid %d), %d CPUs here, GOMAXPROCS %d\n", srv.url, srv.cmd.Process.Pid, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Printf("after start: VmHWM %s, VmRSS %s\n", hwm0, rss0)

	tr := &http.Transport{MaxIdleConns: conns + burst, MaxIdleConnsPerHost: conns + burst, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	ctx := context.Background()

	status, tok, err := login(ctx, client, srv.url, "load@example.com")
	if err != nil || status != 200 || tok == "" {
		return fmt.Errorf("login: status %d, token %t, err %v", status, tok != "", err)
	}

	// Phase 1: GET /api/me.
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		lat     []time.Duration
		errs    atomic.Int64
		codes   sync.Map
		stopAt  = time.Now().Add(duration)
		started = time.Now()
	)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for time.Now().Before(stopAt) {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.url+"/api/me", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				local = append(local, time.Since(t0))
				if resp.StatusCode != 200 {
					errs.Add(1)
					v, _ := codes.LoadOrStore(resp.StatusCode, new(atomic.Int64))
					v.(*atomic.Int64).Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(started)
	slices.Sort(lat)
	hwm1, rss1 := srv.memory()
	fmt.Printf("\nGET /api/me: %d conns for %s\n", conns, duration)
	fmt.Printf("  requests %d, %.0f req/s, p50 %s, p99 %s, max %s, errors %d\n",
		len(lat), float64(len(lat))/elapsed.Seconds(), percentile(lat, 0.50).Round(time.Microsecond),
		percentile(lat, 0.99).Round(time.Microsecond), percentile(lat, 1).Round(time.Microsecond), errs.Load())
	codes.Range(func(k, v any) bool { fmt.Printf("  status %v: %d\n", k, v.(*atomic.Int64).Load()); return true })
	fmt.Printf("  server VmHWM %s, VmRSS %s\n", hwm1, rss1)

	// Phase 2: a burst of concurrent logins, one per account.
	var (
		gate   = make(chan struct{})
		blat   = make([]time.Duration, burst)
		bcodes = make([]int, burst)
		berr   atomic.Int64
	)
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			t0 := time.Now()
			st, _, err := login(ctx, client, srv.url, fmt.Sprintf("burst-%d@example.com", i))
			blat[i] = time.Since(t0)
			bcodes[i] = st
			if err != nil {
				berr.Add(1)
			}
		}()
	}
	t0 := time.Now()
	close(gate)
	wg.Wait()
	wall := time.Since(t0)
	slices.Sort(blat)
	byCode := map[int]int{}
	for _, c := range bcodes {
		byCode[c]++
	}
	hwm2, rss2 := srv.memory()
	fmt.Printf("\nburst: %d concurrent POST /auth/login (argon2id m=19456 KiB t=2 p=1)\n", burst)
	fmt.Printf("  wall %s, %.1f logins/s, p50 %s, p99 %s, transport errors %d, status counts %v\n",
		wall.Round(time.Millisecond), float64(burst)/wall.Seconds(), percentile(blat, 0.50).Round(time.Millisecond),
		percentile(blat, 0.99).Round(time.Millisecond), berr.Load(), byCode)
	fmt.Printf("  server VmHWM %s (peak RSS over the whole run), VmRSS %s\n", hwm2, rss2)
	return nil
}

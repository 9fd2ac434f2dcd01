package authkit_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/password"
	"github.com/authkit-go/authkit/store/memstore"
)

// work counts the store and mailer calls of a request.
type work struct {
	mu    sync.Mutex
	calls map[string]int
}

func (w *work) add(op string) {
	w.mu.Lock()
	w.calls[op]++
	w.mu.Unlock()
}

func (w *work) take() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := fmt.Sprint(w.calls)
	w.calls = map[string]int{}
	return s
}

type countedUsers struct {
	*memstore.Users
	w *work
}

func (c countedUsers) UserByLogin(ctx context.Context, l string) (authkit.User, bool, error) {
	c.w.add("UserByLogin")
	return c.Users.UserByLogin(ctx, l)
}

func (c countedUsers) UserByID(ctx context.Context, id string) (authkit.User, bool, error) {
	c.w.add("UserByID")
	return c.Users.UserByID(ctx, id)
}

type countedAttempts struct {
	authkit.AttemptStore
	w *work
}

func (c countedAttempts) Incr(ctx context.Context, k string, d time.Duration) (int, time.Time, error) {
	c.w.add("Incr")
	return c.AttemptStore.Incr(ctx, k, d)
}

type countedTokens struct {
	authkit.TicketStore
	w *work
}

func (c countedTokens) Put(ctx context.Context, purpose, k string, data []byte, exp time.Time) error {
	c.w.add("Save")
	return c.TicketStore.Put(ctx, purpose, k, data, exp)
}

// switchMailer counts sends and fails while failing is set.
type switchMailer struct {
	w       *work
	mu      sync.Mutex
	failing bool
	box     *mailbox
}

func (m *switchMailer) Send(ctx context.Context, msg authkit.Mail) error {
	m.w.add("Send")
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failing {
		return errors.New("smtp: 451 try again later")
	}
	return m.box.Send(ctx, msg)
}

func (m *switchMailer) fail(on bool) { m.mu.Lock(); m.failing = on; m.mu.Unlock() }

func countedEnv(t *testing.T) (*env, *work, *switchMailer) {
	w := &work{calls: map[string]int{}}
	var sm *switchMailer
	e := newEnv(t, func(c *authkit.Config) {
		c.Users = countedUsers{c.Users.(*memstore.Users), w}
		c.Attempts = countedAttempts{c.Attempts, w}
		c.Tickets = countedTokens{c.Tickets, w}
		sm = &switchMailer{w: w, box: c.Mailer.(*mailbox)}
		c.Mailer = sm
	})
	return e, w, sm
}

// A reset request does the same work on the request path, and gets the
// same answer, for an existing, an unknown and a disabled account and with a
// failing mailer: the lookup, the token and the mail happen off the path.
func TestPasswordResetRequestDoesTheSameWorkForEveryAddress(t *testing.T) {
	e, w, sm := countedEnv(t)
	e.signup("known@example.com")
	dis := e.signup("disabled@example.com")
	if err := e.auth.DisableUser(context.Background(), dis, authkit.Client{}); err != nil {
		t.Fatal(err)
	}
	w.take()
	type answer struct {
		status int
		body   string
		work   string
	}
	var answers []answer
	cases := []struct {
		email   string
		failing bool
	}{{"known@example.com", false}, {"unknown@example.com", false}, {"known@example.com", true}, {"disabled@example.com", false}}
	for _, tc := range cases {
		sm.fail(tc.failing)
		r := e.client().post("/auth/password/forgot", map[string]string{"email": tc.email})
		answers = append(answers, answer{r.status, r.raw, w.take()})
		e.auth.ProcessMail(context.Background()) // off the request path
		w.take()
	}
	for i, a := range answers {
		if a != answers[0] {
			t.Errorf("case %d (%+v): %+v; case 0: %+v", i, cases[i], a, answers[0])
		}
	}
	if answers[0].status != http.StatusAccepted || answers[0].work != "map[Incr:2]" {
		t.Fatalf("answer %+v; want 202 and only the two throttle counts", answers[0])
	}
	if m := e.mail.last(); m.To != "known@example.com" || m.Purpose != authkit.PurposePasswordReset {
		t.Fatalf("the known account got no mail off the path: %+v", m)
	}
}

// A failing mailer is retried off the request path, a bounded number of
// times with a growing delay, then the mail is dropped and audited.
func TestMailIsRetriedThenDropped(t *testing.T) {
	e, w, sm := countedEnv(t)
	id := e.signup("known@example.com")
	ctx := context.Background()
	sm.fail(true)
	if err := e.auth.RequestPasswordReset(ctx, "known@example.com", authkit.Client{IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	w.take()
	if n := e.auth.ProcessMail(ctx); n != 1 {
		t.Fatalf("processed %d", n)
	}
	if n := e.auth.ProcessMail(ctx); n != 0 {
		t.Fatalf("retried before its delay: %d", n)
	}
	e.clock.Advance(30 * time.Second)
	e.auth.ProcessMail(ctx)
	e.clock.Advance(time.Minute)
	e.auth.ProcessMail(ctx)
	e.clock.Advance(time.Hour)
	if n := e.auth.ProcessMail(ctx); n != 0 {
		t.Fatalf("more than 3 attempts: %d", n)
	}
	if got := w.take(); got != "map[Save:1 Send:3 UserByLogin:1]" {
		t.Fatalf("work off the path %s; want one lookup, one token, three sends", got)
	}
	if ev := e.events.last(authkit.EventMailFailed); ev.UserID != id || ev.Reason != authkit.PurposePasswordReset {
		t.Fatalf("audit %+v", ev)
	}
}

// A verification request answers the same whether or not the address is
// verified already and whether or not the mailer works.
func TestEmailVerificationRequestDoesTheSameWork(t *testing.T) {
	e, w, sm := countedEnv(t)
	e.signup("new@example.com")
	vid := e.signup("done@example.com")
	if err := e.users.UpdateUser(context.Background(), vid, func(u *authkit.User) { u.EmailVerified = true }); err != nil {
		t.Fatal(err)
	}
	fresh, done := e.login("new@example.com"), e.login("done@example.com")
	w.take()
	var answers []string
	for _, tc := range []struct {
		c       *client
		failing bool
	}{{fresh, false}, {done, false}, {fresh, true}} {
		sm.fail(tc.failing)
		r := tc.c.post("/auth/email/verify-request", nil)
		answers = append(answers, fmt.Sprint(r.status, r.raw, w.take()))
		e.auth.ProcessMail(context.Background())
		w.take()
	}
	for i, a := range answers {
		if a != answers[0] {
			t.Errorf("case %d: %s; case 0: %s", i, a, answers[0])
		}
	}
}

// A full queue refuses with ErrBusy for every address alike.
func TestFullMailQueueAnswersBusy(t *testing.T) {
	e := newEnv(t, func(c *authkit.Config) { c.MailQueue = 2 })
	ctx := context.Background()
	e.signup("known@example.com")
	for i, addr := range []string{"a@example.com", "b@example.com", "known@example.com", "c@example.com"} {
		err := e.auth.RequestPasswordReset(ctx, addr, authkit.Client{})
		if (i < 2) != (err == nil) || (i >= 2 && !errors.Is(err, authkit.ErrBusy)) {
			t.Fatalf("request %d: %v", i, err)
		}
	}
}

// RunMailer sends what is queued until its context ends.
func TestRunMailer(t *testing.T) {
	e := newEnv(t)
	e.signup("known@example.com")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.auth.RunMailer(ctx) }()
	if err := e.auth.RequestPasswordReset(ctx, "known@example.com", authkit.Client{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.mail.last().To == "" && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunMailer returned %v", err)
	}
	if e.mail.last().To != "known@example.com" {
		t.Fatal("no mail sent")
	}
}

// BenchmarkRequestPasswordReset shows the request-path latency of a reset
// request for an existing and an unknown address with a 30 ms mailer: the
// medians match because the mail goes out off the request path.
func BenchmarkRequestPasswordReset(b *testing.B) {
	for _, addr := range []string{"known@example.com", "unknown@example.com"} {
		b.Run(addr, func(b *testing.B) {
			e := newBenchEnv(b)
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				e.clock.Advance(time.Hour) // past the per-address throttle
				start := time.Now()
				if err := e.auth.RequestPasswordReset(ctx, addr, authkit.Client{IP: "192.0.2.1"}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "median-ns")
		})
	}
}

type benchEnv struct {
	auth  *authkit.Auth
	clock *clock
}

// newBenchEnv is an Auth over memstore with a mailer that takes 30 ms and
// one account, known@example.com.
func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	hasher, err := password.New(password.Config{Params: cheapParams, InsecureAllowWeakParams: true})
	if err != nil {
		b.Fatal(err)
	}
	policy, err := password.NewPolicy(password.PolicyConfig{})
	if err != nil {
		b.Fatal(err)
	}
	key, err := jwt.GenerateKey(jwt.ES256, nil)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := jwt.NewKeySet(jwt.KeySetConfig{Keys: []*jwt.Key{key}})
	if err != nil {
		b.Fatal(err)
	}
	st := memtest.New(b, c.Now)
	a, err := authkit.New(authkit.Config{
		Users: st.Users(), Hasher: hasher, PasswordPolicy: policy, Keys: keys, TokenIssuer: "https://auth.test",
		RefreshStore: st.RefreshTokens(), NotBefore: st.NotBefore(),
		Attempts: st.Attempts(), Tickets: st.Tickets(),
		Mailer: mailerFunc(func(context.Context, authkit.Mail) error { time.Sleep(30 * time.Millisecond); return nil }),
		Audit:  authkit.NewAuditor(authkit.AuditConfig{DisableLog: true}), Now: c.Now, MailQueue: 1 << 22,
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.Signup(context.Background(), "known@example.com", goodPassword, authkit.Client{}); err != nil {
		b.Fatal(err)
	}
	return &benchEnv{auth: a, clock: c}
}

package storetestkit

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/session"
)

// Blackhole returns the address of a TCP listener that accepts
// connections and never answers; it closes them when t ends.
func Blackhole(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, conn) // held open, never read or answered
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// Stores are the accessors every backend has.
type Stores struct {
	Attempts      authkit.AttemptStore
	Tickets       authkit.TicketStore
	Sessions      session.Store
	RefreshTokens jwt.RefreshStore
	NotBefore     jwt.NotBeforeStore
	MFA           mfa.Store
	TOTPReplay    mfa.ReplayStore
}

// Calls returns one call of every method of s, by "Accessor.Method", for
// the tests that every method gives up within the backend's timeout.
// rotateID and nextID are the refresh token ids Rotate and RevokeToken
// use (a backend may refuse ill-formed ids without asking the server).
func Calls(s Stores, rotateID, nextID string) map[string]func(ctx context.Context) error {
	exp := time.Now().Add(time.Minute)
	rec := session.Record{UserID: "u", IdleExpiry: exp, AbsoluteExpiry: exp}
	return map[string]func(ctx context.Context) error{
		"Attempts.Incr":  func(ctx context.Context) error { _, _, err := s.Attempts.Incr(ctx, "k", time.Minute); return err },
		"Attempts.Count": func(ctx context.Context) error { _, _, err := s.Attempts.Count(ctx, "k"); return err },
		"Attempts.Reset": func(ctx context.Context) error { return s.Attempts.Reset(ctx, "k") },
		"Tickets.Put": func(ctx context.Context) error {
			return s.Tickets.Put(ctx, "p", "k", []byte("d"), exp)
		},
		"Tickets.Take":      func(ctx context.Context) error { _, _, err := s.Tickets.Take(ctx, "p", "k"); return err },
		"Sessions.Find":     func(ctx context.Context) error { _, _, err := s.Sessions.Find(ctx, "s"); return err },
		"Sessions.Create":   func(ctx context.Context) error { return s.Sessions.Create(ctx, "s", rec) },
		"Sessions.Update":   func(ctx context.Context) error { _, err := s.Sessions.Update(ctx, "s", rec); return err },
		"Sessions.Rotate":   func(ctx context.Context) error { _, err := s.Sessions.Rotate(ctx, "s", "s2", rec); return err },
		"Sessions.Delete":   func(ctx context.Context) error { return s.Sessions.Delete(ctx, "s") },
		"Sessions.ListUser": func(ctx context.Context) error { _, err := s.Sessions.ListUser(ctx, "u"); return err },
		"Sessions.DeleteUser": func(ctx context.Context) error {
			return s.Sessions.DeleteUser(ctx, "u")
		},
		"RefreshTokens.Create": func(ctx context.Context) error {
			_, err := s.RefreshTokens.Create(ctx, jwt.RefreshToken{ID: "t", FamilyID: "f", UserID: "u", Expiry: exp, FamilyExpiry: exp,
				SignIn: jwt.SignIn{AuthTime: time.Now()}})
			return err
		},
		"RefreshTokens.Rotate": func(ctx context.Context) error {
			_, err := s.RefreshTokens.Rotate(ctx, jwt.Rotation{ID: rotateID, Now: time.Now(), Next: jwt.RefreshToken{ID: nextID, Expiry: exp}})
			return err
		},
		"RefreshTokens.RevokeToken": func(ctx context.Context) error {
			_, _, err := s.RefreshTokens.RevokeToken(ctx, rotateID)
			return err
		},
		"RefreshTokens.RevokeUser": func(ctx context.Context) error { return s.RefreshTokens.RevokeUser(ctx, "u") },
		"NotBefore.SetNotBefore":   func(ctx context.Context) error { return s.NotBefore.SetNotBefore(ctx, "u", time.Now()) },
		"NotBefore.NotBefore": func(ctx context.Context) error {
			_, _, err := s.NotBefore.NotBefore(ctx, "u")
			return err
		},
		"MFA.Get": func(ctx context.Context) error { _, _, err := s.MFA.Get(ctx, "u"); return err },
		"MFA.Put": func(ctx context.Context) error {
			_, err := s.MFA.Put(ctx, "u", 0, mfa.Enrollment{Secret: []byte("s")}, [][]byte{[]byte("c")})
			return err
		},
		"MFA.Delete": func(ctx context.Context) error { return s.MFA.Delete(ctx, "u") },
		"MFA.UseBackupCode": func(ctx context.Context) error {
			_, err := s.MFA.UseBackupCode(ctx, "u", []byte("c"))
			return err
		},
		"TOTPReplay.Advance": func(ctx context.Context) error {
			_, err := s.TOTPReplay.Advance(ctx, "u", 1, exp)
			return err
		},
	}
}

// CheckBounded runs every call in a parallel subtest with a context that
// has no deadline, against a blackholed server: each must fail, within
// about timeout (at most 4×; only this generous bound is checked). check,
// when set, vets the error further.
func CheckBounded(t *testing.T, calls map[string]func(ctx context.Context) error, timeout time.Duration, check func(t *testing.T, err error)) {
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			res := make(chan error, 1)
			go func() { res <- call(context.Background()) }()
			var err error
			select {
			case err = <-res:
			case <-time.After(20 * timeout):
				t.Fatalf("still waiting after %v: the method is not bounded", 20*timeout)
			}
			if err == nil {
				t.Fatal("err = nil on a blackholed server")
			}
			if d := time.Since(start); d > 4*timeout {
				t.Errorf("returned after %v (%v), want about %v", d, err, timeout)
			}
			if check != nil {
				check(t, err)
			}
		})
	}
}

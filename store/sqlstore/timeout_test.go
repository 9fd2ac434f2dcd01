package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/jwt"
	"github.com/authkit-go/authkit/mfa"
	"github.com/authkit-go/authkit/oauth"
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/sqlstore"
)

// TestNegativeTimeoutRejected: Config.Timeout must not be negative.
func TestNegativeTimeoutRejected(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	must(t, err)
	defer db.Close()
	if _, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: sqlstore.SQLite, Timeout: -1}); !errors.Is(err, sqlstore.ErrInvalidConfig) {
		t.Fatalf("Timeout -1: err = %v, want ErrInvalidConfig", err)
	}
}

// TestBlackholedDatabaseAnswersWithinTimeout: with a PostgreSQL address
// that accepts connections and never answers, every method of every
// adapter (Migrate and Purge excepted) returns an error within about
// Config.Timeout although the caller's context has no deadline. Only a
// generous upper bound is checked.
func TestBlackholedDatabaseAnswersWithinTimeout(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never answered
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	db, err := sql.Open("pgx", "postgres://authkit@"+ln.Addr().String()+"/authkit?sslmode=disable")
	must(t, err)
	t.Cleanup(func() { db.Close() }) // after the parallel subtests
	const timeout = 300 * time.Millisecond
	st, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: sqlstore.Postgres, Timeout: timeout})
	must(t, err)
	exp := time.Now().Add(time.Minute)
	calls := map[string]func(ctx context.Context) error{
		"Attempts.Incr":  func(ctx context.Context) error { _, _, err := st.Attempts().Incr(ctx, "k", time.Minute); return err },
		"Attempts.Count": func(ctx context.Context) error { _, _, err := st.Attempts().Count(ctx, "k"); return err },
		"Attempts.Reset": func(ctx context.Context) error { return st.Attempts().Reset(ctx, "k") },
		"Users.UserByLogin": func(ctx context.Context) error {
			_, _, err := st.Users().UserByLogin(ctx, "a@example.com")
			return err
		},
		"Users.UserByID": func(ctx context.Context) error { _, _, err := st.Users().UserByID(ctx, "u"); return err },
		"Users.CreateUser": func(ctx context.Context) error {
			return st.Users().CreateUser(ctx, authkit.User{ID: "u", Email: "a@example.com"})
		},
		"Users.SetPasswordHash": func(ctx context.Context) error { return st.Users().SetPasswordHash(ctx, "u", "h") },
		"Users.UpdateUser": func(ctx context.Context) error {
			return st.Users().UpdateUser(ctx, "u", func(*authkit.User) {})
		},
		"Users.Len":     func(ctx context.Context) error { _, err := st.Users().Len(ctx); return err },
		"Sessions.Find": func(ctx context.Context) error { _, _, err := st.Sessions().Find(ctx, "s"); return err },
		"Sessions.Create": func(ctx context.Context) error {
			return st.Sessions().Create(ctx, "s", session.Record{UserID: "u", IdleExpiry: exp, AbsoluteExpiry: exp})
		},
		"Sessions.Update": func(ctx context.Context) error {
			_, err := st.Sessions().Update(ctx, "s", session.Record{UserID: "u", IdleExpiry: exp, AbsoluteExpiry: exp})
			return err
		},
		"Sessions.Rotate": func(ctx context.Context) error {
			_, err := st.Sessions().Rotate(ctx, "s", "s2", session.Record{UserID: "u", IdleExpiry: exp, AbsoluteExpiry: exp})
			return err
		},
		"Sessions.Delete":     func(ctx context.Context) error { return st.Sessions().Delete(ctx, "s") },
		"Sessions.ListUser":   func(ctx context.Context) error { _, err := st.Sessions().ListUser(ctx, "u"); return err },
		"Sessions.DeleteUser": func(ctx context.Context) error { return st.Sessions().DeleteUser(ctx, "u") },
		"RefreshTokens.Create": func(ctx context.Context) error {
			_, err := st.RefreshTokens().Create(ctx, jwt.RefreshToken{ID: "t", FamilyID: "f", UserID: "u", Expiry: exp, FamilyExpiry: exp,
				SignIn: jwt.SignIn{AuthTime: time.Now()}})
			return err
		},
		"RefreshTokens.Rotate": func(ctx context.Context) error {
			_, err := st.RefreshTokens().Rotate(ctx, jwt.Rotation{ID: "t", Now: time.Now(), Next: jwt.RefreshToken{ID: "t2", Expiry: exp}})
			return err
		},
		"RefreshTokens.RevokeToken": func(ctx context.Context) error { _, _, err := st.RefreshTokens().RevokeToken(ctx, "t"); return err },
		"RefreshTokens.RevokeUser":  func(ctx context.Context) error { return st.RefreshTokens().RevokeUser(ctx, "u") },
		"NotBefore.SetNotBefore":    func(ctx context.Context) error { return st.NotBefore().SetNotBefore(ctx, "u", time.Now()) },
		"NotBefore.NotBefore": func(ctx context.Context) error {
			_, _, err := st.NotBefore().NotBefore(ctx, "u")
			return err
		},
		"MFA.Get": func(ctx context.Context) error { _, _, err := st.MFA().Get(ctx, "u"); return err },
		"MFA.Put": func(ctx context.Context) error {
			_, err := st.MFA().Put(ctx, "u", 0, mfa.Enrollment{Secret: []byte("s")}, [][]byte{[]byte("c")})
			return err
		},
		"MFA.Delete": func(ctx context.Context) error { return st.MFA().Delete(ctx, "u") },
		"MFA.UseBackupCode": func(ctx context.Context) error {
			_, err := st.MFA().UseBackupCode(ctx, "u", []byte("c"))
			return err
		},
		"TOTPReplay.Advance": func(ctx context.Context) error {
			_, err := st.TOTPReplay().Advance(ctx, "u", 1, exp)
			return err
		},
		"Challenges.Save": func(ctx context.Context) error {
			return st.Challenges().Save(ctx, "c", mfa.Challenge{UserID: "u", Expiry: exp})
		},
		"Challenges.Take": func(ctx context.Context) error { _, _, err := st.Challenges().Take(ctx, "c"); return err },
		"OneTimeTokens.Save": func(ctx context.Context) error {
			return st.OneTimeTokens().Save(ctx, "h", authkit.OneTimeToken{Purpose: "reset", Expiry: exp})
		},
		"OneTimeTokens.Take": func(ctx context.Context) error { _, _, err := st.OneTimeTokens().Take(ctx, "h"); return err },
		"OAuthStates.Save": func(ctx context.Context) error {
			return st.OAuthStates().Save(ctx, "s", oauth.Pending{Verifier: "v", Expiry: exp})
		},
		"OAuthStates.Take": func(ctx context.Context) error { _, _, err := st.OAuthStates().Take(ctx, "s"); return err },
		"Version":          func(ctx context.Context) error { _, _, err := st.Version(ctx); return err },
	}
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
				t.Fatal("err = nil on a blackholed database")
			}
			if d := time.Since(start); d > 4*timeout {
				t.Errorf("returned after %v (%v), want about %v", d, err, timeout)
			}
		})
	}
}

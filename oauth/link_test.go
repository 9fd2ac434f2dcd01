package oauth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/authkit-go/authkit/oauth"
)

type fakeUsers struct {
	links   map[[2]string]string
	byEmail map[string]struct {
		id       string
		verified bool
	}
	created int
	failErr error
}

func (f *fakeUsers) UserByIdentity(_ context.Context, iss, sub string) (string, bool, error) {
	if f.failErr != nil {
		return "", false, f.failErr
	}
	id, ok := f.links[[2]string{iss, sub}]
	return id, ok, nil
}

func (f *fakeUsers) UserByEmail(_ context.Context, email string) (string, bool, bool, error) {
	u, ok := f.byEmail[email]
	return u.id, u.verified, ok, nil
}

func (f *fakeUsers) LinkIdentity(_ context.Context, userID string, id oauth.Identity) error {
	f.links[[2]string{id.Issuer, id.Subject}] = userID
	return nil
}

func (f *fakeUsers) CreateUser(_ context.Context, id oauth.Identity) (string, error) {
	f.created++
	uid := "new-" + id.Subject
	f.links[[2]string{id.Issuer, id.Subject}] = uid
	return uid, nil
}

func TestLinker(t *testing.T) {
	type local = struct {
		id       string
		verified bool
	}
	cases := []struct {
		name          string
		localVerified bool
		idVerified    bool
		hasLocal      bool
		linked        bool
		wantUser      string
		wantOutcome   oauth.Outcome
		wantErr       error
	}{
		{"already_linked", false, false, true, true, "u-linked", oauth.Existing, nil},
		{"both_verified_links", true, true, true, false, "u-local", oauth.Linked, nil},
		{"provider_email_unverified", true, false, true, false, "", 0, oauth.ErrAccountExists},
		{"local_email_unverified_pre_registration", false, true, true, false, "", 0, oauth.ErrAccountExists},
		{"neither_verified", false, false, true, false, "", 0, oauth.ErrAccountExists},
		{"no_local_account_creates", false, true, false, false, "new-sub-1", oauth.Created, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			users := &fakeUsers{links: map[[2]string]string{}, byEmail: map[string]struct {
				id       string
				verified bool
			}{}}
			if c.hasLocal {
				users.byEmail["victim@example.com"] = local{"u-local", c.localVerified}
			}
			id := oauth.Identity{Issuer: "https://idp.example", Subject: "sub-1", Email: "victim@example.com", EmailVerified: c.idVerified}
			if c.linked {
				users.links[[2]string{id.Issuer, id.Subject}] = "u-linked"
			}
			l := oauth.Linker{Store: users}
			uid, outcome, err := l.Resolve(t.Context(), id)
			if !errors.Is(err, c.wantErr) || uid != c.wantUser || outcome != c.wantOutcome {
				t.Fatalf("Resolve = %q, %v, %v; want %q, %v, %v", uid, outcome, err, c.wantUser, c.wantOutcome, c.wantErr)
			}
			if c.wantErr != nil && (users.created != 0 || len(users.links) != 0) {
				t.Fatal("refused link still created or linked an account")
			}
			if c.wantOutcome == oauth.Linked && users.links[[2]string{id.Issuer, id.Subject}] != "u-local" {
				t.Fatal("link not recorded")
			}
		})
	}
	t.Run("store_error_fails_closed", func(t *testing.T) {
		boom := errors.New("db down")
		l := oauth.Linker{Store: &fakeUsers{failErr: boom}}
		if _, _, err := l.Resolve(t.Context(), oauth.Identity{Issuer: "i", Subject: "s"}); !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
	})
}

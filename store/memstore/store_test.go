package memstore_test

import (
	"testing"
	"time"

	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/memstore"
)

// Every accessor of one Store returns the same value on every call, and
// RefreshTokens and NotBefore are one value: a logout everywhere written
// through one is read through the other.
func TestAccessorsOfOneStoreShareState(t *testing.T) {
	ctx := t.Context()
	st, err := memstore.New(memstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for name, get := range map[string]func() any{
		"Sessions": func() any { return st.Sessions() }, "RefreshTokens": func() any { return st.RefreshTokens() },
		"MFA": func() any { return st.MFA() }, "TOTPReplay": func() any { return st.TOTPReplay() },
		"Attempts": func() any { return st.Attempts() }, "Tickets": func() any { return st.Tickets() },
		"Passkeys": func() any { return st.Passkeys() }, "Users": func() any { return st.Users() },
		"RoleAssignments": func() any { return st.RoleAssignments() },
	} {
		if get() != get() {
			t.Errorf("%s returned a different value on a second call", name)
		}
	}
	at := time.Now().Add(time.Hour) // later than the epoch, the Store's creation time
	if err := st.NotBefore().SetNotBefore(ctx, "u1", at); err != nil {
		t.Fatal(err)
	}
	got, found, err := st.RefreshTokens().NotBefore(ctx, "u1")
	if err != nil || !found || !got.Equal(at) {
		t.Fatalf("NotBefore through RefreshTokens = %v, %v, %v; want %v", got, found, err, at)
	}
	other, err := memstore.New(memstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := other.NotBefore().NotBefore(ctx, "u1"); got.Equal(at) {
		t.Fatal("a second Store sees the first one's not-before")
	}
}

// Store.Purge reclaims the expired records of every contract, on the
// Store's clock.
func TestStorePurgeDropsExpiredRecords(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st, err := memstore.New(memstore.Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	exp := now.Add(time.Minute)
	rec := session.Record{UserID: "u1", SecretHash: []byte("h"), CreatedAt: now, LastSeen: now, IdleExpiry: exp, AbsoluteExpiry: exp}
	if err := st.Sessions().Create(ctx, "s1", rec); err != nil {
		t.Fatal(err)
	}
	if err := st.Tickets().Put(ctx, "p", "k", []byte("d"), exp); err != nil {
		t.Fatal(err)
	}
	if n := st.Purge(); n != 0 {
		t.Fatalf("Purge before expiry dropped %d records", n)
	}
	now = exp.Add(time.Second)
	if n := st.Purge(); n != 2 {
		t.Fatalf("Purge after expiry dropped %d records, want 2 (a session and a ticket)", n)
	}
	if st.Sessions().Len() != 0 || st.Tickets().Len() != 0 {
		t.Fatal("expired records remain after Purge")
	}
}

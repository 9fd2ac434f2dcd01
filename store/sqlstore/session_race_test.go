package sqlstore_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/store/sqlstore"
)

// waitBlocked waits until a statement containing fragment waits on a lock
// in PostgreSQL.
func waitBlocked(t *testing.T, db *sql.DB, fragment string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_stat_activity
WHERE wait_event_type = 'Lock' AND position($1 in query) > 0`, fragment).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no statement with %q blocked on a lock", fragment)
}

// TestPostgresRevokeWaitsForRenewal forces the two orders of a renewal
// (the row's id changed in place, transaction still open) and "log out
// everywhere" on PostgreSQL, and of an Update racing an open DeleteUser:
// whichever holds the row lock first, the session is gone afterwards.
func TestPostgresRevokeWaitsForRenewal(t *testing.T) {
	st := newPG(t, sqlstore.Config{})
	db := pgPool(t)
	ss := st.Sessions()
	ctx := t.Context()
	table := st.Table("sessions")
	now := time.Now()
	rec := session.Record{UserID: "alice", SecretHash: []byte{1}, CreatedAt: now, LastSeen: now,
		IdleExpiry: now.Add(time.Hour), AbsoluteExpiry: now.Add(time.Hour)}

	// 1. The renewal holds the row; DeleteUser waits for it and then
	// deletes the renewed row.
	must(t, ss.Create(ctx, "old", rec))
	tx, err := db.BeginTx(ctx, nil)
	must(t, err)
	_, err = tx.ExecContext(ctx, "UPDATE "+table+" SET id = $1 WHERE id = $2", []byte("new"), []byte("old"))
	must(t, err)
	done := make(chan error, 1)
	go func() { done <- ss.DeleteUser(ctx, "alice") }()
	waitBlocked(t, db, "DELETE FROM "+table+" WHERE user_id")
	must(t, tx.Commit())
	must(t, <-done)
	if _, found, err := ss.Find(ctx, "new"); err != nil || found {
		t.Fatalf("renewed session after DeleteUser: found=%v err=%v", found, err)
	}

	// 2. DeleteUser holds the rows; a Rotate and an Update of the same
	// sessions wait for it and then find nothing.
	must(t, ss.Create(ctx, "a", rec))
	must(t, ss.Create(ctx, "b", rec))
	tx, err = db.BeginTx(ctx, nil)
	must(t, err)
	_, err = tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE user_id = $1", []byte("alice"))
	must(t, err)
	type result struct {
		found bool
		err   error
	}
	rot, upd := make(chan result, 1), make(chan result, 1)
	go func() { f, err := ss.Rotate(ctx, "a", "a2", rec); rot <- result{f, err} }()
	go func() { f, err := ss.Update(ctx, "b", rec); upd <- result{f, err} }()
	waitBlocked(t, db, "SET id = $2")
	waitBlocked(t, db, "SET secret_hash = $2")
	must(t, tx.Commit())
	for name, ch := range map[string]chan result{"Rotate": rot, "Update": upd} {
		if r := <-ch; r.err != nil || r.found {
			t.Errorf("%s after DeleteUser committed = %v, %v; want false, nil", name, r.found, r.err)
		}
	}
	for _, id := range []string{"a", "a2", "b"} {
		if _, found, _ := ss.Find(ctx, id); found {
			t.Errorf("%s live after DeleteUser", id)
		}
	}
}

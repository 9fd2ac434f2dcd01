package passkey_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/tinylib/msgp/msgp"

	"github.com/authkit-go/authkit/passkey"
)

// storedTicket takes the ticket of the ceremony opts began out of r's
// store and returns its key and bytes.
func storedTicket(t *testing.T, r *rig, purpose string, opts passkey.Options) (key string, data []byte) {
	t.Helper()
	h := sha256.Sum256([]byte(challengeOf(t, opts.JSON)))
	key = b64(h[:])
	data, found, err := r.tickets.Take(context.Background(), purpose, key)
	if err != nil || !found {
		t.Fatalf("ticket not in the store: %v", err)
	}
	return key, data
}

// ticketParts splits a ticket into its fields before the session data
// (user id, binding hash, expiry, conditional) and the encoded session.
type ticketParts struct {
	userID  string
	binding []byte
	expires int64
	cond    bool
	session []byte
}

func splitTicket(t *testing.T, data []byte) ticketParts {
	t.Helper()
	var p ticketParts
	n, b, err := msgp.ReadArrayHeaderBytes(data)
	if err != nil || n != 5 {
		t.Fatalf("ticket header: %d fields, %v", n, err)
	}
	if p.userID, b, err = msgp.ReadStringBytes(b); err != nil {
		t.Fatal(err)
	}
	if p.binding, b, err = msgp.ReadBytesBytes(b, nil); err != nil {
		t.Fatal(err)
	}
	if p.expires, b, err = msgp.ReadInt64Bytes(b); err != nil {
		t.Fatal(err)
	}
	if p.cond, b, err = msgp.ReadBoolBytes(b); err != nil {
		t.Fatal(err)
	}
	p.session = b
	return p
}

func (p ticketParts) encode() []byte {
	b := msgp.AppendArrayHeader(nil, 5)
	b = msgp.AppendString(b, p.userID)
	b = msgp.AppendBytes(b, p.binding)
	b = msgp.AppendInt64(b, p.expires)
	b = msgp.AppendBool(b, p.cond)
	return append(b, p.session...)
}

// A store record damaged in a length prefix (a corrupted byte, a bad
// restore) claims an array of 2^22 elements in a few bytes. Taking it must
// fail closed without allocating for the claimed length: the allocation
// grows with the prefix, and a prefix of 2^32-1 asks the runtime for about
// 100 GB at once, which ends the whole process (an out-of-memory fatal
// error, not a recoverable panic).
func TestTicketWithHugeLengthPrefixDoesNotAllocateForIt(t *testing.T) {
	const claimed = 1 << 22
	for _, field := range []string{"allow", "params"} {
		t.Run(field, func(t *testing.T) {
			r := newRig(t)
			r.register(t, "alice")
			ctx := context.Background()
			opts, err := r.p.BeginLogin(ctx, sessA, false)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := r.auth.Get(opts.JSON)
			if err != nil {
				t.Fatal(err)
			}
			key, data := storedTicket(t, r, passkey.PurposeLogin, opts)
			p := splitTicket(t, data)
			s := msgp.AppendMapHeader(nil, 2)
			s = msgp.AppendString(s, "c")
			s = msgp.AppendString(s, challengeOf(t, opts.JSON))
			s = msgp.AppendString(s, field)
			s = binary.BigEndian.AppendUint32(append(s, 0xdd), claimed) // array 32
			p.session = s
			bad := p.encode()
			if err := r.tickets.Put(ctx, passkey.PurposeLogin, key, bad, r.clk.Now().Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			res, err := r.p.FinishLogin(ctx, sessA, resp)
			runtime.ReadMemStats(&after)
			if res != nil || err == nil || !strings.Contains(err.Error(), "passkey: decode ticket") {
				t.Fatalf("FinishLogin: %v, %v; want a decode ticket error", res, err)
			}
			const limit = 1 << 20
			if got := after.TotalAlloc - before.TotalAlloc; got > limit {
				t.Fatalf("a %d-byte ticket claiming %d %q elements made FinishLogin allocate %d bytes, want at most %d",
					len(bad), claimed, field, got, limit)
			}
		})
	}
}

// A ceremony begun before a deploy that changed the ticket encoding left a
// ticket in the earlier JSON form. Finishing it fails closed: no sign-in,
// and not reported as a replay.
func TestTicketInPreviousJSONFormFailsClosed(t *testing.T) {
	r := newRig(t)
	r.register(t, "alice")
	ctx := context.Background()
	opts, err := r.p.BeginLogin(ctx, sessA, false)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := r.auth.Get(opts.JSON)
	if err != nil {
		t.Fatal(err)
	}
	key, data := storedTicket(t, r, passkey.PurposeLogin, opts)
	p := splitTicket(t, data)
	var s webauthn.SessionData
	if rest, err := s.UnmarshalMsg(p.session); err != nil || len(rest) != 0 {
		t.Fatalf("session data: %v, %d trailing bytes", err, len(rest))
	}
	old, err := json.Marshal(struct {
		UserID  string               `json:"u,omitempty"`
		Binding []byte               `json:"b"`
		Expires int64                `json:"e"`
		Cond    bool                 `json:"c,omitempty"`
		Session webauthn.SessionData `json:"s"`
	}{p.userID, p.binding, p.expires, p.cond, s})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.tickets.Put(ctx, passkey.PurposeLogin, key, old, r.clk.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	res, err := r.p.FinishLogin(ctx, sessA, resp)
	if res != nil || err == nil || !strings.Contains(err.Error(), "passkey: decode ticket") {
		t.Fatalf("FinishLogin: %v, %v; want a decode ticket error", res, err)
	}
	if errors.Is(err, passkey.ErrReplay) || errors.Is(err, passkey.ErrChallenge) {
		t.Fatalf("a ticket of the earlier form reported as a refused response: %v", err)
	}
}

// The conditional flag only chooses the mediation of a renewed ceremony:
// flipped in a live ticket it changes nothing about who signs in, and in
// an expired one it only changes the mediation of the fresh options.
func TestFlippedConditionalFlagChangesOnlyRenewedMediation(t *testing.T) {
	for _, expired := range []bool{false, true} {
		r := newRig(t)
		r.register(t, "alice")
		ctx := context.Background()
		opts, err := r.p.BeginLogin(ctx, sessA, false)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := r.auth.Get(opts.JSON)
		if err != nil {
			t.Fatal(err)
		}
		key, data := storedTicket(t, r, passkey.PurposeLogin, opts)
		p := splitTicket(t, data)
		p.cond = true
		if err := r.tickets.Put(ctx, passkey.PurposeLogin, key, p.encode(), r.clk.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if expired {
			r.clk.Add(passkey.MaxCeremonyTimeout)
		}
		res, err := r.p.FinishLogin(ctx, sessA, resp)
		if !expired {
			if err != nil || res.UserID != "alice" {
				t.Fatalf("live ticket with the flag flipped: %+v, %v; want alice", res, err)
			}
			continue
		}
		var ee *passkey.ChallengeExpiredError
		if res != nil || !errors.As(err, &ee) {
			t.Fatalf("expired ticket with the flag flipped: %+v, %v; want ChallengeExpiredError", res, err)
		}
		if got := challengeOf(t, ee.Fresh.JSON); got == challengeOf(t, opts.JSON) || !strings.Contains(string(ee.Fresh.JSON), `"mediation":"conditional"`) {
			t.Fatalf("fresh options %s", ee.Fresh.JSON)
		}
	}
}

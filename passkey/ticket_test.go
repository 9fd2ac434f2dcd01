package passkey_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit/passkey"
)

// A ticket the store hands back damaged (truncated, or with a field of the
// wrong type) is an error, never a sign-in and never a panic.
func TestDamagedTicketFailsClosed(t *testing.T) {
	damage := map[string]func([]byte) []byte{
		"truncated session":  func(d []byte) []byte { return d[:len(d)-3] },
		"truncated header":   func(d []byte) []byte { return d[:4] },
		"empty":              func([]byte) []byte { return nil },
		"trailing bytes":     func(d []byte) []byte { return append(d, 0xc0) },
		"not a ticket":       func([]byte) []byte { return []byte(`{"s":{}}`) },
		"wrong field count":  func(d []byte) []byte { return append([]byte{0x94}, d[1:]...) },
		"expiry not integer": func(d []byte) []byte { return []byte{0x95, 0xa0, 0xc4, 0x00, 0xc0, 0xc2} },
	}
	for name, f := range damage {
		t.Run(name, func(t *testing.T) {
			r := newRig(t)
			r.register(t, "alice")
			ctx := context.Background()
			opts, err := r.p.BeginLogin(ctx, sessA, false)
			if err != nil {
				t.Fatal(err)
			}
			key, data := storedTicket(t, r, passkey.PurposeLogin, opts)
			if err := r.tickets.Put(ctx, passkey.PurposeLogin, key, f(data), r.clk.Now().Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			resp, err := r.auth.Get(opts.JSON)
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.p.FinishLogin(ctx, sessA, resp)
			if res != nil || err == nil || !strings.Contains(err.Error(), "passkey: decode ticket") {
				t.Fatalf("FinishLogin: %v, %v; want a decode ticket error", res, err)
			}
			if errors.Is(err, passkey.ErrReplay) {
				t.Fatalf("a damaged ticket reported as a replay: %v", err)
			}
		})
	}
}

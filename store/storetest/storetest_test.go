package storetest_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/session"
	"github.com/authkit-go/authkit/session/sessiontest"
	"github.com/authkit-go/authkit/store/memstore"
	"github.com/authkit-go/authkit/store/storetest"
)

// helperEnv selects the backend TestHelperBackend checks when this test
// binary runs itself.
const helperEnv = "STORETEST_HELPER_BACKEND"

// forgetfulDelete is a session store whose Delete does nothing.
type forgetfulDelete struct{ *memstore.Sessions }

func (forgetfulDelete) Delete(context.Context, string) error { return nil }

// TestHelperBackend is not a test of its own: the tests below run this
// binary again with helperEnv set, so that they can read what Run logs and
// whether it fails.
func TestHelperBackend(t *testing.T) {
	switch os.Getenv(helperEnv) {
	case "":
		t.Skip("run by the tests below with " + helperEnv + " set")
	case "sessions-only":
		storetest.Run(t, func(t *testing.T) storetest.Stores {
			return storetest.Stores{Sessions: memtest.New(t, nil).Sessions()}
		})
	case "broken-delete":
		storetest.Run(t, func(t *testing.T) storetest.Stores {
			return storetest.Stores{Sessions: forgetfulDelete{memtest.New(t, nil).Sessions()}}
		})
	}
}

func runHelper(t *testing.T, backend string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperBackend$", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"="+backend)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestRunLogsEveryContractItLeavesOut(t *testing.T) {
	t.Parallel()
	out, err := runHelper(t, "sessions-only")
	if err != nil {
		t.Fatalf("a conforming session store fails: %v\n%s", err, out)
	}
	for _, name := range []string{"RefreshTokens", "MFA", "TOTPReplay", "Attempts", "Tickets", "Passkeys", "Users"} {
		if !strings.Contains(out, "does not offer "+name+" (nil field)") {
			t.Errorf("the log does not say %s is left out:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "--- PASS: TestHelperBackend/Sessions/Delete") {
		t.Errorf("the session suite did not run:\n%s", out)
	}
}

func TestRunFailsABrokenContract(t *testing.T) {
	t.Parallel()
	out, err := runHelper(t, "broken-delete")
	if err == nil {
		t.Fatalf("a session store whose Delete does nothing passes:\n%s", out)
	}
	if !strings.Contains(out, "--- FAIL: TestHelperBackend/Sessions/Delete") {
		t.Errorf("the Delete case did not fail:\n%s", out)
	}
}

// Run calls the factory once to learn what the backend offers and then
// once per case of each offered suite, never for a suite left out.
func TestRunCallsFactoryOnlyForOfferedContracts(t *testing.T) {
	var calls atomic.Int32
	t.Run("backend", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storetest.Stores {
			calls.Add(1)
			return storetest.Stores{Sessions: memtest.New(t, nil).Sessions()}
		})
	})
	// sessiontest.Test also calls its factory once per case.
	var cases atomic.Int32
	if err := sessiontest.Test(func() (session.Store, error) {
		cases.Add(1)
		return memtest.New(t, nil).Sessions(), nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, want := calls.Load(), 1+cases.Load(); got != want {
		t.Fatalf("factory called %d times, want %d (the probe and one per session case)", got, want)
	}
}

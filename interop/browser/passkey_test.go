package browser

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// addAuthenticator enables the CDP WebAuthn domain on the page's target
// and adds a virtual platform authenticator that holds discoverable
// credentials and verifies the user. Every option is set explicitly:
// Chromium's defaults leave create() waiting for a touch that never comes.
func addAuthenticator(t *testing.T, ctx context.Context) webauthn.AuthenticatorID {
	t.Helper()
	must(t, "open a page", chromedp.Do(ctx, chromedp.Navigate("about:blank")))
	_, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{})
	must(t, "WebAuthn.enable", err)
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	})
	must(t, "WebAuthn.addVirtualAuthenticator", err)
	return res.AuthenticatorID
}

// authenticatorCredentials returns what the virtual authenticator holds.
func authenticatorCredentials(t *testing.T, ctx context.Context, id webauthn.AuthenticatorID) []*webauthn.Credential {
	t.Helper()
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	must(t, "WebAuthn.getCredentials", err)
	return res.Credentials
}

// noAutofill makes the pages of ctx see a browser without conditional
// mediation. Headless Chromium answers a conditional request at once when
// a virtual authenticator holds a passkey, which would sign in as soon as
// the sign-in page loads.
func noAutofill(t *testing.T, ctx context.Context) {
	t.Helper()
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;`,
	})
	must(t, "no conditional mediation", err)
}

// passkeyRows returns the names in the account page's passkey list.
func passkeyRows(t *testing.T, ctx context.Context) []string {
	t.Helper()
	names, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("#passkeys tr.passkey .passkey-name")).map(e => e.firstChild.textContent.trim())`))
	must(t, "passkey rows", err)
	return names
}

func evalString(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	must(t, expr, err)
	return s
}

// TestBrowserPasskeys drives the example UI's passkeys in headless
// Chromium with a CDP virtual authenticator: sign up with a password, add
// a passkey, sign out, sign in with the "Sign in with a passkey" button,
// remove the passkey. WebAuthn needs a domain as relying party id, so the
// browser opens the server as localhost (its default -rp-id), not by IP.
func TestBrowserPasskeys(t *testing.T) {
	chromium := findChromium(t)
	base := strings.Replace(startServer(t), "://127.0.0.1:", "://localhost:", 1)
	ctx := browser(t, chromium)
	auth := addAuthenticator(t, ctx)
	// This browser has no autofill for passkeys (a browser without
	// conditional mediation), so the sign-in page offers only the button;
	// TestBrowserPasskeyAutofill covers the autofill.
	noAutofill(t, ctx)
	const email, pw = "pat@example.com", "a long and unusual passphrase"

	must(t, "open signup", chromedp.Do(ctx, chromedp.Navigate(base+"/signup"), chromedp.WaitVisible(chromedp.CSS("#signup-form"))))
	submit(t, ctx, map[string]string{"#email": email, "#password": pw}, "#signup-submit", "#login-form")
	submit(t, ctx, map[string]string{"#email": email, "#password": pw}, "#login-submit", "#account-email")
	if got := text(t, ctx, "#passkeys-empty"); !strings.HasPrefix(got, "No passkeys yet.") {
		t.Fatalf("passkey section before adding: %q", got)
	}

	// Add a passkey (the password sign-in is recent, so no re-auth).
	must(t, "add a passkey", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#passkey-name"), "Virtual laptop"),
		chromedp.Click(chromedp.CSS("#passkey-add")),
		chromedp.WaitVisible(chromedp.CSS("#passkeys tr.passkey"))))
	if f := text(t, ctx, "#flash"); f != "Passkey “Virtual laptop” added. You can sign in with it now." {
		t.Fatalf("flash after adding: %q", f)
	}
	if got := passkeyRows(t, ctx); len(got) != 1 || got[0] != "Virtual laptop" {
		t.Fatalf("passkey list after adding: %q", got)
	}
	if used := text(t, ctx, "#passkeys tr.passkey .passkey-used"); used != "never" {
		t.Fatalf("last used after adding: %q", used)
	}
	creds := authenticatorCredentials(t, ctx, auth)
	if len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" {
		t.Fatalf("virtual authenticator holds %+v", creds)
	}

	// Sign out, then sign in with the passkey button: no email, no password.
	must(t, "sign out", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#nav-logout")), chromedp.WaitVisible(chromedp.CSS("#login-form"))))
	must(t, "passkey sign-in", chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS("#passkey-signin")),
		chromedp.Click(chromedp.CSS("#passkey-signin")),
		chromedp.WaitVisible(chromedp.CSS("#account-email"))))
	if got := text(t, ctx, "#account-email"); got != email {
		t.Fatalf("account page after passkey sign-in shows %q", got)
	}
	if used := text(t, ctx, "#passkeys tr.passkey .passkey-used"); used == "never" {
		t.Fatal("last used not recorded by the passkey sign-in")
	}
	if got := text(t, ctx, "#mfa-status"); !strings.HasPrefix(got, "Off.") {
		t.Fatalf("mfa status: %q", got)
	}

	// Remove it: a plain form; the page then tells the browser (Signal API).
	must(t, "remove the passkey", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#passkeys tr.passkey form.passkey-remove button")),
		chromedp.WaitVisible(chromedp.CSS("#passkeys-empty"))))
	if f := text(t, ctx, "#flash"); f != "Passkey removed." {
		t.Fatalf("flash after removing: %q", f)
	}
	if got := passkeyRows(t, ctx); len(got) != 0 {
		t.Fatalf("passkey list after removing: %q", got)
	}
	// Chromium implements both signals; signalUnknownCredential makes the
	// virtual authenticator drop the credential.
	signal, err := chromedp.Run(ctx, chromedp.Poll[string](`document.getElementById("passkey-signal").dataset.result`))
	must(t, "signal result", err)
	if signal != "unknown all-accepted" {
		t.Fatalf("Signal API calls: %q", signal)
	}
	if creds := authenticatorCredentials(t, ctx, auth); len(creds) != 0 {
		t.Fatalf("virtual authenticator still holds %d credentials after the signal", len(creds))
	}

	// Signed out again, no passkey is left to sign in with.
	must(t, "sign out", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#nav-logout")), chromedp.WaitVisible(chromedp.CSS("#passkey-signin"))))
	must(t, "passkey sign-in without a passkey", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#passkey-signin")),
		chromedp.WaitVisible(chromedp.CSS("#passkey-error"))))
	if got := text(t, ctx, "#passkey-error"); got != "The passkey request was cancelled or timed out." {
		t.Fatalf("error without a passkey: %q", got)
	}
	if loc := evalString(t, ctx, "location.pathname"); loc != "/login" {
		t.Fatalf("page after a failed passkey sign-in: %s", loc)
	}
}

// TestBrowserPasskeyAutofill signs in through conditional mediation: the
// sign-in page asks for passkeys in the email field's autofill as it loads.
// Headless Chromium has no autofill dropdown to click; with a virtual
// authenticator present it answers a conditional request at once with the
// discoverable credential, as a user picking the suggestion would. So the
// test opens the sign-in page and, without clicking anything, must land on
// the account page.
func TestBrowserPasskeyAutofill(t *testing.T) {
	chromium := findChromium(t)
	base := strings.Replace(startServer(t), "://127.0.0.1:", "://localhost:", 1)
	ctx := browser(t, chromium)
	auth := addAuthenticator(t, ctx)
	const email, pw = "ada@example.com", "a long and unusual passphrase"

	must(t, "open signup", chromedp.Do(ctx, chromedp.Navigate(base+"/signup"), chromedp.WaitVisible(chromedp.CSS("#signup-form"))))
	// The sign-in page already offers autofill; no passkey exists yet, so
	// the browser ends the offer and the password form is used.
	submit(t, ctx, map[string]string{"#email": email, "#password": pw}, "#signup-submit", "#login-form")
	if got := evalString(t, ctx, `document.getElementById("email").getAttribute("autocomplete")`); got != "username webauthn" {
		t.Fatalf("email field autocomplete=%q", got)
	}
	submit(t, ctx, map[string]string{"#email": email, "#password": pw}, "#login-submit", "#account-email")
	must(t, "add a passkey", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#passkey-add")),
		chromedp.WaitVisible(chromedp.CSS("#passkeys tr.passkey"))))
	if got := passkeyRows(t, ctx); len(got) != 1 || !strings.HasPrefix(got[0], "Passkey added ") {
		t.Fatalf("passkey list after adding without a name: %q", got)
	}
	if n := len(authenticatorCredentials(t, ctx, auth)); n != 1 {
		t.Fatalf("virtual authenticator holds %d credentials", n)
	}

	// Sign out: the sign-in page's autofill offer signs the user in.
	must(t, "sign out, autofill signs in", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#nav-logout")),
		chromedp.WaitVisible(chromedp.CSS("#account-email"))))
	if got := text(t, ctx, "#account-email"); got != email {
		t.Fatalf("account page after autofill sign-in shows %q", got)
	}
	if used := text(t, ctx, "#passkeys tr.passkey .passkey-used"); used == "never" {
		t.Fatal("last used not recorded by the autofill sign-in")
	}
}

// TestBrowserPasskeySecondFactor: an account with TOTP signs in with its
// password and answers the second-factor step with "Use a passkey".
func TestBrowserPasskeySecondFactor(t *testing.T) {
	chromium := findChromium(t)
	base := strings.Replace(startServer(t), "://127.0.0.1:", "://localhost:", 1)
	ctx := browser(t, chromium)
	addAuthenticator(t, ctx)
	noAutofill(t, ctx)
	const email, pw = "max@example.com", "a long and unusual passphrase"

	must(t, "open signup", chromedp.Do(ctx, chromedp.Navigate(base+"/signup"), chromedp.WaitVisible(chromedp.CSS("#signup-form"))))
	submit(t, ctx, map[string]string{"#email": email, "#password": pw}, "#signup-submit", "#login-form")
	submit(t, ctx, map[string]string{"#email": email, "#password": pw}, "#login-submit", "#account-email")
	must(t, "add a passkey", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#passkey-name"), "Key"),
		chromedp.Click(chromedp.CSS("#passkey-add")),
		chromedp.WaitVisible(chromedp.CSS("#passkeys tr.passkey"))))
	must(t, "enroll", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#mfa-enroll")), chromedp.WaitVisible(chromedp.CSS("#totp-secret"))))
	submit(t, ctx, map[string]string{"#code": totp(t, text(t, ctx, "#totp-secret"), time.Now())}, "#confirm-submit", "#backup-codes")
	must(t, "sign out", chromedp.Do(ctx, chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.CSS("#nav-logout")),
		chromedp.Click(chromedp.CSS("#nav-logout")), chromedp.WaitVisible(chromedp.CSS("#login-form"))))

	submit(t, ctx, map[string]string{"#email": email, "#password": pw}, "#login-submit", "#passkey-mfa")
	must(t, "use a passkey", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#passkey-mfa")), chromedp.WaitVisible(chromedp.CSS("#account-email"))))
	if got := text(t, ctx, "#account-email"); got != email {
		t.Fatalf("account page shows %q", got)
	}
	if got := text(t, ctx, "#mfa-status"); !strings.HasPrefix(got, "On:") {
		t.Fatalf("mfa status %q", got)
	}
}

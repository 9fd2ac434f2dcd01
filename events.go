package authkit

import (
	"context"
	"log/slog"
	"time"
)

// EventType names an audit event. The values are stable: hosts may match on
// them in log pipelines.
type EventType string

// Audit event types (ASVS 16.3.1, 16.3.2).
const (
	EventSignup          EventType = "signup"
	EventLoginSuccess    EventType = "login.success"
	EventLoginFailure    EventType = "login.failure"
	EventLockout         EventType = "login.locked"
	EventMFARequired     EventType = "mfa.required"
	EventMFASuccess      EventType = "mfa.success"
	EventMFAFailure      EventType = "mfa.failure"
	EventMFAEnrolled     EventType = "mfa.enrolled"
	EventMFADisabled     EventType = "mfa.disabled"
	EventBackupCodesNew  EventType = "mfa.backup_codes_regenerated"
	EventRefresh         EventType = "token.refreshed"
	EventRefreshReuse    EventType = "token.reuse_detected"
	EventLogout          EventType = "logout"
	EventLogoutAll       EventType = "logout.all"
	EventSessionRevoked  EventType = "session.revoked"
	EventPasswordChanged EventType = "password.changed"
	EventPasswordRehash  EventType = "password.rehashed"
	EventAccessDenied    EventType = "access.denied"
	// EventMFAStateLost: the user record says MFA is on but the MFA store
	// has no enrollment; the login was refused.
	EventMFAStateLost EventType = "mfa.state_lost"
	// EventPasskeySignIn: a passkey sign-in, second factor or
	// re-authentication finished (Outcome success or failure; Reason says
	// which ceremony or why it failed).
	EventPasskeySignIn EventType = "passkey.signin"
	// EventPasskeyAdded: a passkey was registered (or its registration
	// failed).
	EventPasskeyAdded EventType = "passkey.added"
	// EventPasskeyRemoved: a passkey was removed (or its removal refused).
	EventPasskeyRemoved EventType = "passkey.removed"
	// EventPasskeyCloned: an assertion's signature counter did not move
	// forward: two authenticators may hold the same private key. The
	// sign-in was refused; the credential stays stored for inspection.
	EventPasskeyCloned EventType = "passkey.cloned"
	// EventMailSent: a reset or verification mail was handed to the Mailer
	// (Reason is its purpose).
	EventMailSent EventType = "mail.sent"
	// EventMailFailed: a reset or verification mail failed every attempt
	// and was dropped.
	EventMailFailed EventType = "mail.failed"
)

// Outcome values of [Event.Outcome].
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// Event is one audit record. It never carries passwords, codes, tokens or
// session ids: only who, from where, what happened and why (ASVS 16.3.1;
// OWASP Logging Cheat Sheet).
type Event struct {
	Type      EventType
	Time      time.Time
	UserID    string // empty when no account was identified
	Login     string // the canonical login name attempted, if any
	IP        string
	UserAgent string
	Outcome   string // OutcomeSuccess or OutcomeFailure
	Reason    string // a short machine-readable cause, e.g. "bad_password", "locked"
}

// Auditor receives audit events. The zero value of [AuditConfig] logs to
// slog.Default.
type Auditor struct {
	logger *slog.Logger
	hook   func(context.Context, Event)
	now    func() time.Time
}

// AuditConfig configures an [Auditor].
type AuditConfig struct {
	// Logger receives every event at Info level (failures at Warn).
	// Nil means slog.Default().
	Logger *slog.Logger
	// DisableLog turns off the slog output, for hosts that only use Hook.
	DisableLog bool
	// Hook, if set, is called synchronously with every event, after logging.
	// It must not block for long: it runs on the request path.
	Hook func(context.Context, Event)
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// NewAuditor returns an [Auditor] for cfg.
func NewAuditor(cfg AuditConfig) *Auditor {
	a := &Auditor{logger: cfg.Logger, hook: cfg.Hook, now: cfg.Now}
	if a.logger == nil && !cfg.DisableLog {
		a.logger = slog.Default()
	}
	if cfg.DisableLog {
		a.logger = nil
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// Emit records e, filling in Time when it is zero. A nil Auditor discards
// the event.
func (a *Auditor) Emit(ctx context.Context, e Event) {
	if a == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = a.now()
	}
	if a.logger != nil {
		level := slog.LevelInfo
		if e.Outcome == OutcomeFailure {
			level = slog.LevelWarn
		}
		a.logger.LogAttrs(ctx, level, "authkit audit",
			slog.String("event", string(e.Type)),
			slog.String("outcome", e.Outcome),
			slog.String("reason", e.Reason),
			slog.String("user_id", e.UserID),
			slog.String("login", e.Login),
			slog.String("ip", e.IP),
			slog.String("user_agent", e.UserAgent),
			slog.Time("time", e.Time),
		)
	}
	if a.hook != nil {
		a.hook(ctx, e)
	}
}

package session

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// issueLocked gives s a fresh id and secret. fresh starts a new lifetime
// (new session or login); otherwise CreatedAt and AbsoluteExpiry are kept, so
// renewal never extends the absolute limit.
func (m *Manager) issueLocked(s *Session, now time.Time, fresh bool) error {
	tok, id, hash, err := newToken(m.rand)
	if err != nil {
		return err
	}
	s.token, s.id, s.secretHash = tok, id, hash
	s.stored, s.newToken, s.modified, s.clearCookie = false, true, true, false
	if fresh || s.absExpiry.IsZero() {
		s.createdAt, s.absExpiry = now, now.Add(m.abs)
	}
	return nil
}

// FromContext returns the session that m's [Manager.LoadAndSave] put in
// ctx; ok is false when ctx carries none, or one of another Manager (whose
// store m's methods cannot write).
func (m *Manager) FromContext(ctx context.Context) (s *Session, ok bool) {
	s, err := m.session(ctx)
	return s, err == nil
}

// session returns the context's session if it belongs to m.
func (m *Manager) session(ctx context.Context) (*Session, error) {
	s, ok := FromContext(ctx)
	if !ok || s.m != m {
		return nil, ErrNoSession
	}
	return s, nil
}

// rotateLocked issues a new id and secret, applies change to the session
// and, if the old id is stored, replaces it in one atomic [Store.Rotate]
// (OWASP Session Management Cheat Sheet "Renew the Session ID After Any
// Privilege Level Change"; ASVS 5.0 7.2.4). A session not stored yet is
// created when the response is committed.
//
// If the store no longer has the old id (revoked while this request ran),
// nothing is written, s becomes anonymous and [ErrRevoked] is returned:
// an in-flight request can never mint a live session from a revoked one.
// On a store error s also becomes anonymous, so the commit cannot create a
// session whose predecessor may still be live.
func (m *Manager) rotateLocked(ctx context.Context, s *Session, fresh bool, change func()) error {
	if s.destroyed {
		return ErrDestroyed
	}
	if s.committed && !s.bearer {
		return ErrHeadersWritten
	}
	oldID, wasStored := s.id, s.stored
	now := m.now()
	if err := m.issueLocked(s, now, fresh); err != nil {
		return err
	}
	if change != nil {
		change()
	}
	if !wasStored {
		return nil
	}
	if s.ip == "" && s.ua == "" && s.w.r != nil {
		s.ip, s.ua = m.clientIP(s.w.r), truncateUTF8(s.w.r.UserAgent(), MaxUserAgentLen)
	}
	rec, live := m.recordLocked(s, now)
	if !live {
		m.resetLocked(s)
		if err := m.store.Delete(ctx, oldID); err != nil {
			return fmt.Errorf("session: deleting expired id: %w", err)
		}
		return ErrRevoked
	}
	found, err := m.store.Rotate(ctx, oldID, s.id, rec)
	if err != nil {
		m.resetLocked(s)
		return fmt.Errorf("session: renewing id: %w", err)
	}
	if !found {
		m.resetLocked(s)
		return ErrRevoked
	}
	s.stored, s.modified, s.touch, s.lastSeen = true, false, false, now
	return nil
}

// Renew gives the session in ctx a new id and secret and removes the old
// record in the same atomic store step, keeping its values, user and
// absolute expiry. Call it on every privilege change such as a role
// elevation. It must run before the response headers are written. If the
// session was revoked while the request ran it returns [ErrRevoked] and the
// session is anonymous.
func (m *Manager) Renew(ctx context.Context) error {
	s, err := m.session(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return m.rotateLocked(ctx, s, false, nil)
}

// Login records userID as fully authenticated in the session in ctx: the
// id and secret are renewed (so an id planted before login is useless) and
// the old record removed in one atomic store step, AuthTime is set, any
// pending MFA state is cleared and a new absolute lifetime starts. Values
// are kept, unless the old session was revoked meanwhile: then Login starts
// from an empty session (the user did just authenticate) and nothing of the
// revoked one survives.
//
// Login is the primitive a password (or any first- and second-factor)
// flow ends with: call it once the user is fully authenticated.
func (m *Manager) Login(ctx context.Context, userID string) error {
	if userID == "" {
		return fmt.Errorf("session: empty user id")
	}
	return m.login(ctx, func(s *Session) {
		s.userID = userID
		s.st.pending, s.st.challenge, s.st.authTime, s.st.mfaTime, s.st.amr = false, "", s.createdAt, time.Time{}, nil
	})
}

// SignIn is [Manager.Login] that also records how the user signed in:
// amr lists the authentication methods of this sign-in (RFC 8176, for
// example "pwd" and "otp" for a password and a TOTP code, "hwk" or "swk",
// "user" and "mfa" for a passkey with user verification), which
// [Session.AMR] returns until the next sign-in, so that a step-up check
// (package middleware) can tell a passkey sign-in from a password one.
// [Session.MFATime] is set to the new AuthTime when amr shows a second
// factor ("otp" or "mfa"), and cleared otherwise. It also ends any pending
// MFA step: call it once the user is fully authenticated, with every
// method used.
//
// amr holds at most [MaxAMR] values of 1 to [MaxAMRLen] printable ASCII
// bytes; an empty amr is [Manager.Login].
func (m *Manager) SignIn(ctx context.Context, userID string, amr []string) error {
	if userID == "" {
		return fmt.Errorf("session: empty user id")
	}
	methods, err := checkAMR(amr)
	if err != nil {
		return err
	}
	return m.login(ctx, func(s *Session) {
		s.userID = userID
		s.st.pending, s.st.challenge, s.st.authTime, s.st.amr = false, "", s.createdAt, methods
		s.st.mfaTime = time.Time{}
		if secondFactor(methods) {
			s.st.mfaTime = s.createdAt
		}
	})
}

// RenewSignIn records a re-authentication (step-up) of the session's
// signed-in user userID with the methods amr: the id and secret are renewed
// and the old record removed in one atomic store step (like
// [Manager.Renew]), AuthTime becomes now, [Session.AMR] returns amr and
// [Session.MFATime] is set to now when amr shows a second factor ("otp" or
// "mfa") and cleared otherwise. Values, the user and the absolute expiry are
// kept.
//
// Unlike [Manager.SignIn] it never starts a new session: when the session
// was revoked while the re-authentication ran ("log out everywhere", a
// disabled account) it returns [ErrRevoked] and the session is anonymous,
// and when the session has no signed-in user or another one it returns
// [ErrNotSignedIn] and changes nothing. amr follows SignIn's limits and
// must not be empty.
func (m *Manager) RenewSignIn(ctx context.Context, userID string, amr []string) error {
	if len(amr) == 0 {
		return fmt.Errorf("session: empty amr")
	}
	methods, err := checkAMR(amr)
	if err != nil {
		return err
	}
	s, err := m.session(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if userID == "" || s.st.pending || s.userID != userID {
		return ErrNotSignedIn
	}
	now := m.now()
	return m.rotateLocked(ctx, s, false, func() {
		s.st.authTime, s.st.amr, s.st.mfaTime = now, methods, time.Time{}
		if secondFactor(methods) {
			s.st.mfaTime = now
		}
	})
}

// checkAMR validates and copies the methods given to SignIn or RenewSignIn.
func checkAMR(amr []string) ([]string, error) {
	if len(amr) > MaxAMR {
		return nil, fmt.Errorf("session: %d amr values (at most %d)", len(amr), MaxAMR)
	}
	for _, v := range amr {
		if !validAMR(v) {
			return nil, fmt.Errorf("session: invalid amr value %q", v)
		}
	}
	if len(amr) == 0 {
		return nil, nil
	}
	return slices.Clone(amr), nil
}

// secondFactor reports whether amr shows a second factor: "otp" (a one-time
// code after the first factor) or "mfa" (RFC 8176 multiple-factor).
func secondFactor(amr []string) bool {
	return slices.Contains(amr, "otp") || slices.Contains(amr, "mfa")
}

// BeginMFA records that userID passed the first factor and must still
// pass the second: like [Manager.Login], but [Session.UserID] stays "" and
// [Session.PendingUserID] returns userID until [Manager.CompleteMFA].
func (m *Manager) BeginMFA(ctx context.Context, userID string) error {
	if userID == "" {
		return fmt.Errorf("session: empty user id")
	}
	return m.login(ctx, func(s *Session) {
		s.userID = userID
		s.st.pending, s.st.challenge, s.st.authTime, s.st.mfaTime, s.st.amr = true, "", s.createdAt, time.Time{}, nil
	})
}

// BeginMFAChallenge records that the first factor passed for a user the
// session does not name yet: it keeps challenge, an opaque token from the
// caller's MFA flow (for example the root package's LoginResult.MFAToken),
// which [Session.MFAChallenge] returns on the next request. Like
// [Manager.BeginMFA] it renews the id and starts a new lifetime;
// [Session.UserID] and [Session.PendingUserID] stay "" until
// [Manager.CompleteMFAAs] binds the user the MFA flow verified.
//
// The challenge is kept in the session data, so the session store sees it:
// give it only tokens that are useless without the second factor.
func (m *Manager) BeginMFAChallenge(ctx context.Context, challenge string) error {
	if challenge == "" {
		return fmt.Errorf("session: empty MFA challenge")
	}
	return m.login(ctx, func(s *Session) {
		s.userID = ""
		s.st.pending, s.st.challenge, s.st.authTime, s.st.mfaTime, s.st.amr = true, challenge, s.createdAt, time.Time{}, nil
	})
}

// login renews s with a fresh lifetime and applies set. If the old session
// was revoked meanwhile, it starts again from an empty session.
func (m *Manager) login(ctx context.Context, set func(*Session)) error {
	s, err := m.session(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err = m.rotateLocked(ctx, s, true, func() { set(s) })
	if err == ErrRevoked {
		// resetLocked emptied s; the new session is created at commit.
		err = m.rotateLocked(ctx, s, true, func() { set(s) })
	}
	return err
}

// CompleteMFA finishes the step begun by [Manager.BeginMFA]: the id rotates
// again, MFATime is set and [Session.UserID] becomes the user. It returns
// [ErrNotPending] if no step is pending or the pending step names no user
// (use [Manager.CompleteMFAAs]), and [ErrRevoked] if the session was
// revoked meanwhile.
func (m *Manager) CompleteMFA(ctx context.Context) error {
	return m.CompleteMFAAs(ctx, "")
}

// CompleteMFAAs finishes a pending MFA step for userID, the user the
// caller's MFA flow verified: after [Manager.BeginMFAChallenge] it binds
// userID; after [Manager.BeginMFA] userID must be "" or the pending user.
// The id rotates, the challenge is dropped, MFATime is set and
// [Session.UserID] becomes the user. It returns [ErrNotPending] when no step
// is pending or userID does not match, and [ErrRevoked] if the session was
// revoked meanwhile.
func (m *Manager) CompleteMFAAs(ctx context.Context, userID string) error {
	s, err := m.session(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.st.pending {
		return ErrNotPending
	}
	user := s.userID
	switch {
	case user == "" && userID == "":
		return ErrNotPending
	case user == "":
		user = userID
	case userID != "" && userID != user:
		return ErrNotPending
	}
	return m.rotateLocked(ctx, s, false, func() {
		s.userID = user
		s.st.pending, s.st.challenge, s.st.mfaTime = false, "", m.now()
	})
}

// Logout ends the session in ctx on the server at once (its record is
// deleted) and clears the cookie with Max-Age=0 (ASVS 5.0 7.4.1). The session object is then empty and anonymous; a later Put in the
// same request starts a brand-new session with a new id. If the headers were
// already written the record is still deleted and [ErrHeadersWritten] is
// returned.
func (m *Manager) Logout(ctx context.Context) error {
	return m.end(ctx, false)
}

// Destroy is [Manager.Logout] that also refuses further writes in this
// request (Put returns [ErrDestroyed]), for account deletion and similar.
func (m *Manager) Destroy(ctx context.Context) error {
	return m.end(ctx, true)
}

func (m *Manager) end(ctx context.Context, destroy bool) error {
	s, err := m.session(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stored {
		if err := m.store.Delete(ctx, s.id); err != nil {
			return fmt.Errorf("session: deleting: %w", err)
		}
	}
	hadToken := s.id != "" || s.clearCookie
	s.id, s.token, s.stored, s.secretHash = "", "", false, [32]byte{}
	s.userID, s.st = "", state{}
	s.createdAt, s.lastSeen, s.absExpiry = time.Time{}, time.Time{}, time.Time{}
	s.modified, s.touch, s.newToken = false, false, false
	s.destroyed = destroy
	s.clearCookie = hadToken && !s.bearer
	if s.committed && hadToken && !s.bearer {
		return ErrHeadersWritten
	}
	return nil
}

// Info describes one session of a user for a "your devices" page
// (ASVS 5.0 7.5.2).
type Info struct {
	// ID identifies the session for [Manager.Revoke]; it is not a credential.
	ID                         string
	CreatedAt, LastSeen        time.Time
	IdleExpiry, AbsoluteExpiry time.Time
	IP, UserAgent              string
	// Pending is true while the MFA step is incomplete.
	Pending bool
	// Current is true for the session of the request whose ctx was passed.
	Current bool
}

// ListUser returns the live sessions of userID, in O(that user's sessions)
// through the store's per-user index.
func (m *Manager) ListUser(ctx context.Context, userID string) ([]Info, error) {
	recs, err := m.store.ListUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("session: listing: %w", err)
	}
	cur := ""
	if s, err := m.session(ctx); err == nil {
		cur = s.ID()
	}
	now := m.now()
	out := make([]Info, 0, len(recs))
	for id, r := range recs {
		if r.UserID != userID || !now.Before(r.Expiry()) {
			continue
		}
		st, _ := decodeState(r.Data)
		out = append(out, Info{ID: id, CreatedAt: r.CreatedAt, LastSeen: r.LastSeen,
			IdleExpiry: r.IdleExpiry, AbsoluteExpiry: r.AbsoluteExpiry,
			IP: r.IP, UserAgent: r.UserAgent, Pending: st.pending, Current: id == cur})
	}
	sortInfos(out)
	return out, nil
}

// RevokeUser ends every session of userID ("log out everywhere"; ASVS 5.0
// 7.4.2, 7.4.3, 7.4.5). If the request's own session belongs to userID it is
// also ended and its cookie cleared.
func (m *Manager) RevokeUser(ctx context.Context, userID string) error {
	if userID == "" {
		return fmt.Errorf("session: empty user id")
	}
	if err := m.store.DeleteUser(ctx, userID); err != nil {
		return fmt.Errorf("session: revoking user: %w", err)
	}
	if s, err := m.session(ctx); err == nil {
		s.mu.Lock()
		mine := s.userID == userID
		s.mu.Unlock()
		if mine {
			return m.end(ctx, false)
		}
	}
	return nil
}

// Revoke ends the session id of userID, for the "revoke this device"
// button. It returns [ErrNotFound] when id is missing or belongs to
// someone else, so a user cannot end (or detect) other users' sessions.
//
// A nil error means the session is ended. The device may renew its id
// while Revoke runs (a sign-in step, a re-authentication); the record is
// then under an id Revoke never read, so Revoke ends id with an atomic
// [Store.Rotate] into an already-expired record (which leaves both ids
// missing) and, when the id had moved on, reports [ErrNotFound] rather than
// a success: the devices page, listed again, shows the session under its
// new id.
func (m *Manager) Revoke(ctx context.Context, userID, id string) error {
	rec, found, err := m.store.Find(ctx, id)
	if err != nil {
		return fmt.Errorf("session: revoking: %w", err)
	}
	if !found || userID == "" || rec.UserID != userID {
		return ErrNotFound
	}
	_, tomb, _, err := newToken(m.rand)
	if err != nil {
		return err
	}
	rec.IdleExpiry = time.Unix(revokedExpiryUnix, 0)
	rec.AbsoluteExpiry = rec.IdleExpiry
	ended, err := m.store.Rotate(ctx, id, tomb, rec)
	if err != nil {
		return fmt.Errorf("session: revoking: %w", err)
	}
	if !ended {
		return ErrNotFound
	}
	if s, err := m.session(ctx); err == nil && s.ID() == id {
		return m.end(ctx, false)
	}
	return nil
}

// sortInfos orders sessions most recently used first, then by id.
func sortInfos(in []Info) {
	slices.SortFunc(in, func(a, b Info) int {
		if c := b.LastSeen.Compare(a.LastSeen); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// revokedExpiryUnix (2000-01-01T00:00:00Z) is the expiry of the record
// [Manager.Revoke] rotates a session into: long past on any store's clock,
// so the record is missing from the moment it is written.
const revokedExpiryUnix = 946684800

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
// renewal never extends the absolute limit (SECURITY.md S4).
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

// session returns the context's session if it belongs to m.
func (m *Manager) session(ctx context.Context) (*Session, error) {
	s, ok := FromContext(ctx)
	if !ok || s.m != m {
		return nil, ErrNoSession
	}
	return s, nil
}

// rotateLocked deletes the old id from the store at once and issues a new
// token (OWASP Session Management Cheat Sheet "Renew the Session ID After
// Any Privilege Level Change"; ASVS 5.0 7.2.4).
func (m *Manager) rotateLocked(ctx context.Context, s *Session, fresh bool) error {
	if s.destroyed {
		return ErrDestroyed
	}
	if s.committed && !s.bearer {
		return ErrHeadersWritten
	}
	if s.stored {
		if err := m.store.Delete(ctx, s.id); err != nil {
			return fmt.Errorf("session: deleting old id: %w", err)
		}
		s.stored = false
	}
	return m.issueLocked(s, m.now(), fresh)
}

// Renew gives the session in ctx a new id and secret and deletes the old
// record, keeping its values, user and absolute expiry. Call it on every
// privilege change such as a role elevation (SECURITY.md S2). It must run
// before the response headers are written.
func (m *Manager) Renew(ctx context.Context) error {
	s, err := m.session(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return m.rotateLocked(ctx, s, false)
}

// Login records userID as fully authenticated in the session in ctx: the
// id and secret are renewed (so an id planted before login is useless,
// SECURITY.md S1), the old record is deleted, AuthTime is set, any pending
// MFA state is cleared and a new absolute lifetime starts. Values are kept.
func (m *Manager) Login(ctx context.Context, userID string) error {
	return m.login(ctx, userID, false)
}

// BeginMFA records that userID passed the first factor and must still
// pass the second: like [Manager.Login], but [Session.UserID] stays "" and
// [Session.PendingUserID] returns userID until [Manager.CompleteMFA]
// (SECURITY.md S3).
func (m *Manager) BeginMFA(ctx context.Context, userID string) error {
	return m.login(ctx, userID, true)
}

func (m *Manager) login(ctx context.Context, userID string, pending bool) error {
	if userID == "" {
		return fmt.Errorf("session: empty user id")
	}
	s, err := m.session(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := m.rotateLocked(ctx, s, true); err != nil {
		return err
	}
	s.userID = userID
	s.st.pending, s.st.authTime, s.st.mfaTime = pending, s.createdAt, time.Time{}
	return nil
}

// CompleteMFA finishes the step begun by [Manager.BeginMFA]: the id rotates
// again (SECURITY.md S2), MFATime is set and [Session.UserID] becomes the
// user. It returns [ErrNotPending] if no step is pending.
func (m *Manager) CompleteMFA(ctx context.Context) error {
	s, err := m.session(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.st.pending || s.userID == "" {
		return ErrNotPending
	}
	if err := m.rotateLocked(ctx, s, false); err != nil {
		return err
	}
	s.st.pending, s.st.mfaTime = false, m.now()
	return nil
}

// Logout ends the session in ctx on the server at once (its record is
// deleted) and clears the cookie with Max-Age=0 (ASVS 5.0 7.4.1, SECURITY.md
// S5). The session object is then empty and anonymous; a later Put in the
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
func (m *Manager) Revoke(ctx context.Context, userID, id string) error {
	rec, found, err := m.store.Find(ctx, id)
	if err != nil {
		return fmt.Errorf("session: revoking: %w", err)
	}
	if !found || userID == "" || rec.UserID != userID {
		return ErrNotFound
	}
	if err := m.store.Delete(ctx, id); err != nil {
		return fmt.Errorf("session: revoking: %w", err)
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

package session

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// ReservedPrefix starts the keys this package may use internally;
// [Session.Put] refuses them.
const ReservedPrefix = "authkit."

// Session is one client's server-side session for the duration of a
// request. [Manager.LoadAndSave] puts it in the request context; get it with
// [FromContext]. All methods are safe for concurrent use by the handler's
// goroutines.
//
// Identity is part of the session: [Manager.Login] sets the user and the
// authentication time, [Manager.BeginMFA] records a user whose second
// factor is still pending (so [Session.UserID] stays empty),
// [Manager.BeginMFAChallenge] does the same for a user not known yet, and
// [Manager.CompleteMFA] / [Manager.CompleteMFAAs] finish that step.
type Session struct {
	m  *Manager
	mu sync.Mutex

	id     string // store key; "" when no token was issued yet
	token  string // full token, only known when issued in this request or parsed from the client
	stored bool   // a record for id exists in the store (as far as we know)
	bearer bool   // the token came from (and goes back through) an Authorization header

	secretHash [32]byte // SHA-256 of the secret part of token

	userID    string
	createdAt time.Time
	lastSeen  time.Time
	absExpiry time.Time
	st        state

	modified    bool // values or identity changed: Save needed
	touch       bool // LastSeen due: Save needed
	newToken    bool // token changed: the client must get it
	clearCookie bool // the client holds a cookie that must be removed
	destroyed   bool
	committed   bool // response headers written
	ip, ua      string

	w  writer
	hw hijackWriter
}

// ctxKey is the unexported context key type; the key is a pointer so no
// other package can collide with it.
type ctxKey struct{}

var sessionKey = &ctxKey{}

// NewContext returns a copy of ctx carrying s.
func NewContext(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, sessionKey, s)
}

// FromContext returns the session stored in ctx by [Manager.LoadAndSave]
// or [NewContext]. It never panics; ok is false when there is none.
func FromContext(ctx context.Context) (s *Session, ok bool) {
	s, ok = ctx.Value(sessionKey).(*Session)
	return s, ok && s != nil
}

// ID returns the store id of the session ("" for a new session that has
// not been saved yet). The id alone does not authenticate: it is safe to show
// the owner on a "your devices" page, and [Manager.Revoke] takes it.
func (s *Session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Token returns the full session token ("id.secret") when it is known in
// this request: after [Manager.Login], [Manager.Renew] or when the client
// presented it. API clients using the Authorization: Bearer transport get
// their token from here (the middleware never sets a cookie for them).
// Treat it as a password: never log it.
func (s *Session) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// UserID returns the fully authenticated user, or "" for an anonymous
// session or one whose MFA step is still pending.
func (s *Session) UserID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.pending {
		return ""
	}
	return s.userID
}

// PendingUserID returns the user who passed the password step but not yet
// the MFA step started with [Manager.BeginMFA], or "".
func (s *Session) PendingUserID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.st.pending {
		return ""
	}
	return s.userID
}

// MFAPending reports whether a second-factor step begun with
// [Manager.BeginMFA] or [Manager.BeginMFAChallenge] is still open.
func (s *Session) MFAPending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.pending
}

// MFAChallenge returns the opaque challenge kept by
// [Manager.BeginMFAChallenge] while the MFA step is pending, or "".
func (s *Session) MFAChallenge() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.st.pending {
		return ""
	}
	return s.st.challenge
}

// Authenticated reports whether a user is fully signed in (UserID != "").
func (s *Session) Authenticated() bool { return s.UserID() != "" }

// AuthTime returns when the user last proved a first factor in this
// session ([Manager.Login] or [Manager.BeginMFA]); zero if never. Use it for
// "recent authentication" checks (ASVS 5.0 7.5.1; OIDC auth_time).
func (s *Session) AuthTime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.authTime
}

// AMR returns the methods (RFC 8176 "amr" values such as "pwd", "otp",
// "hwk", "user", "mfa") of the sign-in that [Session.AuthTime] dates, as
// recorded by [Manager.SignIn] or [Manager.RenewSignIn]; nil when that
// sign-in recorded none ([Manager.Login], [Manager.CompleteMFA]). The
// result is a copy.
func (s *Session) AMR() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.st.amr)
}

// MFATime returns when the second factor was completed with
// [Manager.CompleteMFA], or the time of a [Manager.SignIn] or
// [Manager.RenewSignIn] whose methods include a second factor; zero if not
// in this session.
func (s *Session) MFATime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.mfaTime
}

// CreatedAt returns when the session began: its first save or the last
// [Manager.Login]. [Manager.Renew] keeps it. Zero for a session not yet saved.
func (s *Session) CreatedAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createdAt
}

// AbsoluteExpiry returns the hard end of the session (zero for a session
// not yet saved).
func (s *Session) AbsoluteExpiry() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.absExpiry
}

func (s *Session) find(key string) int {
	for i := range s.st.entries {
		if s.st.entries[i].key == key {
			return i
		}
	}
	return -1
}

// Get decodes the value stored under key into dst (a pointer) with the
// configured [Codec]. found is false when the key is absent.
func (s *Session) Get(key string, dst any) (found bool, err error) {
	s.mu.Lock()
	i := s.find(key)
	if i < 0 {
		s.mu.Unlock()
		return false, nil
	}
	val := s.st.entries[i].val
	s.mu.Unlock()
	return true, s.m.codec.Unmarshal(val, dst)
}

// GetString returns the string stored under key, or "" when it is absent
// or not a string.
func (s *Session) GetString(key string) string {
	var v string
	if ok, err := s.Get(key, &v); !ok || err != nil {
		return ""
	}
	return v
}

// Put encodes v with the configured [Codec] and stores it under key; the
// session is saved before the response is written. Keys starting with
// [ReservedPrefix] are refused.
func (s *Session) Put(key string, v any) error {
	if strings.HasPrefix(key, ReservedPrefix) {
		return ErrReservedKey
	}
	val, err := s.m.codec.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.destroyed {
		return ErrDestroyed
	}
	if i := s.find(key); i >= 0 {
		s.st.entries[i].val = val
	} else {
		s.st.entries = append(s.st.entries, entry{key: key, val: val})
	}
	s.modified = true
	return nil
}

// Pop is [Session.Get] followed by [Session.Remove] (flash messages).
func (s *Session) Pop(key string, dst any) (found bool, err error) {
	s.mu.Lock()
	i := s.find(key)
	if i < 0 {
		s.mu.Unlock()
		return false, nil
	}
	val := s.st.entries[i].val
	s.removeAt(i)
	s.mu.Unlock()
	return true, s.m.codec.Unmarshal(val, dst)
}

// Remove deletes key; removing an absent key is a no-op that does not
// mark the session modified.
func (s *Session) Remove(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.find(key); i >= 0 {
		s.removeAt(i)
	}
}

func (s *Session) removeAt(i int) {
	e := s.st.entries
	copy(e[i:], e[i+1:])
	e[len(e)-1] = entry{}
	s.st.entries = e[:len(e)-1]
	s.modified = true
}

// Keys returns the keys of the stored values, in insertion order.
func (s *Session) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, len(s.st.entries))
	for i, e := range s.st.entries {
		keys[i] = e.key
	}
	return keys
}

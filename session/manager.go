package session

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"
)

// Transport selects how the session token travels.
type Transport int

const (
	// TransportCookie (the default) carries the token in a cookie only.
	TransportCookie Transport = iota
	// TransportBearer carries it only in "Authorization: Bearer" (RFC 6750
	// §2.1) for API and mobile clients; no cookie is ever set. The client
	// gets its token from [Session.Token] after [Manager.Login].
	TransportBearer
	// TransportCookieOrBearer accepts both; a request that sends a bearer
	// header is answered without cookies.
	TransportCookieOrBearer
)

// Defaults for [Config].
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
	DefaultTouchInterval   = time.Minute
	DefaultCookieName      = "__Host-session"
	// DefaultInsecureCookieName is the default name with
	// [Config.InsecureCookieNoSecure]: the "__Host-" prefix requires Secure.
	DefaultInsecureCookieName = "session"
)

// Config configures a [Manager]. Zero fields take the documented secure
// defaults; only Store is required.
type Config struct {
	// Store persists the sessions. Required: there is no silent in-memory
	// default that would hide a production misconfiguration.
	Store Store

	// IdleTimeout ends a session not used for this long (default 30 min,
	// sliding; ASVS 5.0 7.3.1). It is written at most once per
	// TouchInterval, so the effective idle limit is between
	// IdleTimeout-TouchInterval and IdleTimeout.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after login whatever its
	// activity (default 12 h; NIST SP 800-63B §7.2 AAL2, ASVS 5.0 7.3.2).
	// Renewal never extends it; only a new [Manager.Login] starts a new one.
	AbsoluteTimeout time.Duration
	// TouchInterval is how stale LastSeen may get before a read-only request
	// writes it (default 1 min). Between writes, a read-only request costs
	// exactly one store call (Find).
	TouchInterval time.Duration

	// Transport selects cookie (default), bearer header, or both.
	Transport Transport
	// CookieName defaults to "__Host-session" (RFC 6265bis §4.1.3.2:
	// Secure, Path=/, no Domain), or "session" with InsecureCookieNoSecure.
	CookieName string
	// CookieSameSite defaults to http.SameSiteLaxMode; Strict is allowed,
	// None is refused.
	CookieSameSite http.SameSite
	// PersistentCookie sets Max-Age to the remaining absolute lifetime.
	// By default the cookie is a non-persistent session cookie (OWASP
	// Session Management Cheat Sheet, "Expire and Max-Age Attributes").
	PersistentCookie bool
	// InsecureCookieNoSecure drops the Secure attribute (and so the
	// "__Host-" prefix) for plain-HTTP development on a non-loopback host.
	// Never use it in production: the cookie then travels in clear text.
	// Browsers already treat http://127.0.0.1 and http://localhost as secure,
	// so loopback development does not need it.
	InsecureCookieNoSecure bool

	// Codec encodes session values; default [JSONCodec].
	Codec Codec
	// ErrorFunc answers a request whose session could not be loaded or
	// saved (a store failure), or whose changes were dropped because the
	// session was revoked while the request ran ([ErrRevoked]). The default
	// logs nothing and writes 500 with a generic body (401 for
	// ErrRevoked). The request never continues as anonymous. It is also
	// called, after the response was sent, for a late save that failed; it
	// must then only log.
	ErrorFunc func(w http.ResponseWriter, r *http.Request, err error)
	// ClientIP returns the client address recorded with the session (ok
	// false records none). It has the shape of the method value
	// middleware.ClientIPResolver.ClientIP, the one resolver root, session
	// and middleware share: pass resolver.ClientIP. The default is the host
	// part of r.RemoteAddr: proxy headers are not trusted unless the host
	// supplies a resolver that knows its proxies.
	ClientIP func(r *http.Request) (ip netip.Addr, ok bool)

	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the CSPRNG for tokens (default crypto/rand.Reader).
	Rand io.Reader
}

// Manager loads, saves, renews and revokes sessions. It is immutable after
// [New] and safe for concurrent use.
type Manager struct {
	store       Store
	idle, abs   time.Duration
	touchEvery  time.Duration
	transport   Transport
	cookieName  string
	sameSite    http.SameSite
	persistent  bool
	secure      bool
	codec       Codec
	errorFunc   func(http.ResponseWriter, *http.Request, error)
	clientIP    func(*http.Request) string
	now         func() time.Time
	rand        io.Reader
	clearCookie string
}

// New validates cfg and returns a Manager.
func New(cfg Config) (*Manager, error) {
	m := &Manager{
		store: cfg.Store, idle: cfg.IdleTimeout, abs: cfg.AbsoluteTimeout,
		touchEvery: cfg.TouchInterval, transport: cfg.Transport,
		cookieName: cfg.CookieName, sameSite: cfg.CookieSameSite,
		persistent: cfg.PersistentCookie, secure: !cfg.InsecureCookieNoSecure,
		codec: cfg.Codec, errorFunc: cfg.ErrorFunc,
		now: cfg.Now, rand: cfg.Rand,
	}
	bad := func(format string, a ...any) (*Manager, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, a...)...)
	}
	if m.store == nil {
		return bad("Store is nil")
	}
	if m.idle == 0 {
		m.idle = DefaultIdleTimeout
	}
	if m.abs == 0 {
		m.abs = DefaultAbsoluteTimeout
	}
	if m.touchEvery == 0 {
		m.touchEvery = DefaultTouchInterval
	}
	if m.idle < 0 || m.abs < 0 || m.touchEvery < 0 {
		return bad("negative duration")
	}
	if m.idle > m.abs {
		return bad("IdleTimeout %v exceeds AbsoluteTimeout %v", m.idle, m.abs)
	}
	if m.touchEvery >= m.idle {
		return bad("TouchInterval %v must be below IdleTimeout %v", m.touchEvery, m.idle)
	}
	if m.transport < TransportCookie || m.transport > TransportCookieOrBearer {
		return bad("unknown Transport %d", m.transport)
	}
	if m.cookieName == "" {
		m.cookieName = DefaultCookieName
		if !m.secure {
			m.cookieName = DefaultInsecureCookieName
		}
	}
	if !validCookieName(m.cookieName) {
		return bad("invalid CookieName %q", m.cookieName)
	}
	lower := strings.ToLower(m.cookieName)
	if !m.secure && (strings.HasPrefix(lower, "__host-") || strings.HasPrefix(lower, "__secure-")) {
		return bad("CookieName %q needs Secure, which InsecureCookieNoSecure removes", m.cookieName)
	}
	switch m.sameSite {
	case 0, http.SameSiteDefaultMode:
		m.sameSite = http.SameSiteLaxMode
	case http.SameSiteLaxMode, http.SameSiteStrictMode:
	default:
		return bad("CookieSameSite must be Lax or Strict")
	}
	if m.codec == nil {
		m.codec = JSONCodec{}
	}
	if m.errorFunc == nil {
		m.errorFunc = defaultErrorFunc
	}
	m.clientIP = remoteHost
	if f := cfg.ClientIP; f != nil {
		m.clientIP = func(r *http.Request) string {
			if ip, ok := f(r); ok {
				return ip.String()
			}
			return ""
		}
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.rand == nil {
		m.rand = rand.Reader
	}
	m.clearCookie = m.cookie("", -1).String()
	return m, nil
}

func validCookieName(n string) bool {
	if n == "" || len(n) > 128 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

func defaultErrorFunc(w http.ResponseWriter, _ *http.Request, err error) {
	if errors.Is(err, ErrRevoked) {
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}

func remoteHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// cookie builds the session cookie; maxAge<0 clears it (Max-Age=0, ASVS
// 5.0 7.4.1), 0 makes a session cookie.
func (m *Manager) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: m.cookieName, Value: value, Path: "/",
		Secure: m.secure, HttpOnly: true, SameSite: m.sameSite, MaxAge: maxAge,
	}
}

// LoadAndSave is the session middleware. It loads the session named by the
// request's cookie or bearer token (an absent, malformed, unknown, expired
// or wrongly-keyed token all give the same fresh anonymous session, and a
// stale cookie is cleared), puts it in the request context, and saves it
// only if it changed or LastSeen is due, before the first byte of the
// response is written.
//
// If the store fails, [Config.ErrorFunc] answers and next is not called:
// the request never proceeds as anonymous.
func (m *Manager) LoadAndSave(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.load(r)
		if err != nil {
			m.errorFunc(w, r, err)
			return
		}
		r = r.WithContext(NewContext(r.Context(), s))
		s.w = writer{ResponseWriter: w, s: s, r: r}
		var ww http.ResponseWriter = &s.w
		if _, ok := w.(http.Hijacker); ok {
			s.hw.writer = &s.w
			ww = &s.hw
		}
		if s.bearer || m.transport == TransportBearer {
			w.Header().Add("Vary", "Authorization")
		} else {
			w.Header().Add("Vary", "Cookie")
		}
		next.ServeHTTP(ww, r)
		s.w.finish()
	})
}

// token extracts the raw token and whether it came from a bearer header.
// present reports that the client sent something in the session slot.
func (m *Manager) token(r *http.Request) (tok string, bearer, present bool) {
	if m.transport != TransportCookie {
		if h := r.Header.Get("Authorization"); h != "" {
			const p = "bearer "
			if len(h) > len(p) && strings.EqualFold(h[:len(p)], p) {
				return h[len(p):], true, true
			}
			if m.transport == TransportBearer {
				return "", true, true
			}
		}
		if m.transport == TransportBearer {
			return "", true, false
		}
	}
	tok, present = cookieValue(r.Header["Cookie"], m.cookieName)
	return tok, false, present
}

// cookieValue returns the first cookie called name in the Cookie header
// lines without parsing the others (and without allocating).
func cookieValue(lines []string, name string) (string, bool) {
	for _, line := range lines {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			if len(part) > len(name) && part[len(name)] == '=' && part[:len(name)] == name {
				v := part[len(name)+1:]
				if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
					v = v[1 : len(v)-1]
				}
				return v, true
			}
		}
	}
	return "", false
}

func (m *Manager) load(r *http.Request) (*Session, error) {
	s := &Session{m: m}
	tok, bearer, present := m.token(r)
	s.bearer = bearer
	if !present {
		return s, nil
	}
	// From here on every failure looks the same to the client
	// (no oracle for which check failed): fresh anonymous session, stale
	// cookie cleared.
	s.clearCookie = !bearer
	id, hash, ok := parseToken(tok)
	if !ok {
		return s, nil
	}
	rec, found, err := m.store.Find(r.Context(), id)
	if err != nil {
		return nil, fmt.Errorf("session: loading: %w", err)
	}
	now := m.now()
	if !found || !secretMatches(rec.SecretHash, hash) || !now.Before(rec.Expiry()) {
		return s, nil
	}
	st, err := decodeState(rec.Data)
	if err != nil {
		return nil, err
	}
	s.clearCookie = false
	s.id, s.token, s.stored, s.secretHash = id, tok, true, hash
	s.userID, s.st = rec.UserID, st
	s.createdAt, s.lastSeen, s.absExpiry = rec.CreatedAt, rec.LastSeen, rec.AbsoluteExpiry
	if now.Sub(rec.LastSeen) >= m.touchEvery {
		s.touch = true
		s.ip, s.ua = m.clientIP(r), truncateUTF8(r.UserAgent(), MaxUserAgentLen)
	} else {
		s.ip, s.ua = rec.IP, rec.UserAgent
	}
	return s, nil
}

// commit saves s if needed and sets the cookie headers on h. It runs once,
// before the first byte of the response.
func (m *Manager) commit(ctx context.Context, s *Session, h http.Header) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.committed = true
	if err := m.saveLocked(ctx, s); err != nil {
		return err
	}
	if s.bearer {
		return nil
	}
	switch {
	case s.newToken && s.token != "":
		maxAge := 0
		if m.persistent {
			maxAge = max(1, int(s.absExpiry.Sub(m.now())/time.Second))
		}
		h.Add("Set-Cookie", m.cookie(s.token, maxAge).String())
		if h.Get("Cache-Control") == "" {
			h.Set("Cache-Control", `no-cache="Set-Cookie"`)
		}
	case s.clearCookie:
		h.Add("Set-Cookie", m.clearCookie)
	}
	s.newToken, s.clearCookie = false, false
	return nil
}

// saveLocked writes the record when it changed or LastSeen is due: Create
// for a session not stored yet, otherwise the update-only Update. An Update
// the store refuses means the session was revoked during the request (see
// [Store]): the session becomes anonymous and, if the handler had changed
// it, [ErrRevoked] is returned so the response is not sent as if the
// changes were kept. No cookie is set either way: the old token is dead on
// the server, and a cookie set now could overwrite the one of a concurrent
// renewal.
func (m *Manager) saveLocked(ctx context.Context, s *Session) error {
	if s.destroyed || (!s.modified && !s.touch) {
		return nil
	}
	now := m.now()
	if s.id == "" {
		if err := m.issueLocked(s, now, true); err != nil {
			return err
		}
	}
	if s.ip == "" && s.ua == "" && s.w.r != nil {
		s.ip, s.ua = m.clientIP(s.w.r), truncateUTF8(s.w.r.UserAgent(), MaxUserAgentLen)
	}
	rec, live := m.recordLocked(s, now)
	if !live {
		// The absolute lifetime ran out during the request: end it.
		s.modified, s.touch = false, false
		if s.stored {
			return m.store.Delete(ctx, s.id)
		}
		return nil
	}
	if !s.stored {
		if err := m.store.Create(ctx, s.id, rec); err != nil {
			return fmt.Errorf("session: saving: %w", err)
		}
	} else {
		found, err := m.store.Update(ctx, s.id, rec)
		if err != nil {
			return fmt.Errorf("session: saving: %w", err)
		}
		if !found {
			lost := s.modified
			m.resetLocked(s)
			if lost {
				return ErrRevoked
			}
			return nil
		}
	}
	s.stored, s.modified, s.touch, s.lastSeen = true, false, false, now
	return nil
}

// recordLocked builds the store record of s as of now; live is false when
// the absolute lifetime has run out.
func (m *Manager) recordLocked(s *Session, now time.Time) (rec Record, live bool) {
	idle := now.Add(m.idle)
	if idle.After(s.absExpiry) {
		idle = s.absExpiry
	}
	if !now.Before(idle) {
		return Record{}, false
	}
	hash := s.secretHash
	return Record{
		UserID: s.userID, SecretHash: hash[:], Data: encodeState(&s.st),
		CreatedAt: s.createdAt, LastSeen: now, IdleExpiry: idle, AbsoluteExpiry: s.absExpiry,
		IP: s.ip, UserAgent: s.ua,
	}, true
}

// resetLocked makes s an empty anonymous session without touching the
// store or the cookie.
func (m *Manager) resetLocked(s *Session) {
	s.id, s.token, s.stored, s.secretHash = "", "", false, [32]byte{}
	s.userID, s.st = "", state{}
	s.createdAt, s.lastSeen, s.absExpiry = time.Time{}, time.Time{}, time.Time{}
	s.modified, s.touch, s.newToken = false, false, false
}

// MaxUserAgentLen bounds the User-Agent kept with a session (in bytes,
// cut at a character boundary): enough for a "your devices" page, while a
// client cannot make every stored session carry kilobytes of header.
const MaxUserAgentLen = 256

// truncateUTF8 returns s cut to at most n bytes at a rune boundary, with
// invalid UTF-8 removed.
func truncateUTF8(s string, n int) string {
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	return s
}

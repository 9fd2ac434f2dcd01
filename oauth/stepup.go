package oauth

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// StepUpChallenge is a resource server's demand for a fresher or stronger
// sign-in: a Bearer challenge with error="insufficient_user_authentication"
// (RFC 9470 §3). Get one with [ParseStepUpChallenge] and answer it with
// [Flow.BeginStepUpURL].
type StepUpChallenge struct {
	// Description is error_description, for logs; never show it as is.
	Description string
	// ACRValues are the acceptable authentication context class
	// references, in order of preference; empty if the challenge has none.
	ACRValues []string
	// MaxAge is the largest acceptable time since the user last actively
	// authenticated, when HasMaxAge is set. Zero means "authenticate now".
	MaxAge    time.Duration
	HasMaxAge bool
}

// Limits on a challenge, which comes from another server.
const (
	maxChallengeHeader = 8 << 10
	maxACRValues       = 16
	maxACRValueLen     = 256
	maxDescriptionLen  = 1024
	maxMaxAgeDigits    = 9 // about 31 years
)

// ParseStepUpChallenge reads the WWW-Authenticate fields of a resource
// server's response (RFC 9110 §11.6.1: one or more challenges, each a
// scheme and comma-separated auth-params whose values are tokens or quoted
// strings) and returns the Bearer challenge whose error is
// "insufficient_user_authentication" (RFC 9470 §3).
//
// It returns an error matching [ErrNoStepUpChallenge] when the fields hold
// no such challenge, and one matching [ErrChallenge] when they are not a
// valid challenge list or the step-up challenge is unusable: a repeated
// parameter, a max_age that is not a non-negative integer, more than 16 acr
// values, or values outside the RFC 6750 §3 character set. The header is
// untrusted input: its total size is capped at 8 KiB.
func ParseStepUpChallenge(h http.Header) (StepUpChallenge, error) {
	fields := h.Values("WWW-Authenticate")
	if len(fields) == 0 {
		return StepUpChallenge{}, fmt.Errorf("%w: no WWW-Authenticate field", ErrNoStepUpChallenge)
	}
	n := 0
	for _, f := range fields {
		n += len(f) + 2
	}
	if n > maxChallengeHeader {
		return StepUpChallenge{}, fmt.Errorf("%w: WWW-Authenticate longer than %d bytes", ErrChallenge, maxChallengeHeader)
	}
	chs, err := parseChallenges(strings.Join(fields, ", "))
	if err != nil {
		return StepUpChallenge{}, err
	}
	for _, c := range chs {
		if !strings.EqualFold(c.scheme, "Bearer") || c.params["error"] != "insufficient_user_authentication" {
			continue
		}
		if c.dup != "" {
			return StepUpChallenge{}, fmt.Errorf("%w: parameter %q repeated", ErrChallenge, c.dup)
		}
		return stepUpFromParams(c.params)
	}
	return StepUpChallenge{}, fmt.Errorf("%w: no Bearer insufficient_user_authentication challenge", ErrNoStepUpChallenge)
}

func stepUpFromParams(p map[string]string) (StepUpChallenge, error) {
	var c StepUpChallenge
	c.Description = p["error_description"]
	if len(c.Description) > maxDescriptionLen || !nqschar(c.Description, true) {
		return StepUpChallenge{}, fmt.Errorf("%w: error_description", ErrChallenge)
	}
	if v, ok := p["acr_values"]; ok {
		c.ACRValues = strings.Fields(v)
		if len(c.ACRValues) > maxACRValues {
			return StepUpChallenge{}, fmt.Errorf("%w: more than %d acr_values", ErrChallenge, maxACRValues)
		}
		for _, a := range c.ACRValues {
			if len(a) > maxACRValueLen || !nqschar(a, false) {
				return StepUpChallenge{}, fmt.Errorf("%w: acr_values", ErrChallenge)
			}
		}
	}
	if v, ok := p["max_age"]; ok {
		if v == "" || len(v) > maxMaxAgeDigits || strings.Trim(v, "0123456789") != "" {
			return StepUpChallenge{}, fmt.Errorf("%w: max_age %q is not a non-negative integer", ErrChallenge, v)
		}
		secs, _ := strconv.Atoi(v)
		c.MaxAge, c.HasMaxAge = time.Duration(secs)*time.Second, true
	}
	return c, nil
}

// nqschar reports whether s holds only %x20-21 / %x23-5B / %x5D-7E, the
// characters RFC 6750 §3 allows in error_description (space excluded
// unless space is set).
func nqschar(s string, space bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || (c == ' ' && !space) {
			return false
		}
	}
	return true
}

// challenge is one parsed auth challenge; names are lower-cased (they are
// case-insensitive), dup names the first repeated parameter.
type challenge struct {
	scheme string
	params map[string]string
	dup    string
}

type challengeLexer struct {
	s string
	i int
}

func isTchar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken68(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/", c) >= 0
}

func (l *challengeLexer) ows() {
	for l.i < len(l.s) && (l.s[l.i] == ' ' || l.s[l.i] == '\t') {
		l.i++
	}
}

func (l *challengeLexer) peek() byte {
	if l.i < len(l.s) {
		return l.s[l.i]
	}
	return 0
}

func (l *challengeLexer) token() string {
	start := l.i
	for l.i < len(l.s) && isTchar(l.s[l.i]) {
		l.i++
	}
	return l.s[start:l.i]
}

// value reads a token or a quoted-string (RFC 9110 §5.6.4) and returns its
// content.
func (l *challengeLexer) value() (string, bool) {
	if l.peek() != '"' {
		t := l.token()
		return t, t != ""
	}
	l.i++
	var b strings.Builder
	for l.i < len(l.s) {
		c := l.s[l.i]
		switch {
		case c == '"':
			l.i++
			return b.String(), true
		case c == '\\':
			if l.i+1 >= len(l.s) || !quotable(l.s[l.i+1]) {
				return "", false
			}
			b.WriteByte(l.s[l.i+1])
			l.i += 2
		case quotable(c):
			b.WriteByte(c)
			l.i++
		default:
			return "", false
		}
	}
	return "", false
}

// quotable: HTAB, SP, VCHAR and obs-text.
func quotable(c byte) bool { return c == '\t' || c >= 0x20 && c != 0x7f }

// parseChallenges parses a WWW-Authenticate list:
//
//	challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//	auth-param = token BWS "=" BWS ( token / quoted-string )
func parseChallenges(s string) ([]challenge, error) {
	l := &challengeLexer{s: s}
	bad := func(what string) ([]challenge, error) {
		return nil, fmt.Errorf("%w: %s at byte %d", ErrChallenge, what, l.i)
	}
	var out []challenge
	var cur *challenge
	param := func(name string) bool {
		l.i++ // '='
		l.ows()
		v, ok := l.value()
		if !ok || cur == nil {
			return false
		}
		name = strings.ToLower(name)
		if _, dup := cur.params[name]; dup && cur.dup == "" {
			cur.dup = name
		}
		cur.params[name] = v
		return true
	}
	for {
		for l.ows(); l.peek() == ','; l.ows() {
			l.i++
		}
		if l.i >= len(s) {
			return out, nil
		}
		name := l.token()
		if name == "" {
			return bad("expected a token")
		}
		l.ows()
		if l.peek() == '=' {
			if !param(name) {
				return bad("bad auth-param")
			}
		} else {
			out = append(out, challenge{scheme: name, params: map[string]string{}})
			cur = &out[len(out)-1]
			if l.i < len(s) && l.s[l.i] != ',' {
				start := l.i
				pname := l.token()
				l.ows()
				if pname != "" && l.peek() == '=' && l.i+1 < len(s) && l.s[l.i+1] != '=' && l.s[l.i+1] != ',' {
					if !param(pname) {
						return bad("bad auth-param")
					}
				} else {
					// token68: the whole credential-like blob, ignored.
					l.i = start
					for l.i < len(s) && isToken68(l.s[l.i]) {
						l.i++
					}
					for l.i < len(s) && l.s[l.i] == '=' {
						l.i++
					}
					if l.i == start {
						return bad("bad token68")
					}
				}
			}
		}
		l.ows()
		if l.i < len(s) && l.s[l.i] != ',' {
			return bad("expected a comma")
		}
	}
}

// BeginStepUpURL is [Flow.BeginURL] for answering c: the authorization
// request also carries c's acr_values and max_age (OIDC Core §3.1.2.1),
// overriding the provider's MaxAge and any acr_values in its AuthParams.
// The callback then requires the id_token's auth_time, no older than
// max_age (with the flow's leeway), and reports the acr the provider
// returned in [Identity.ACR]: acr_values is a request the provider may not
// honour, so compare it yourself if the resource server will. Only OpenID
// providers can step up. The max_age travels in the transaction's nonce, so
// both the cookie and a [TicketStore] keep it without a change.
func (f *Flow) BeginStepUpURL(ctx context.Context, w http.ResponseWriter, returnTo string, c StepUpChallenge) (string, error) {
	if !f.p.oidc() {
		return "", fmt.Errorf("%w: step-up needs an OpenID provider", ErrInvalidConfig)
	}
	if c.MaxAge < 0 {
		return "", fmt.Errorf("%w: negative MaxAge", ErrChallenge)
	}
	return f.begin(ctx, w, returnTo, &c)
}

// BeginStepUp is [Flow.BeginStepUpURL] followed by a 302 redirect to the
// provider. On error nothing has been written to w.
func (f *Flow) BeginStepUp(w http.ResponseWriter, r *http.Request, returnTo string, c StepUpChallenge) error {
	u, err := f.BeginStepUpURL(r.Context(), w, returnTo, c)
	if err != nil {
		return err
	}
	redirect(w, u)
	return nil
}

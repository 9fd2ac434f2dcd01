// Package safehttp holds the redirect policy shared by the packages that
// fetch keys and metadata from another server (jwt's remote JWKS, oauth's
// discovery and userinfo requests).
package safehttp

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ErrRedirect is returned (wrapped in the client's *url.Error) for a refused
// redirect.
var ErrRedirect = errors.New("safehttp: redirect to another host or from https to http refused")

// maxRedirects is net/http's own default limit.
const maxRedirects = 10

// SameHostRedirects returns a shallow copy of c (nil: a client with the given
// timeout) whose redirect policy refuses a redirect to another host (host and
// port) and one from https to http, then applies c's own policy, if any. Keys
// published behind a redirect to another host would otherwise be trusted as
// the issuer's.
func SameHostRedirects(c *http.Client, timeout time.Duration) *http.Client {
	var cp http.Client
	if c != nil {
		cp = *c
	} else {
		cp.Timeout = timeout
	}
	next := cp.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		if !strings.EqualFold(req.URL.Host, first.Host) || (first.Scheme == "https" && req.URL.Scheme != "https") {
			return fmt.Errorf("%w: %s to %s", ErrRedirect, first.Redacted(), req.URL.Redacted())
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("safehttp: stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return &cp
}

package password

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// BreachedChecker reports whether a password appears in a corpus of
// breached passwords (ASVS 6.2.12; NIST SP 800-63B §5.1.1.2). err is for
// system failures only (network, context); a clean password gives
// (false, nil).
type BreachedChecker interface {
	Breached(ctx context.Context, password string) (bool, error)
}

// DefaultHIBPBaseURL is the Have I Been Pwned Pwned Passwords API.
const DefaultHIBPBaseURL = "https://api.pwnedpasswords.com"

// maxHIBPResponse bounds the body read from the range API. A padded
// response is a few tens of KiB.
const maxHIBPResponse = 4 << 20

// HIBPConfig configures an [HIBP] client.
type HIBPConfig struct {
	// BaseURL of the API (default DefaultHIBPBaseURL); the client requests
	// BaseURL + "/range/" + the first five hex digits of the SHA-1.
	BaseURL string
	// Client makes the requests (default: a client with a 10 s timeout).
	Client *http.Client
	// UserAgent is sent with each request, as the API requires
	// (default "authkit-password").
	UserAgent string
	// MinCount is the number of breach sightings at which a password counts
	// as breached (default 1). Padding entries (count 0) never count.
	MinCount int
}

// HIBP checks passwords against the Have I Been Pwned "Pwned Passwords"
// range API with k-anonymity: only the first five hex characters of the
// password's SHA-1 leave the process, and the "Add-Padding: true" header
// asks for padded responses so the response size reveals nothing either.
// It implements [BreachedChecker].
type HIBP struct {
	base      string
	client    *http.Client
	userAgent string
	minCount  int
}

// NewHIBP returns an HIBP client for cfg, or an error if cfg is invalid.
// It makes no request.
func NewHIBP(cfg HIBPConfig) (_ *HIBP, err error) {
	defer wrapInvalidConfig(&err)
	c := &HIBP{base: cfg.BaseURL, client: cfg.Client, userAgent: cfg.UserAgent, minCount: cfg.MinCount}
	if c.base == "" {
		c.base = DefaultHIBPBaseURL
	}
	u, err := url.Parse(c.base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("password: invalid HIBP BaseURL %q", c.base)
	}
	c.base = strings.TrimSuffix(c.base, "/")
	if c.client == nil {
		c.client = &http.Client{Timeout: 10 * time.Second}
	}
	if c.userAgent == "" {
		c.userAgent = "authkit-password"
	}
	if c.minCount == 0 {
		c.minCount = 1
	}
	if c.minCount < 0 {
		return nil, errors.New("password: negative HIBP MinCount")
	}
	return c, nil
}

// Breached implements [BreachedChecker]. It sends only the SHA-1 prefix and
// matches the suffix locally.
func (c *HIBP) Breached(ctx context.Context, password string) (bool, error) {
	sum := sha1.Sum([]byte(password))
	hexSum := strings.ToUpper(hex.EncodeToString(sum[:]))
	prefix, suffix := hexSum[:5], hexSum[5:]

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/range/"+prefix, nil)
	if err != nil {
		return false, fmt.Errorf("password: HIBP request: %w", err)
	}
	req.Header.Set("Add-Padding", "true")
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("password: HIBP request: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("password: HIBP range API: status %d", resp.StatusCode)
	}
	body := io.LimitReader(resp.Body, maxHIBPResponse+1)
	sc := bufio.NewScanner(body)
	read := 0
	found := false
	for sc.Scan() {
		line := sc.Text()
		read += len(line) + 1
		if read > maxHIBPResponse {
			return false, errors.New("password: HIBP range API: response too large")
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		s, countStr, ok := strings.Cut(line, ":")
		if !ok || len(s) != 35 {
			return false, errors.New("password: HIBP range API: malformed line")
		}
		count, err := strconv.Atoi(countStr)
		if err != nil || count < 0 {
			return false, errors.New("password: HIBP range API: malformed count")
		}
		if count >= c.minCount && strings.EqualFold(s, suffix) {
			found = true // keep reading: the whole body is validated either way
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("password: HIBP range API: %w", err)
	}
	return found, nil
}

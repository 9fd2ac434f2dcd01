package middleware

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// ClientIPResolverConfig configures [NewClientIPResolver]. The zero value trusts no
// proxy: the client IP is always the TCP peer from RemoteAddr, and
// X-Forwarded-For is ignored.
type ClientIPResolverConfig struct {
	// TrustedProxies lists the reverse proxies (load balancers, CDNs) whose
	// X-Forwarded-For entries are believed, as CIDR prefixes ("10.0.0.0/8",
	// "2001:db8::/32") or single addresses ("192.0.2.7"). List exactly the
	// proxies in front of this server: a forwarding header is trivially forged
	// by anyone else (ASVS 15.3.4).
	TrustedProxies []string

	// IPv6KeyPrefix is the prefix length to which [ClientIPResolver.Key]
	// truncates IPv6 addresses, since one subscriber usually holds a whole
	// /64 and would otherwise get 2^64 rate-limit keys. Default
	// [DefaultIPv6KeyPrefix]; 128 keys on the full address.
	IPv6KeyPrefix int
}

// DefaultIPv6KeyPrefix is the IPv6 prefix length per-IP limits key on by
// default: a /64 is what one subscriber, host or VM is usually given, and
// rotating addresses inside it must not buy fresh budgets.
const DefaultIPv6KeyPrefix = 64

// IPKey returns the per-IP rate-limit key of a client address. Every per-IP
// limit (login failures, sign-ups, mails, [RateLimit]) keys through it, so
// all of them treat one client alike:
//
//   - an IPv4 address, or an IPv4-mapped IPv6 address ("::ffff:192.0.2.1"),
//     keys on the IPv4 address: "192.0.2.1";
//   - an IPv6 address keys on its prefix of length ipv6Prefix:
//     "2001:db8:1:2::/64"; with ipv6Prefix 128, on the full address
//     "2001:db8:1:2:3:4:5:6". A zone ("%eth0") is ignored;
//   - an IPv6 address that embeds an IPv4 address keys on that IPv4
//     address: the NAT64 well-known prefix 64:ff9b::/96 (RFC 6052), where
//     every IPv4 client behind one translator would otherwise share one
//     /64, and 6to4 2002::/16 (RFC 3056), where one IPv4 host holds a
//     whole /48 and would otherwise get 65536 keys.
//
// ipv6Prefix outside 1..128 (0 included) means [DefaultIPv6KeyPrefix]. An
// invalid (zero) address gives "unknown", one key shared by all such
// callers. The key contains no prefix of its own; callers namespace it
// ("signup:" + key).
func IPKey(ip netip.Addr, ipv6Prefix int) string {
	if !ip.IsValid() {
		return "unknown"
	}
	ip = ip.WithZone("").Unmap()
	if v4, ok := embeddedIPv4(ip); ok {
		ip = v4
	}
	if ip.Is4() {
		return ip.String()
	}
	if ipv6Prefix < 1 || ipv6Prefix > 128 {
		ipv6Prefix = DefaultIPv6KeyPrefix
	}
	if ipv6Prefix == 128 {
		return ip.String()
	}
	p, _ := ip.Prefix(ipv6Prefix)
	return p.Addr().String() + "/" + strconv.Itoa(ipv6Prefix)
}

// embeddedIPv4 returns the IPv4 address carried by an address of the NAT64
// well-known prefix 64:ff9b::/96 (RFC 6052 §2.1; its last 32 bits) or of
// 6to4 2002::/16 (RFC 3056 §2; bits 16..47).
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	a := ip.As16()
	switch {
	case a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b && [8]byte(a[4:12]) == [8]byte{}:
		return netip.AddrFrom4([4]byte(a[12:16])), true
	case a[0] == 0x20 && a[1] == 0x02:
		return netip.AddrFrom4([4]byte(a[2:6])), true
	}
	return netip.Addr{}, false
}

// ClientIPResolver determines the client address of a request for rate
// limiting and audit logs. It is immutable after [NewClientIPResolver] and
// safe for concurrent use. A nil *ClientIPResolver behaves as one built from
// the zero [ClientIPResolverConfig]: no trusted proxy, IPv6 keyed by /64.
//
// The client address is a [netip.Addr] everywhere in authkit (root, session,
// middleware): the method value resolver.ClientIP has the shape
// func(*http.Request) (netip.Addr, bool) that hosts plug into other
// packages, and [IPKey] turns the address into a rate-limit key.
//
// The address is the TCP peer (RemoteAddr) unless that peer is a trusted
// proxy. Then X-Forwarded-For (all header lines, in order) is read from right
// to left, skipping trusted proxies, and the first entry that is not a trusted
// proxy is the client: entries to its left were supplied by the client and
// cannot be believed. If that entry is malformed, the nearest trusted proxy's
// address is used instead (never an attacker-chosen value). If every entry is
// a trusted proxy, the left-most one is used.
type ClientIPResolver struct {
	trusted   []netip.Prefix
	v6KeyBits int
}

// NewClientIPResolver validates cfg and returns a resolver. Its errors
// satisfy errors.Is(err, [ErrInvalidConfig]).
func NewClientIPResolver(cfg ClientIPResolverConfig) (*ClientIPResolver, error) {
	v, err := newClientIPResolver(cfg)
	if err != nil {
		return nil, invalidConfig(err)
	}
	return v, nil
}

func newClientIPResolver(cfg ClientIPResolverConfig) (*ClientIPResolver, error) {
	c := &ClientIPResolver{v6KeyBits: cfg.IPv6KeyPrefix}
	if c.v6KeyBits == 0 {
		c.v6KeyBits = DefaultIPv6KeyPrefix
	}
	if c.v6KeyBits < 1 || c.v6KeyBits > 128 {
		return nil, fmt.Errorf("middleware: IPv6KeyPrefix %d out of range 1..128", cfg.IPv6KeyPrefix)
	}
	for _, s := range cfg.TrustedProxies {
		var p netip.Prefix
		if strings.Contains(s, "/") {
			var err error
			p, err = netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("middleware: trusted proxy %q: %w", s, err)
			}
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("middleware: trusted proxy %q: %w", s, err)
			}
			if a.Zone() != "" {
				return nil, fmt.Errorf("middleware: trusted proxy %q: zones are not supported", s)
			}
			a = a.Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		c.trusted = append(c.trusted, p.Masked())
	}
	return c, nil
}

// ClientIP returns r's client address. ok is false only when RemoteAddr itself
// cannot be parsed (a request not from a real connection); callers should then
// treat all such requests as one client.
func (c *ClientIPResolver) ClientIP(r *http.Request) (ip netip.Addr, ok bool) {
	peer, ok := parseHostAddr(r.RemoteAddr)
	if !ok {
		return netip.Addr{}, false
	}
	if c == nil || !c.isTrusted(peer) {
		return peer, true
	}
	last := peer // the nearest trusted hop so far
	vals := r.Header.Values("X-Forwarded-For")
	for i := len(vals) - 1; i >= 0; i-- {
		v := vals[i]
		for {
			var entry string
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				entry, v = v[j+1:], v[:j]
			} else {
				entry, v = v, ""
			}
			entry = strings.TrimSpace(entry)
			if entry != "" || v != "" {
				a, ok := parseHostAddr(entry)
				if !ok {
					// Written (or passed through) by the trusted hop `last`:
					// nothing to the left can be trusted; fall back to it.
					return last, true
				}
				if !c.isTrusted(a) {
					return a, true
				}
				last = a
			}
			if v == "" {
				break
			}
		}
	}
	return last, true
}

// Key returns a rate-limit key for r's client, for [RateLimit]: "ip:"
// followed by [ClientIPResolver.KeyOf] of [ClientIPResolver.ClientIP]
// ("ip:192.0.2.1", "ip:2001:db8:1:2::/64"). A request whose RemoteAddr is
// unparsable gets "ip:unknown".
func (c *ClientIPResolver) Key(r *http.Request) string {
	ip, _ := c.ClientIP(r)
	return "ip:" + c.KeyOf(ip)
}

// KeyOf returns [IPKey](ip, [ClientIPResolverConfig.IPv6KeyPrefix]): the key that
// per-IP limits outside a middleware (login failures, sign-ups, mails) use
// for an address this resolver returned.
func (c *ClientIPResolver) KeyOf(ip netip.Addr) string {
	bits := DefaultIPv6KeyPrefix
	if c != nil {
		bits = c.v6KeyBits
	}
	return IPKey(ip, bits)
}

func (c *ClientIPResolver) isTrusted(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHostAddr parses "ip", "ip:port" or "[ipv6]:port", drops any IPv6 zone
// and unmaps IPv4-mapped IPv6 addresses.
func parseHostAddr(s string) (netip.Addr, bool) {
	if s == "" || len(s) > 64 {
		return netip.Addr{}, false
	}
	var a netip.Addr
	// "ip:port" has exactly one colon and "[v6]:port" starts with '[';
	// anything else is parsed as a bare address (avoids an error allocation).
	if s[0] == '[' || strings.Count(s, ":") == 1 {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	} else {
		var err error
		if a, err = netip.ParseAddr(s); err != nil {
			return netip.Addr{}, false
		}
	}
	return a.WithZone("").Unmap(), true
}

package middleware

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func ipReq(remote string, xff ...string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = remote
	for _, v := range xff {
		r.Header.Add("X-Forwarded-For", v)
	}
	return r
}

// TestClientIPBelievesOnlyTrustedProxies covers ASVS 15.3.4: X-Forwarded-For is believed
// only from configured proxies, read right to left, and forged entries to the
// left of the first untrusted address are ignored.
func TestClientIPBelievesOnlyTrustedProxies(t *testing.T) {
	c, err := NewClientIPResolver(ClientIPResolverConfig{TrustedProxies: []string{"10.0.0.0/8", "192.0.2.7", "2001:db8:ffff::/48"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"direct_client", "203.0.113.5:4711", nil, "203.0.113.5"},
		{"forged_xff_from_untrusted_peer_ignored", "203.0.113.5:4711", []string{"1.1.1.1"}, "203.0.113.5"},
		{"forged_xff_many_entries_untrusted_peer", "203.0.113.5:4711", []string{"10.0.0.1, 1.1.1.1", "8.8.8.8"}, "203.0.113.5"},
		{"trusted_proxy_one_hop", "10.1.2.3:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"trusted_proxy_forged_left_entries_ignored", "10.1.2.3:80", []string{"6.6.6.6, 7.7.7.7, 198.51.100.9"}, "198.51.100.9"},
		{"forged_trusted_range_left_of_client_ignored", "10.1.2.3:80", []string{"10.9.9.9, 198.51.100.9"}, "198.51.100.9"},
		{"two_trusted_hops", "10.1.2.3:80", []string{"198.51.100.9, 192.0.2.7, 10.0.0.2"}, "198.51.100.9"},
		{"multiple_header_lines_in_order", "10.1.2.3:80", []string{"6.6.6.6", "198.51.100.9", "10.0.0.2"}, "198.51.100.9"},
		{"spaces_and_port_entries", "10.1.2.3:80", []string{" 6.6.6.6 ,198.51.100.9:5555 , 10.0.0.2 "}, "198.51.100.9"},
		{"ipv6_entry", "10.1.2.3:80", []string{"2001:db8:1::42"}, "2001:db8:1::42"},
		{"bracketed_ipv6_with_port", "10.1.2.3:80", []string{"[2001:db8:1::42]:443"}, "2001:db8:1::42"},
		{"ipv6_trusted_proxy_peer", "[2001:db8:ffff::1]:443", []string{"198.51.100.9"}, "198.51.100.9"},
		{"mapped_ipv4_peer_unmapped", "[::ffff:10.1.2.3]:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"mapped_ipv4_entry_unmapped", "10.1.2.3:80", []string{"::ffff:198.51.100.9"}, "198.51.100.9"},
		{"no_xff_from_proxy_uses_proxy", "10.1.2.3:80", nil, "10.1.2.3"},
		{"empty_xff_uses_proxy", "10.1.2.3:80", []string{""}, "10.1.2.3"},
		{"all_entries_trusted_uses_leftmost", "10.1.2.3:80", []string{"10.0.0.9, 10.0.0.8"}, "10.0.0.9"},
		{"malformed_rightmost_falls_back_to_proxy", "10.1.2.3:80", []string{"198.51.100.9, garbage"}, "10.1.2.3"},
		{"malformed_after_trusted_hop_uses_that_hop", "10.1.2.3:80", []string{"1.2.3.4, bad!, 10.0.0.2"}, "10.0.0.2"},
		{"empty_entry_is_malformed", "10.1.2.3:80", []string{"198.51.100.9,"}, "10.1.2.3"},
		{"unknown_literal_is_malformed", "10.1.2.3:80", []string{"unknown"}, "10.1.2.3"},
		{"zone_dropped", "10.1.2.3:80", []string{"fe80::1%eth0"}, "fe80::1"},
		{"overlong_entry_is_malformed", "10.1.2.3:80", []string{strings.Repeat("1", 100)}, "10.1.2.3"},
		{"remote_without_port", "203.0.113.5", nil, "203.0.113.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip, ok := c.ClientIP(ipReq(tt.remote, tt.xff...))
			if !ok || ip.String() != tt.want {
				t.Fatalf("ClientIP = %v, %v; want %s", ip, ok, tt.want)
			}
		})
	}
}

func TestClientIP_NoTrustedProxies(t *testing.T) {
	c, err := NewClientIPResolver(ClientIPResolverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	// With no proxy configured, every forwarding header is ignored.
	ip, ok := c.ClientIP(ipReq("10.1.2.3:80", "198.51.100.9"))
	if !ok || ip.String() != "10.1.2.3" {
		t.Fatalf("ClientIP = %v, %v", ip, ok)
	}
	if _, ok := c.ClientIP(ipReq("pipe")); ok {
		t.Fatal("unparsable RemoteAddr reported ok")
	}
	if k := c.Key(ipReq("pipe")); k != "ip:unknown" {
		t.Fatalf("Key = %q", k)
	}
}

func TestClientIP_Key(t *testing.T) {
	c, _ := NewClientIPResolver(ClientIPResolverConfig{})
	full, _ := NewClientIPResolver(ClientIPResolverConfig{IPv6KeyPrefix: 128})
	tests := []struct {
		c      *ClientIPResolver
		remote string
		want   string
	}{
		{c, "203.0.113.5:1", "ip:203.0.113.5"},
		{c, "[2001:db8:1:2:3:4:5:6]:1", "ip:2001:db8:1:2::/64"},
		{c, "[2001:db8:1:2:ffff::]:1", "ip:2001:db8:1:2::/64"},
		{full, "[2001:db8:1:2:3:4:5:6]:1", "ip:2001:db8:1:2:3:4:5:6"},
	}
	for _, tt := range tests {
		if got := tt.c.Key(ipReq(tt.remote)); got != tt.want {
			t.Errorf("Key(%s) = %q, want %q", tt.remote, got, tt.want)
		}
	}
}

func TestNewClientIPResolver_Invalid(t *testing.T) {
	for _, cfg := range []ClientIPResolverConfig{
		{TrustedProxies: []string{"10.0.0.0/33"}},
		{TrustedProxies: []string{"not-an-ip"}},
		{TrustedProxies: []string{"fe80::1%eth0"}},
		{IPv6KeyPrefix: 129},
		{IPv6KeyPrefix: -1},
	} {
		if _, err := NewClientIPResolver(cfg); err == nil {
			t.Errorf("NewClientIPResolver(%+v) succeeded", cfg)
		}
	}
}

func FuzzClientIP(f *testing.F) {
	c, _ := NewClientIPResolver(ClientIPResolverConfig{TrustedProxies: []string{"10.0.0.0/8"}})
	f.Add("10.1.2.3:80", "198.51.100.9, 10.0.0.2")
	f.Add("10.1.2.3:80", ",,,")
	f.Add("[::1]:1", "[2001:db8::1]:443, garbage")
	f.Add("203.0.113.5:1", "1.1.1.1")
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := ipReq(remote, xff)
		ip, ok := c.ClientIP(r)
		if !ok {
			return
		}
		if !ip.IsValid() {
			t.Fatal("ok with an invalid address")
		}
		// The result is either the peer or an entry of the header: never
		// something made up.
		peer, _ := parseHostAddr(remote)
		if ip != peer && !strings.Contains(xff, strings.TrimPrefix(ip.String(), "::ffff:")) {
			// Addresses may be written differently in the header (leading
			// zeros, upper case, mapped forms); re-parse each entry.
			found := false
			for e := range strings.SplitSeq(xff, ",") {
				if a, ok := parseHostAddr(strings.TrimSpace(e)); ok && a == ip {
					found = true
				}
			}
			if !found {
				t.Fatalf("ClientIP %v is neither the peer %v nor an entry of %q", ip, peer, xff)
			}
		}
		if !c.isTrusted(peer) && ip != peer {
			t.Fatalf("untrusted peer %v, but ClientIP %v came from the header", peer, ip)
		}
	})
}

// One subscriber's /64 rotating addresses must stay one key; IPv4 and its
// IPv4-mapped form must be one key.
func TestIPKeyGroupsIPv6By64AndUnmapsIPv4(t *testing.T) {
	tests := []struct {
		ip   string
		bits int
		want string
	}{
		{"192.0.2.1", 0, "192.0.2.1"},
		{"::ffff:192.0.2.1", 0, "192.0.2.1"},
		{"::ffff:192.0.2.1", 128, "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", 0, "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", 0, "2001:db8:1:2::/64"},
		{"2001:db8:1:2::1%eth0", 0, "2001:db8:1:2::/64"},
		{"2001:db8:1:2:3:4:5:6", 48, "2001:db8:1::/48"},
		{"2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6"},
		{"2001:db8:1:2:3:4:5:6", 129, "2001:db8:1:2::/64"},
		{"2001:db8:1:2:3:4:5:6", -1, "2001:db8:1:2::/64"},
	}
	for _, tt := range tests {
		if got := IPKey(netip.MustParseAddr(tt.ip), tt.bits); got != tt.want {
			t.Errorf("IPKey(%s, %d) = %q, want %q", tt.ip, tt.bits, got, tt.want)
		}
	}
	if got := IPKey(netip.Addr{}, 64); got != "unknown" {
		t.Errorf("IPKey(zero) = %q, want unknown", got)
	}
	// 1000 rotated addresses of one /64 share one key.
	keys := map[string]bool{}
	base := netip.MustParseAddr("2001:db8:aa:bb::").As16()
	for i := range 1000 {
		a := base
		a[15], a[14], a[9] = byte(i), byte(i>>8), byte(i*7)
		keys[IPKey(netip.AddrFrom16(a), 0)] = true
	}
	if len(keys) != 1 {
		t.Fatalf("1000 addresses of one /64 gave %d keys", len(keys))
	}
}

func TestClientIPResolverKeyOfMatchesKey(t *testing.T) {
	c, _ := NewClientIPResolver(ClientIPResolverConfig{IPv6KeyPrefix: 56})
	r := ipReq("[2001:db8:1:2:3:4:5:6]:1")
	ip, ok := c.ClientIP(r)
	if !ok {
		t.Fatal("ClientIP not ok")
	}
	if got, want := c.Key(r), "ip:"+c.KeyOf(ip); got != want || want != "ip:2001:db8:1::/56" {
		t.Fatalf("Key = %q, KeyOf = %q", got, want)
	}
}

func TestNilClientIPResolverUsesPeerAnd64(t *testing.T) {
	var c *ClientIPResolver
	r := ipReq("[2001:db8:1:2:3:4:5:6]:1", "198.51.100.1")
	ip, ok := c.ClientIP(r)
	if !ok || ip.String() != "2001:db8:1:2:3:4:5:6" {
		t.Fatalf("ClientIP = %v, %v", ip, ok)
	}
	if k := c.Key(r); k != "ip:2001:db8:1:2::/64" {
		t.Fatalf("Key = %q", k)
	}
}

// An address that embeds an IPv4 address (NAT64 well-known prefix
// 64:ff9b::/96, RFC 6052; 6to4 2002::/16, RFC 3056) keys on that IPv4
// address. By /64, every IPv4 client behind one NAT64 translator would
// share one key (one attacker throttles them all), and one 6to4 host
// would own 65536 keys of its /48 (a fresh budget per /64).
func TestIPKeyUnwrapsEmbeddedIPv4(t *testing.T) {
	tests := []struct {
		ip   string
		bits int
		want string
	}{
		{"64:ff9b::192.0.2.1", 0, "192.0.2.1"},
		{"64:ff9b::198.51.100.7", 0, "198.51.100.7"},
		{"64:ff9b::192.0.2.1", 128, "192.0.2.1"},
		{"2002:c000:0201::1", 0, "192.0.2.1"},
		{"2002:c000:0201:ffff:1:2:3:4", 48, "192.0.2.1"},
		// Only the /96 is the well-known prefix; the rest of 64:ff9b::/64
		// is keyed as any IPv6 address.
		{"64:ff9b::1:192.0.2.1", 0, "64:ff9b::/64"},
	}
	for _, tt := range tests {
		if got := IPKey(netip.MustParseAddr(tt.ip), tt.bits); got != tt.want {
			t.Errorf("IPKey(%s, %d) = %q, want %q", tt.ip, tt.bits, got, tt.want)
		}
	}
}

// Package domain answers questions about DNS names that the models share:
// the registrable domain (eTLD+1, from the public suffix list compiled into
// golang.org/x/net/publicsuffix), whether a "host" is really an address,
// and normalisation.
package domain

import (
	"net/netip"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Normalize lower-cases a name, drops a trailing dot and a ":port" suffix
// (HTTP Host headers carry one), and strips IPv6 brackets.
func Normalize(h string) string {
	h = strings.TrimSpace(h)
	if h == "" {
		return ""
	}
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return strings.ToLower(h[1:i])
		}
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
		h = h[:i]
	}
	for { // "name. ." and the like: trim until nothing changes
		t := strings.TrimSpace(strings.TrimSuffix(h, "."))
		if t == h {
			break
		}
		h = t
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// IsAddr reports whether a (normalised) host is an IP address literal:
// the HTTP Host header or SNI of a connection made without a name.
func IsAddr(h string) bool {
	if h == "" {
		return false
	}
	// Fast path (and no error to allocate for names): an IPv4 literal is
	// digits and dots only, and only IPv6 has ':'.
	if strings.IndexByte(h, ':') < 0 {
		for i := 0; i < len(h); i++ {
			if c := h[i]; (c < '0' || c > '9') && c != '.' {
				return false
			}
		}
	}
	_, err := netip.ParseAddr(h)
	return err == nil
}

// Registrable returns the registrable domain (eTLD+1) of a normalised
// host name, or the name itself when it has none (a bare public suffix,
// a single label, an address).
func Registrable(h string) string {
	if h == "" || IsAddr(h) || !strings.Contains(h, ".") {
		return h
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(h)
	if err != nil {
		return h
	}
	return d
}

// Cache memoises Registrable for the names a network keeps using. It is
// bounded: when full it starts afresh, keeping the previous generation.
// Not safe for concurrent use.
type Cache struct {
	cur, old map[string]string
	max      int
}

// NewCache returns a cache of about max names (two generations of max/2).
func NewCache(max int) *Cache {
	return &Cache{cur: make(map[string]string), max: max / 2}
}

// Registrable is Registrable, memoised.
func (c *Cache) Registrable(h string) string {
	if d, ok := c.cur[h]; ok {
		return d
	}
	d, ok := c.old[h]
	if !ok {
		d = Registrable(h)
	}
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[string]string, c.max/4)
	}
	c.cur[h] = d
	return d
}

// Suffix returns the public suffix of a host ("com", "co.uk").
func Suffix(h string) string {
	s, _ := publicsuffix.PublicSuffix(h)
	return s
}

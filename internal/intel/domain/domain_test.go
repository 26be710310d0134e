package domain

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNames(t *testing.T) {
	for _, tc := range []struct{ in, norm, reg string }{
		{"WWW.Example.COM.", "www.example.com", "example.com"},
		{"api.example.co.uk:8443", "api.example.co.uk", "example.co.uk"},
		{"203.0.113.7:8080", "203.0.113.7", "203.0.113.7"},
		{"[2001:db8::a]:443", "2001:db8::a", "2001:db8::a"},
		{"2001:db8::a", "2001:db8::a", "2001:db8::a"},
		{"fs01", "fs01", "fs01"},
		{"foo.s3.amazonaws.com", "foo.s3.amazonaws.com", "foo.s3.amazonaws.com"}, // private suffix
	} {
		n := Normalize(tc.in)
		require.Equal(t, tc.norm, n, tc.in)
		require.Equal(t, tc.reg, Registrable(n), tc.in)
		require.Equal(t, tc.reg, NewCache(4).Registrable(n), tc.in)
	}
	require.True(t, IsAddr("10.0.0.1"))
	require.True(t, IsAddr("2001:db8::a"))
	require.False(t, IsAddr("example.com"))
	require.False(t, IsAddr("1.example.123")) // ends in a digit, is a name
}

func TestCacheIsBounded(t *testing.T) {
	c := NewCache(8)
	for _, h := range []string{"a.example.com", "b.example.org", "c.example.net", "d.example.com", "e.example.com", "f.example.com"} {
		c.Registrable(h)
	}
	require.LessOrEqual(t, len(c.cur)+len(c.old), 8)
	require.Equal(t, "example.com", c.Registrable("f.example.com"))
}

// FuzzNames checks that arbitrary host text (Host headers, SNI and DNS
// names come from the network) never panics and normalises idempotently.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"WWW.Example.COM.", "[2001:db8::1]:443", "203.0.113.7:8080", "a..b", ":", "[", "xn--p1ai"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if Normalize(n) != n && !IsAddr(n) && !strings.Contains(n, ":") {
			t.Fatalf("Normalize(%q) = %q is not stable", s, n)
		}
		_ = Registrable(n)
		_ = IsAddr(n)
		_ = NewCache(2).Registrable(n)
	})
}

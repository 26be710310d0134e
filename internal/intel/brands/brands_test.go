package brands

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDefault(t *testing.T) {
	c := Default()
	require.GreaterOrEqual(t, c.Len(), 80)
	require.Contains(t, c.ComboTerms, "login")
	for _, tc := range []struct {
		name, domain, brand string
	}{
		{"listed", "microsoftonline.com", "Microsoft"},
		{"reduced to registrable", "amazonaws.com", "Amazon"},
		{"country code of an intl brand", "google.com.br", "Google"},
		{"country code of an intl brand, word name", "amazon.co.uk", "Amazon"},
		{"listed country domain", "paypal.de", "PayPal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, ok := c.Owner(tc.domain)
			require.True(t, ok)
			require.Equal(t, tc.brand, b.Name)
		})
	}
	for _, d := range []string{"micros0ft-online.com", "microsoft.xyz", "docusign.de", "pineapple.com", "google.xyz"} {
		_, ok := c.Owner(d)
		require.False(t, ok, d)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, err string }{
		{"empty", "brands: []", "no brands"},
		{"unknown key", "brands: [{name: A, importance: 1, domains: [a.com], colour: red}]", "colour"},
		{"bad importance", "brands: [{name: A, importance: 2, domains: [a.com]}]", "importance"},
		{"no domains", "brands: [{name: A, importance: 1}]", "no domains"},
		{"bad token", "brands: [{name: A, importance: 1, tokens: [a.b], domains: [a.com]}]", "not a DNS label"},
		{"claimed twice", "brands: [{name: A, importance: 1, domains: [a.com]}, {name: B, importance: 1, domains: [www.a.com]}]", "already belongs to A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			require.ErrorContains(t, err, tc.err)
		})
	}
}

// Package config reads Vigil's configuration file. Decoding is strict:
// an unknown key is an error naming the file and line, so a typo never
// silently falls back to a default.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-ndr/vigil/internal/baseline"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/device"
	"github.com/vigil-ndr/vigil/internal/units"
)

// Config is the whole configuration. The zero value is not useful; start
// from Default.
type Config struct {
	// Internal lists the address ranges whose hosts are the organisation's
	// devices. Default: RFC 1918, RFC 4193, link-local and loopback.
	Internal []Prefix `yaml:"internal"`
	// Capture configures packet capture analysis.
	Capture Capture `yaml:"capture"`
	// Baseline sets the learning period, prevalence window and rarity.
	Baseline baseline.Settings `yaml:"baseline"`
	// Scoring sets how breaches combine into device threat scores.
	Scoring detect.Scoring `yaml:"scoring"`
	// Models maps a model ID (or catalogue name) to its settings:
	// enabled, cooldown and the model's own thresholds.
	Models yaml.Node `yaml:"models"`
	// Allowlist suppresses matching breaches.
	Allowlist []detect.AllowRule `yaml:"allowlist"`
}

// Capture holds the flow engine's settings, with Zeek's defaults.
type Capture struct {
	TCPInactivity  Duration `yaml:"tcp_inactivity_timeout"`
	UDPInactivity  Duration `yaml:"udp_inactivity_timeout"`
	ICMPInactivity Duration `yaml:"icmp_inactivity_timeout"`
	// MaxFlows bounds the flow table (and so memory); the least recently
	// active flow is ended early when it is full.
	MaxFlows int `yaml:"max_flows"`
}

// Default returns the configuration used when no file is given.
func Default() Config {
	c := Config{
		Capture: Capture{
			TCPInactivity:  Duration(5 * time.Minute),
			UDPInactivity:  Duration(time.Minute),
			ICMPInactivity: Duration(time.Minute),
			MaxFlows:       1 << 20,
		},
		Baseline: baseline.DefaultSettings(),
		Scoring:  detect.DefaultScoring(),
	}
	for _, p := range device.DefaultInternal() {
		c.Internal = append(c.Internal, Prefix(p))
	}
	return c
}

// Load reads a YAML file over the defaults.
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Default(), fmt.Errorf("read config: %w", err)
	}
	return Parse(path, b)
}

// Parse reads configuration text over the defaults; name is used in
// errors.
func Parse(path string, b []byte) (Config, error) {
	c := Default()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Validate checks the settings without doing any I/O.
func (c *Config) Validate() error {
	if len(c.Internal) == 0 {
		return errors.New("internal: at least one address range is needed")
	}
	for name, d := range map[string]Duration{
		"capture.tcp_inactivity_timeout":  c.Capture.TCPInactivity,
		"capture.udp_inactivity_timeout":  c.Capture.UDPInactivity,
		"capture.icmp_inactivity_timeout": c.Capture.ICMPInactivity,
	} {
		if d <= 0 {
			return fmt.Errorf("%s: must be positive, got %s", name, time.Duration(d))
		}
	}
	if c.Capture.MaxFlows < 1000 {
		return fmt.Errorf("capture.max_flows: must be at least 1000, got %d", c.Capture.MaxFlows)
	}
	if err := c.Baseline.Validate(); err != nil {
		return err
	}
	if err := c.Scoring.Validate(); err != nil {
		return err
	}
	for i := range c.Allowlist {
		if err := c.Allowlist[i].Compile(); err != nil {
			return fmt.Errorf("allowlist rule %d: %w", i+1, err)
		}
	}
	if _, err := c.DetectModels(); err != nil {
		return err
	}
	return nil
}

// DetectModels builds the registered models with the configured settings.
func (c *Config) DetectModels() ([]detect.Configured, error) { return detect.Configure(c.Models) }

// InternalPrefixes returns Internal as netip prefixes.
func (c *Config) InternalPrefixes() []netip.Prefix {
	out := make([]netip.Prefix, len(c.Internal))
	for i, p := range c.Internal {
		out[i] = netip.Prefix(p)
	}
	return out
}

// ParsePrefixes parses a comma-separated list of CIDR prefixes (a bare
// address is a single-host prefix).
func ParsePrefixes(s string) ([]Prefix, error) {
	var out []Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := parsePrefix(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, errors.New("no address range given")
	}
	return out, nil
}

func parsePrefix(s string) (Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return Prefix{}, fmt.Errorf("bad address range %q: %w", s, err)
		}
		return Prefix(netip.PrefixFrom(a, a.BitLen())), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return Prefix{}, fmt.Errorf("bad address range %q: %w", s, err)
	}
	return Prefix(p.Masked()), nil
}

// Prefix is a CIDR range that decodes from YAML text.
type Prefix netip.Prefix

// UnmarshalYAML parses "10.0.0.0/8" or a bare address.
func (p *Prefix) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := parsePrefix(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*p = v
	return nil
}

// Duration is a time.Duration that decodes from YAML text such as "5m"
// or "7d".
type Duration = units.Duration

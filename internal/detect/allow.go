package detect

import (
	"fmt"
	"net/netip"
	"path"
	"strings"

	"github.com/vigil-ndr/vigil/internal/breach"
)

// AllowRule suppresses breaches that match all of its set fields
// (configuration key "allowlist"). Baselines still learn from the traffic;
// only the breach is not reported, so changing the allowlist and
// re-analysing old data gives the new result.
type AllowRule struct {
	// Model is a model ID or catalogue name; empty matches every model.
	Model string `yaml:"model"`
	// Device is an address or CIDR range of internal devices.
	Device string `yaml:"device"`
	// Endpoint is an address, a CIDR range, or a host name pattern with
	// shell wildcards ("*.windowsupdate.com" matches any name below it,
	// not the name itself).
	Endpoint string `yaml:"endpoint"`
	// Reason is for people reading the configuration.
	Reason string `yaml:"reason"`

	model    string
	device   netip.Prefix
	endpoint netip.Prefix
	pattern  string
}

// Compile checks a rule and prepares it for matching.
func (r *AllowRule) Compile() error {
	if r.Model == "" && r.Device == "" && r.Endpoint == "" {
		return fmt.Errorf("allowlist rule needs at least one of model, device, endpoint")
	}
	if r.Model != "" {
		i, ok := Find(r.Model)
		if !ok {
			return fmt.Errorf("allowlist: unknown model %q (see `vigil models`)", r.Model)
		}
		r.model = i.Name
	}
	if r.Device != "" {
		p, err := prefix(r.Device)
		if err != nil {
			return fmt.Errorf("allowlist device: %w", err)
		}
		r.device = p
	}
	if r.Endpoint != "" {
		if p, err := prefix(r.Endpoint); err == nil {
			r.endpoint = p
		} else {
			pat := strings.ToLower(strings.TrimSuffix(r.Endpoint, "."))
			if _, err := path.Match(pat, ""); err != nil {
				return fmt.Errorf("allowlist endpoint %q: %w", r.Endpoint, err)
			}
			r.pattern = pat
		}
	}
	return nil
}

func prefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Match reports whether the rule covers the breach.
func (r *AllowRule) Match(b *breach.Breach) bool {
	if r.model != "" && r.model != b.Model {
		return false
	}
	if r.device.IsValid() && !r.device.Contains(b.Device) {
		return false
	}
	switch {
	case r.endpoint.IsValid():
		return b.Endpoint.IP.IsValid() && r.endpoint.Contains(b.Endpoint.IP)
	case r.pattern != "":
		ok, _ := path.Match(r.pattern, b.Endpoint.Hostname)
		return ok
	}
	return true
}

func (e *Engine) allowedBy(_ Info, b breach.Breach) (*AllowRule, bool) {
	for i := range e.opt.Allow {
		if e.opt.Allow[i].Match(&b) {
			return &e.opt.Allow[i], true
		}
	}
	return nil, false
}

package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
)

// digest runs cfg and hashes the JSONL of every session and event.
func digest(t testing.TB, cfg Config) (string, *Truth, int) {
	h := sha256.New()
	n := 0
	truth, err := Generate(context.Background(), cfg, func(s *Session) error {
		n++
		writeJSON(t, h, s)
		return Events(s, func(e event.Event) error {
			writeJSON(t, h, e)
			return nil
		})
	})
	require.NoError(t, err)
	writeJSON(t, h, truth)
	return hex.EncodeToString(h.Sum(nil)), truth, n
}

func writeJSON(t testing.TB, h hash.Hash, v any) {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	h.Write(b)
	h.Write([]byte{'\n'})
}

func TestDeterminism(t *testing.T) {
	cfg := Config{Scenario: "macos-clickfix", Seed: 7, Days: 5, Devices: 20}
	a, _, n := digest(t, cfg)
	b, _, _ := digest(t, cfg)
	require.Equal(t, a, b, "same seed, same output")
	require.Greater(t, n, 1000)
	cfg.Seed = 8
	c, _, _ := digest(t, cfg)
	require.NotEqual(t, a, c, "another seed, other output")
}

// TestDeviceStreamsIndependent checks that adding devices leaves the
// others' attributes alone (each device has its own random stream).
func TestDeviceStreamsIndependent(t *testing.T) {
	small, big := NewOrg(3, 40), NewOrg(3, 80)
	for _, d := range small.Devices {
		var other *Device
		for _, e := range big.Devices {
			if e.ID == d.ID {
				other = e
			}
		}
		require.NotNil(t, other, d.ID)
		require.Equal(t, d.MAC, other.MAC, d.ID)
		require.Equal(t, d.IP, other.IP, d.ID)
		require.Equal(t, d.Hostname, other.Hostname, d.ID)
	}
}

func TestOrgRoles(t *testing.T) {
	for _, k := range []int{1, 10, 60, 500} {
		o := NewOrg(1, k)
		for _, r := range []Role{RoleWinLaptop, RoleMacLaptop, RoleDeveloper, RolePhone, RolePrinter, RoleServer, RoleResolver, RoleProxy, RoleDC, RoleFileServer, RoleMCPServer} {
			require.NotEmpty(t, o.ByRole(r), "k=%d role %s", k, r)
		}
		if k >= 60 {
			require.InDelta(t, k, len(o.Devices), float64(k)/20+1)
		}
		seen := map[string]bool{}
		for _, d := range o.Devices {
			require.True(t, d.IP.IsPrivate(), d.ID)
			require.False(t, seen[d.IP.String()], "duplicate address %s", d.IP)
			seen[d.IP.String()] = true
		}
	}
}

func TestHolidays(t *testing.T) {
	tests := []struct {
		name string
		day  time.Time
		want bool
	}{
		{"presidents-day-2026", time.Date(2026, 2, 16, 12, 0, 0, 0, OfficeZone), true},
		{"thanksgiving-2026", time.Date(2026, 11, 26, 12, 0, 0, 0, OfficeZone), true},
		{"memorial-day-2026", time.Date(2026, 5, 25, 12, 0, 0, 0, OfficeZone), true},
		{"ordinary-tuesday", time.Date(2026, 2, 17, 12, 0, 0, 0, OfficeZone), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, IsHoliday(tc.day)) })
	}
}

// TestScenarios runs every scenario and checks the truth against the
// labelled sessions.
func TestScenarios(t *testing.T) {
	names := Scenarios()
	for _, want := range []string{"benign-only", "dga-beacon", "dns-exfil", "macos-clickfix", "shadow-ai"} {
		require.Contains(t, names, want)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			type agg struct {
				n        int
				up, down int64
				first    time.Time
				last     time.Time
			}
			got := map[string]*agg{}
			var sample = map[string]*Session{}
			truth, err := Generate(context.Background(), Config{Scenario: name, Seed: 1, Days: 12, Devices: 30}, func(s *Session) error {
				if s.Label == "" {
					return nil
				}
				require.True(t, strings.HasPrefix(s.Label, name+"/"), s.Label)
				a := got[s.Label]
				if a == nil {
					a = &agg{first: s.Start}
					got[s.Label] = a
					sample[s.Label] = s
				}
				a.n++
				a.up += s.BytesUp
				a.down += s.BytesDown
				a.last = s.Start
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, name, truth.Scenario)
			require.NotEmpty(t, truth.Devices)
			if name == "benign-only" {
				require.Empty(t, truth.Behaviours)
				require.Empty(t, got)
				return
			}
			for _, b := range truth.Behaviours {
				a := got[b.ID]
				require.NotNil(t, a, "behaviour %s produced no session", b.ID)
				require.Equal(t, a.n, b.Sessions, b.ID)
				require.Equal(t, a.up, b.BytesUp, b.ID)
				require.Equal(t, a.down, b.BytesDown, b.ID)
				require.Equal(t, a.first, b.First, b.ID)
				require.Equal(t, a.last, b.Last, b.ID)
				require.NotEmpty(t, b.Endpoints, b.ID)
				delete(got, b.ID)
			}
			require.Empty(t, got, "labels without truth")
		})
	}
}

// TestClickfixStory checks the campaign's shape: the steps the issue
// names, in order over days.
func TestClickfixStory(t *testing.T) {
	var c2 []*Session
	steps := map[string]*Session{}
	truth, err := Generate(context.Background(), Config{Scenario: "macos-clickfix", Seed: 2, Days: 12, Devices: 30}, func(s *Session) error {
		if s.Label == "" {
			return nil
		}
		if _, ok := steps[s.Label]; !ok {
			steps[s.Label] = s
		}
		if s.Label == "macos-clickfix/c2-beacon" && len(s.HTTP) > 0 {
			c2 = append(c2, s)
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, truth.Behaviours)
	lure := steps["macos-clickfix/lure"]
	require.NotNil(t, lure)
	require.True(t, strings.HasPrefix(sessionHost(lure), "zoom.") && strings.HasSuffix(sessionHost(lure), ".us"))
	require.Greater(t, len(c2), 100)
	require.Equal(t, "curl/8.7.1", c2[0].HTTP[0].UserAgent)
	require.Equal(t, "/api/daemon", c2[0].HTTP[0].URI)
	require.NotEqual(t, uint16(80), c2[0].Server.Port)
	ss := steps["macos-clickfix/selfsigned-tls"]
	require.True(t, ss.TLS.SelfSigned)
	up := steps["macos-clickfix/exfil-upload"]
	require.NotNil(t, up)
	burst := steps["macos-clickfix/win-failed-burst"]
	require.Equal(t, event.StateREJ, burst.State)
	require.Equal(t, c2[0].Server.IP, burst.Server.IP)
	ps := steps["macos-clickfix/win-powershell-c2"]
	require.Contains(t, ps.HTTP[0].UserAgent, "PowerShell")
	require.True(t, lure.Start.Before(burst.Start) && burst.Start.Before(ps.Start))
	require.Greater(t, burst.Start.Sub(lure.Start), 3*24*time.Hour, "spread over days")
}

func TestScenarioStrict(t *testing.T) {
	tests := []struct {
		name, yaml, err string
	}{
		{"unknown-key", "name: x\nbehaviours:\n  - id: a\n    device: {role: developer}\n    bogus: 1\n    connect: {ip: 192.0.2.1, port: 1}\n", "bogus"},
		{"no-action", "name: x\nbehaviours:\n  - id: a\n    device: {role: developer}\n", "needs one of"},
		{"bad-duration", "name: x\nbehaviours:\n  - id: a\n    device: {role: developer}\n    every: soon\n    connect: {ip: 192.0.2.1, port: 1}\n", "duration"},
		{"bad-state", "name: x\nbehaviours:\n  - id: a\n    device: {role: developer}\n    connect: {ip: 192.0.2.1, port: 1, state: XX}\n", "state"},
		{"wrong-name", "name: y\nbehaviours: []\n", "name"},
		{"ok", "name: x\nbehaviours:\n  - id: a\n    device: {role: developer}\n    connect: {ip: 192.0.2.1, port: 1}\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseScenario("x", []byte(tc.yaml))
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
	_, err := Generate(context.Background(), Config{Scenario: "no-such"}, func(*Session) error { return nil })
	require.ErrorContains(t, err, "unknown scenario")
}

func FuzzParseScenario(f *testing.F) {
	for _, n := range Scenarios() {
		b, err := scenarioFS.ReadFile("scenarios/" + n + ".yaml")
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte("name: fuzz\nbehaviours: [{id: a}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sc, err := parseScenario("fuzz", b)
		if err != nil {
			return
		}
		w := newWorld(Config{Seed: 1, Days: 1, Devices: 12, Start: DefaultStart})
		_ = w.addScenario(sc, func(*TruthBehaviour) {})
	})
}

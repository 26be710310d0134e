package detect_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/config"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/detect/detecttest"
	_ "github.com/vigil-ndr/vigil/internal/detect/postip"
	"github.com/vigil-ndr/vigil/internal/event"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func post(ts time.Time, dev, dst string) *event.HTTP {
	return &event.HTTP{
		Meta:   event.Meta{TS: ts, UID: "C" + ts.Format("150405"), ID: event.ConnID{OrigH: netip.MustParseAddr(dev), OrigP: 50000, RespH: netip.MustParseAddr(dst), RespP: 8080}},
		Method: "POST", Host: dst, URI: "/r", UserAgent: "curl/8.7.1", StatusCode: 200,
	}
}

func TestCooldownSuppressesRepeats(t *testing.T) {
	e := detecttest.Engine(t, config.Default(), "post-to-ip")
	for i := range 10 { // every 10 minutes for 100 minutes: one breach
		e.Observe(post(t0.Add(time.Duration(i)*10*time.Minute), "10.0.0.5", "203.0.113.9"))
	}
	require.Len(t, e.Breaches(), 1)
	e.Observe(post(t0.Add(7*time.Hour), "10.0.0.5", "203.0.113.9")) // past the 6h cooldown
	require.Len(t, e.Breaches(), 2)
	e.Observe(post(t0.Add(7*time.Hour), "10.0.0.6", "203.0.113.9")) // another device is its own breach
	require.Len(t, e.Breaches(), 3)
}

func TestAllowlist(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rule  detect.AllowRule
		allow bool
	}{
		{"endpoint range", detect.AllowRule{Endpoint: "203.0.113.0/24"}, true},
		{"other endpoint", detect.AllowRule{Endpoint: "198.51.100.9"}, false},
		{"model by id", detect.AllowRule{Model: "post-to-ip"}, true},
		{"model by name and device", detect.AllowRule{Model: "Anomalous Connection::Posting HTTP to IP Without Hostname", Device: "10.0.0.0/24"}, true},
		{"other device", detect.AllowRule{Model: "post-to-ip", Device: "10.9.0.0/16"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			require.NoError(t, tc.rule.Compile())
			cfg.Allowlist = []detect.AllowRule{tc.rule}
			e := detecttest.Engine(t, cfg, "post-to-ip")
			e.Observe(post(t0, "10.0.0.5", "203.0.113.9"))
			if tc.allow {
				require.Empty(t, e.Breaches())
				require.Equal(t, 1, e.Allowed())
			} else {
				require.Len(t, e.Breaches(), 1)
			}
		})
	}
}

func TestAllowlistHostPattern(t *testing.T) {
	r := detect.AllowRule{Endpoint: "*.windowsupdate.com"}
	require.NoError(t, r.Compile())
	for host, want := range map[string]bool{
		"download.windowsupdate.com":  true,
		"a.b.windowsupdate.com":       true,
		"windowsupdate.com":           false,
		"windowsupdate.com.evil.net":  false,
		"fake-windowsupdate.com":      false,
		"DOWNLOAD.windowsupdate.com.": false, // breaches carry normalised names
	} {
		b := breach.Breach{Endpoint: breach.Endpoint{Hostname: host}}
		require.Equal(t, want, r.Match(&b), host)
	}
	bad := detect.AllowRule{Model: "no-such-model"}
	require.ErrorContains(t, bad.Compile(), "unknown model")
	empty := detect.AllowRule{Reason: "x"}
	require.Error(t, empty.Compile())
}

func TestThreatScore(t *testing.T) {
	th := detect.NewThreat(detect.DefaultScoring())
	dev := netip.MustParseAddr("10.0.0.5")
	b := func(model string, score int, host string, at time.Time) breach.Breach {
		return breach.Breach{Model: model, Score: score, Device: dev, Time: at, Endpoint: breach.Endpoint{Hostname: host}}
	}
	th.Add(b("A", 45, "x", t0))
	th.Add(b("B", 45, "y", t0))
	th.Add(b("C", 45, "z", t0))
	weak := th.Score(dev, t0)
	loud := detect.NewThreat(detect.DefaultScoring())
	loud.Add(b("A", 80, "x", t0))
	require.Greater(t, weak, loud.Score(dev, t0), "three weak, different breaches outrank one loud one")
	require.InDelta(t, 83.4, weak, 0.1)

	rep := detect.NewThreat(detect.DefaultScoring())
	for i := range 50 {
		rep.Add(b("A", 45, "x", t0.Add(time.Duration(i)*time.Minute)))
	}
	require.LessOrEqual(t, rep.Score(dev, t0.Add(49*time.Minute)), 45.0, "repeats do not inflate")
	require.InDelta(t, 22.5, th2(b("A", 45, "x", t0)).Score(dev, t0.Add(24*time.Hour)), 0.1, "halves in a day")
}

func th2(b breach.Breach) *detect.Threat {
	t := detect.NewThreat(detect.DefaultScoring())
	t.Add(b)
	return t
}

func TestConfigureStrict(t *testing.T) {
	for _, tc := range []struct{ name, yaml, err string }{
		{"unknown key", "models:\n  post-to-ip:\n    min_scor: 3\n", `line 3: models.post-to-ip: unknown key "min_scor"`},
		{"unknown model", "models:\n  nope:\n    enabled: false\n", `line 2: models: unknown model "nope"`},
		{"bad value", "models:\n  post-to-ip:\n    min_score: 300\n", "min_score: must be 0–100"},
		{"bad cooldown", "models:\n  post-to-ip:\n    cooldown: soon\n", `bad duration "soon"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "vigil.yaml")
			require.NoError(t, os.WriteFile(p, []byte(tc.yaml), 0o644))
			_, err := config.Load(p)
			require.ErrorContains(t, err, tc.err)
			require.ErrorContains(t, err, p, "the error names the file")
		})
	}
	models := func(s string) yaml.Node {
		var doc struct {
			Models yaml.Node `yaml:"models"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(s), &doc))
		return doc.Models
	}
	_, err := detect.Configure(models("models:\n  post-to-ip: {enabled: false}\n  Anomalous Connection::Posting HTTP to IP Without Hostname: {}\n"))
	require.ErrorContains(t, err, "line 3: models: post-to-ip configured twice")
	ms, err := detect.Configure(models("models:\n  post-to-ip: {enabled: false}\n"))
	require.NoError(t, err)
	for _, m := range ms {
		require.NotEqual(t, "post-to-ip", m.Info.ID, "disabled")
	}
	ms, err = detect.Configure(models("models:\n  post-to-ip: {cooldown: 1h, min_score: 80}\n"))
	require.NoError(t, err)
	for _, m := range ms {
		if m.Info.ID == "post-to-ip" {
			require.Equal(t, time.Hour, m.Cooldown)
			require.Equal(t, [][2]string{{"min_score", "80"}}, detect.Settings(m.Model))
		}
	}
}

// TestConnWaitsForItsHandshake feeds a connection summary before its TLS
// handshake, as Zeek logs arrive: the engine holds the summary until the
// handshake names the host, so models see the connection with its name.
func TestConnWaitsForItsHandshake(t *testing.T) {
	e := detecttest.Engine(t, config.Default(), "post-to-ip")
	id := event.ConnID{OrigH: netip.MustParseAddr("10.0.0.5"), OrigP: 50000, RespH: netip.MustParseAddr("198.51.100.9"), RespP: 443}
	e.Observe(&event.Conn{Meta: event.Meta{TS: t0, UID: "Cx", ID: id}, Proto: event.ProtoTCP, Service: "ssl",
		ConnState: event.StateSF, OrigBytes: 900, RespBytes: 5000, RespPkts: 6})
	p := e.Baselines().Lookup(id.OrigH)
	require.Nil(t, p, "held: nothing learned yet")
	e.Observe(&event.TLS{Meta: event.Meta{TS: t0.Add(50 * time.Millisecond), UID: "Cx", ID: id}, ServerName: "files.example.net", Established: true})
	p = e.Baselines().Lookup(id.OrigH)
	require.NotNil(t, p)
	require.True(t, p.HasIP(id.RespH), "the connection was released by its handshake")
	require.Equal(t, 1, e.Baselines().Net.IP(id.RespH, 99).Devices)

	// A summary whose handshake never comes is judged after joinWait, or at Flush.
	id2 := id
	id2.RespH = netip.MustParseAddr("198.51.100.10")
	e.Observe(&event.Conn{Meta: event.Meta{TS: t0.Add(time.Second), UID: "Cy", ID: id2}, Proto: event.ProtoTCP, Service: "ssl",
		ConnState: event.StateSF, RespPkts: 3})
	require.False(t, p.HasIP(id2.RespH))
	e.Observe(&event.DNS{Meta: event.Meta{TS: t0.Add(5 * time.Minute), ID: event.ConnID{OrigH: id.OrigH, RespH: netip.MustParseAddr("10.0.0.2"), RespP: 53}}})
	require.True(t, p.HasIP(id2.RespH), "released after the join wait")
	e.Observe(&event.Conn{Meta: event.Meta{TS: t0.Add(6 * time.Minute), UID: "Cz", ID: id}, Proto: event.ProtoTCP, Service: "http", RespPkts: 3})
	e.Flush()
	require.Empty(t, e.Breaches())
}

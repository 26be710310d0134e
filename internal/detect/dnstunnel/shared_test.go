package dnstunnel

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/config"
	"github.com/vigil-ndr/vigil/internal/detect/detecttest"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
	"github.com/vigil-ndr/vigil/internal/sensor/pcap"
	"github.com/vigil-ndr/vigil/internal/testkit"
)

// analyze runs only this model over one capture and returns its breaches.
func analyze(t *testing.T, path string) []breach.Breach {
	t.Helper()
	e := detecttest.Engine(t, config.Default(), ID)
	err := pcap.ReadFiles(context.Background(), []string{path}, pcap.DefaultConfig(), sensor.Options{},
		func(ev event.Event) error { e.Observe(ev); return nil })
	require.NoError(t, err)
	e.Flush()
	return e.Breaches()
}

// strongest returns the highest-scoring breach.
func strongest(bs []breach.Breach) breach.Breach {
	var top breach.Breach
	for _, b := range bs {
		if b.Score > top.Score {
			top = b
		}
	}
	return top
}

// TestLabTunnel: the lab's M7 (172.16.40.60, TXT queries under
// q.lumenpath-dns.com) fires on the client only, not on the resolver
// 172.16.40.2 that forwards its queries, and nothing else in the capture
// (benign traps included) fires.
func TestLabTunnel(t *testing.T) {
	bs := analyze(t, testkit.SharedData(t, "lab", "dev-intrusion.pcap"))
	require.NotEmpty(t, bs)
	for _, b := range bs {
		require.Equal(t, "172.16.40.60", b.Device.String(), b.Summary)
		require.Equal(t, "lumenpath-dns.com", b.Evidence["domain"])
	}
	require.Equal(t, "upload", strongest(bs).Evidence["mode"])
}

// TestDomainator: the Domainator recordings of DNS-tunnelling malware.
// Every recording with enough tunnel traffic to judge fires; the ones
// listed in quiet hold at most two unique names per tunnel domain (a
// C2 that never answered, or one check-in) and are out of reach of a
// volume model (see the package doc and the report).
func TestDomainator(t *testing.T) {
	dir := testkit.SharedData(t, "domainator", "malware_recordings")
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.pcapng"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	quiet := map[string]bool{
		"roguerobin-net_handshake-fakenet_240229.pcapng":  true,
		"roguerobin-net_handshake-offline_240229.pcapng":  true,
		"roguerobin-net_handshake_240229.pcapng":          true,
		"roguerobin-net_upload-ssh-ed25519_240319.pcapng": true,
		"roguerobin-ps_handshake-fakenet_240229.pcapng":   true,
		"roguerobin-ps_handshake-offline_240229.pcapng":   true,
		"roguerobin-ps_handshake_240229.pcapng":           true,
		"roguerobin-ps_upload-ssh-ed25519_240229.pcapng":  true,
		"saitama_handshake-fakenet_240223.pcapng":         true,
		"saitama_handshake-offline_240223.pcapng":         true,
		"saitama_handshake_240223.pcapng":                 true,
		"symbiote-dnscat_handshake_240403.pcapng":         true,
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			bs := analyze(t, f)
			top := strongest(bs)
			t.Logf("%-50s fired=%-5v mode=%-11v score=%3d domains=%d", name, len(bs) > 0, top.Evidence["mode"], top.Score, domains(bs))
			if quiet[name] {
				return
			}
			require.NotEmpty(t, bs)
			for _, b := range bs {
				require.Equal(t, "192.168.7.7", b.Device.String())
			}
		})
	}
}

func domains(bs []breach.Breach) int {
	seen := map[any]bool{}
	for _, b := range bs {
		seen[b.Evidence["domain"]] = true
	}
	return len(seen)
}

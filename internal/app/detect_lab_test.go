package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/config"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
	"github.com/vigil-ndr/vigil/internal/sensor/zeek"
	"github.com/vigil-ndr/vigil/internal/testkit"
)

// readBreaches reads breaches.jsonl from an output directory.
func readBreaches(t *testing.T, dir string) []breach.Breach {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "breaches.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	var out []breach.Breach
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var b breach.Breach
		require.NoError(t, json.Unmarshal(sc.Bytes(), &b))
		out = append(out, b)
	}
	require.NoError(t, sc.Err())
	return out
}

// labExpect is one malicious behaviour of the lab capture's ground truth
// (lab/README.md) and the model that must raise it.
type labExpect struct {
	truth, device, model, endpoint string // endpoint: address or host name
}

var labExpected = []labExpect{
	{"M1 look-alike domain", "172.16.40.23", "doppelganger", "login.micros0ft-online.com"},
	{"M2 download from a code-hosting site", "172.16.40.23", "github-download", "raw.githubusercontent.com"},
	{"M3 failed-connection burst", "172.16.40.23", "failed-connections", "192.0.2.201"},
	{"M4 python C2 to a bare IP", "172.16.40.23", "post-to-ip", "203.0.113.77"},
	{"M4 python C2 to a bare IP", "172.16.40.23", "new-ua-to-ip", "203.0.113.77"},
	{"M5 self-signed TLS on 4443", "172.16.40.23", "rare-self-signed", "198.51.100.212"},
	{"M5 self-signed TLS on 4443", "172.16.40.23", "uncommon-port", "198.51.100.212"},
	{"M4 python C2 to a bare IP", "172.16.40.23", "beaconing", "203.0.113.77"},
	{"M6 TLS beaconing to a new domain", "172.16.40.60", "beaconing", "edge.kestrel-metrics.net"},
	{"M7 DNS tunnel", "172.16.40.60", "dns-tunnelling", "lumenpath-dns.com"},
	{"M8 exfiltration", "172.16.40.60", "data-to-new-endpoint", "203.0.113.196"},
}

var labVictims = map[string]bool{"172.16.40.23": true, "172.16.40.60": true}

// TestLabDetections runs the default configuration over the lab capture
// (72 h of real traffic with an intrusion and benign traps; see the shared
// data's lab/README.md): each malicious behaviour is raised by its model,
// and no benign device gets a breach scoring above 50.
func TestLabDetections(t *testing.T) {
	pcap := testkit.SharedData(t, "lab", "dev-intrusion.pcap")
	out := t.TempDir()
	_, _, err := analyze(t, Analyze{PCAPs: []string{pcap}, Out: out, Config: config.Default()})
	require.NoError(t, err)
	bs := readBreaches(t, out)
	for _, x := range labExpected {
		info, ok := detect.Find(x.model)
		require.True(t, ok, "model %s", x.model)
		found := false
		for _, b := range bs {
			if b.Model == info.Name && b.Device.String() == x.device &&
				(b.Endpoint.IP.String() == x.endpoint || b.Endpoint.Hostname == x.endpoint) {
				found = true
			}
		}
		require.True(t, found, "%s: want %s on %s for %s", x.truth, info.Name, x.device, x.endpoint)
	}
	var benign []string
	for _, b := range bs {
		line := fmt.Sprintf("%s %s %s %s score %d", b.Time.Format("01-02T15:04"), b.Device, b.Model, b.Endpoint.Key(), b.Score)
		t.Log(line)
		if !labVictims[b.Device.String()] {
			benign = append(benign, line)
			require.LessOrEqual(t, b.Score, 50, "benign device breach scores above 50: %s", line)
		}
	}
	t.Logf("%d breaches, %d on benign devices:\n%s", len(bs), len(benign), strings.Join(benign, "\n"))

	// Deterministic: a second run writes the same bytes.
	again := t.TempDir()
	_, _, err = analyze(t, Analyze{PCAPs: []string{pcap}, Out: again, Config: config.Default()})
	require.NoError(t, err)
	for _, name := range []string{"breaches.jsonl", "devices.jsonl"} {
		a, err := os.ReadFile(filepath.Join(out, name))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(again, name))
		require.NoError(t, err)
		require.Equal(t, string(a), string(b), "%s differs between two runs", name)
	}

	// The same traffic as Zeek logs (which deliver a connection before its
	// handshake) raises the same breaches.
	zdir := filepath.Join(t.TempDir(), "zeek")
	conv := Convert{PCAPs: []string{pcap}, ZeekOut: zdir, Config: config.Default(), Stdout: io.Discard, Stderr: io.Discard}
	require.NoError(t, conv.Run(context.Background()))
	zout := t.TempDir()
	_, _, err = analyze(t, Analyze{Zeek: []string{zdir}, Out: zout, Config: config.Default()})
	require.NoError(t, err)
	key := func(bs []breach.Breach) []string {
		var out []string
		for _, b := range bs {
			out = append(out, fmt.Sprintf("%s %s %s %d", b.Model, b.Device, b.Endpoint.Key(), b.Score))
		}
		return out
	}
	require.Equal(t, key(bs), key(readBreaches(t, zout)), "breaches from Zeek logs differ from the capture's")
}

// TestLabBaselineCarriesOver splits the lab capture at the end of its
// learning period, as two days of Zeek logs would be: the first part's
// baselines are saved, and the attack phase analysed on its own starts
// from them. It raises what the whole capture raises, where the attack
// phase alone (no baseline) cannot judge what is new to a device.
func TestLabBaselineCarriesOver(t *testing.T) {
	pcap := testkit.SharedData(t, "lab", "dev-intrusion.pcap")
	cut := time.Date(2027, 1, 13, 14, 0, 0, 0, time.UTC) // end of the learning period (lab/README.md)
	dir := t.TempDir()
	learn, attack := filepath.Join(dir, "learn"), filepath.Join(dir, "attack")
	wl, err := zeek.NewWriter(learn)
	require.NoError(t, err)
	wa, err := zeek.NewWriter(attack)
	require.NoError(t, err)
	err = readPCAP(context.Background(), []string{pcap}, config.Default(), sensor.Options{}, func(e event.Event) error {
		if e.Base().TS.Before(cut) {
			return wl.Write(e)
		}
		return wa.Write(e)
	})
	require.NoError(t, err)
	require.NoError(t, wl.Close())
	require.NoError(t, wa.Close())

	base := filepath.Join(dir, "baseline.gz")
	_, _, err = analyze(t, Analyze{Zeek: []string{learn}, Out: t.TempDir(), SaveBaseline: base})
	require.NoError(t, err)
	with, without := t.TempDir(), t.TempDir()
	_, _, err = analyze(t, Analyze{Zeek: []string{attack}, Out: with, Baseline: base})
	require.NoError(t, err)
	_, _, err = analyze(t, Analyze{Zeek: []string{attack}, Out: without})
	require.NoError(t, err)

	has := func(bs []breach.Breach, x labExpect) bool {
		for _, b := range bs {
			if b.Model == detect.MustFind(x.model).Name && b.Device.String() == x.device &&
				(b.Endpoint.IP.String() == x.endpoint || b.Endpoint.Hostname == x.endpoint) {
				return true
			}
		}
		return false
	}
	bs, alone := readBreaches(t, with), readBreaches(t, without)
	for _, x := range labExpected {
		require.True(t, has(bs, x), "with the saved baseline: %s (%s)", x.truth, x.model)
		t.Logf("%-40s %-22s with baseline: yes, attack phase alone: %v", x.truth, x.model, has(alone, x))
	}
	for _, b := range bs {
		if !labVictims[b.Device.String()] {
			require.LessOrEqual(t, b.Score, 50, "benign device: %s %s %s", b.Device, b.Model, b.Summary)
		}
	}
}

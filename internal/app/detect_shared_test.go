package app

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/config"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/testkit"
)

// TestSharedCapturesFire runs the default models over real public captures
// of the behaviours the catalogue names, one device each and no baseline
// (short captures: see each model's learning behaviour in `vigil models`),
// and checks the corresponding model fires.
func TestSharedCapturesFire(t *testing.T) {
	for _, tc := range []struct {
		capture  string
		internal string // when the capture's client is not in a private range
		model    string
	}{
		{"zeek-traces/http/ctu-62604-80.pcap", "", "post-to-ip"},                                                    // malware POSTs to a bare IP
		{"ndpi/pcap/exe_download_as_png.pcap", "", "new-ua-to-ip"},                                                  // WinHTTP loader fetches an exe from a bare IP
		{"slips/dataset/test7-malicious.pcap", "", "failed-connections"},                                            // Mirai-style telnet scan of external hosts
		{"zeek-traces/tls/cert-no-cn.pcap", "192.150.187.20/32", "rare-self-signed"},                                // self-signed certificate without a CN
		{"domainator/malware_recordings/roguerobin-net/roguerobin-net_handshake_240229.pcapng", "", "doppelganger"}, // C2 on Microsoft look-alike domains
	} {
		t.Run(filepath.Base(tc.capture), func(t *testing.T) {
			models := sharedModels(t, tc.capture, tc.internal)
			require.Contains(t, models, detect.MustFind(tc.model).Name)
		})
	}
}

// TestSharedBenignCapturesAreQuiet runs the models over real benign
// browsing, conferencing and update captures: none raises a breach.
func TestSharedBenignCapturesAreQuiet(t *testing.T) {
	for _, capture := range []string{
		"ndpi/pcap/chrome.pcap", "ndpi/pcap/firefox.pcap", "ndpi/pcap/safari.pcap",
		"ndpi/pcap/443-chrome.pcap", "ndpi/pcap/443-firefox.pcap", "ndpi/pcap/443-safari.pcap",
		"ndpi/pcap/google_ssl.pcap", "ndpi/pcap/youtubeupload.pcap", "ndpi/pcap/teams.pcap", "ndpi/pcap/zoom.pcap",
		"ndpi/pcap/ookla.pcap", "zeek-traces/wikipedia.pcap", "chrissanders/http_post.pcapng",
		"zeek-traces/http/post.pcap", "zeek-traces/http/http-post-large.pcap",
	} {
		t.Run(filepath.Base(capture), func(t *testing.T) {
			require.Empty(t, sharedModels(t, capture, ""))
		})
	}
}

// sharedModels analyses one shared capture and returns the models that
// fired.
func sharedModels(t *testing.T, capture, internal string) []string {
	t.Helper()
	path := testkit.SharedData(t, strings.Split(capture, "/")...)
	cfg := config.Default()
	if internal != "" {
		p, err := config.ParsePrefixes(internal)
		require.NoError(t, err)
		cfg.Internal = p
	}
	out := t.TempDir()
	_, _, err := analyze(t, Analyze{PCAPs: []string{path}, Out: out, Config: cfg})
	require.NoError(t, err)
	var models []string
	for _, b := range readBreaches(t, out) {
		models = append(models, b.Model)
		t.Logf("%s %s %s score %d: %s", b.Device, b.Model, b.Endpoint.Key(), b.Score, b.Summary)
	}
	return models
}

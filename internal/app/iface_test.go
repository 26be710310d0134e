package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/config"
)

// TestServeIfaceCapturesLive runs `vigil serve --iface lo` with AF_PACKET
// inside a private network namespace (so it sees only the test's own
// traffic), makes an HTTP request and a DNS query over loopback, stops the
// server, and checks what reached the store.
func TestServeIfaceCapturesLive(t *testing.T) {
	if os.Getenv("VIGIL_TEST_NETNS") == "" {
		if os.Geteuid() != 0 {
			t.Skip("skipping: live capture needs root (AF_PACKET) to run in a private network namespace")
		}
		if _, err := exec.LookPath("unshare"); err != nil {
			t.Skip("skipping: unshare (util-linux) is not installed")
		}
		cmd := exec.Command("unshare", "--net", "--", os.Args[0], "-test.run=^TestServeIfaceCapturesLive$", "-test.v")
		cmd.Env = append(os.Environ(), "VIGIL_TEST_NETNS=1")
		out, err := cmd.CombinedOutput()
		t.Log(string(out))
		require.NoError(t, err)
		return
	}
	// Inside the namespace: bring loopback up.
	out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput()
	require.NoError(t, err, string(out))

	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello from the namespace")
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:8080")
	require.NoError(t, err)
	go srv.Serve(ln)
	defer srv.Close()
	dns, err := net.ListenPacket("udp", "127.0.0.1:53")
	require.NoError(t, err)
	defer dns.Close()

	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		s := Serve{Iface: "lo", Data: data, Config: config.Default(), Poll: 10 * time.Millisecond,
			LogEvery: time.Hour, Stdout: io.Discard, Stderr: io.Discard}
		done <- s.Run(ctx)
	}()
	// Traffic until the capture is seen to work (the socket needs a moment
	// to be ready; what was sent before it is simply not seen).
	sent := 0
	waitFor(t, func() bool {
		select {
		case err := <-done:
			t.Fatalf("the server stopped early: %v", err)
		default:
		}
		sent++
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get("http://127.0.0.1:8080/probe")
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		c, err := net.Dial("udp", "127.0.0.1:53")
		require.NoError(t, err)
		// A DNS query for example.com, type A.
		_, _ = c.Write([]byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"))
		c.Close()
		st, _ := ingestRecords(t, data)
		return st.Records >= 20
	})
	cancel()
	require.NoError(t, <-done)

	st, devices := ingestRecords(t, data)
	t.Logf("ingested %d packets: %v", st.Records, st.Events)
	require.Equal(t, "iface", st.Kind)
	require.Positive(t, st.Events["conn"])
	require.Positive(t, st.Events["http"], "HTTP requests over the captured loopback")
	require.Positive(t, st.Events["dns"], "DNS queries over the captured loopback")
	// On loopback each packet reaches the socket twice unless the capture
	// drops the outgoing copy: more events than requests means duplicates.
	require.LessOrEqual(t, st.Events["dns"], int64(sent))
	require.LessOrEqual(t, st.Events["http"], int64(sent))
	require.Equal(t, 1, devices, "127.0.0.1 is the one internal device")
}

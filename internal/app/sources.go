package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-ndr/vigil/internal/config"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
	"github.com/vigil-ndr/vigil/internal/sensor/http1"
	"github.com/vigil-ndr/vigil/internal/sensor/pcap"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
	"github.com/vigil-ndr/vigil/internal/sensor/tlsx"
	"github.com/vigil-ndr/vigil/internal/sensor/zeek"
)

// CaptureConfig turns the configuration into the flow engine's settings,
// with the application analyzers Vigil ships (TLS first: its sniff is the
// stricter one).
func CaptureConfig(cfg config.Config) pcap.Config {
	c := pcap.DefaultConfig()
	c.TCPTimeout = time.Duration(cfg.Capture.TCPInactivity)
	c.UDPTimeout = time.Duration(cfg.Capture.UDPInactivity)
	c.ICMPTimeout = time.Duration(cfg.Capture.ICMPInactivity)
	c.MaxFlows = cfg.Capture.MaxFlows
	c.Analyzers = []pcap.AnalyzerFactory{tlsAnalyzer, httpAnalyzer}
	return c
}

// tlsAnalyzer reads a connection whose first bytes are a TLS handshake.
func tlsAnalyzer(c stream.Conn, first []byte, _ stream.Dir, emit func(event.Event)) stream.Analyzer {
	if !tlsx.Sniff(first) {
		return nil // an explicit nil: a typed nil pointer would not compare equal to nil
	}
	return tlsx.New(c, emit)
}

// httpAnalyzer reads a connection whose first bytes are an HTTP/1.x
// request or response line.
func httpAnalyzer(c stream.Conn, first []byte, _ stream.Dir, emit func(event.Event)) stream.Analyzer {
	if !http1.Sniff(first) {
		return nil
	}
	return http1.New(c, emit)
}

// readPCAP decodes capture files in order as one stream.
func readPCAP(ctx context.Context, paths []string, cfg config.Config, opt sensor.Options, emit sensor.Emit) error {
	return pcap.ReadFiles(ctx, paths, CaptureConfig(cfg), opt, emit)
}

// readZeek reads Zeek log files and directories. Input with no Zeek log
// in it at all is not Zeek input (exit status 2), not an empty result.
func readZeek(ctx context.Context, paths []string, opt sensor.Options, emit sensor.Emit) error {
	st, err := zeek.ReadStats(ctx, paths, opt, emit)
	if err != nil {
		return err
	}
	if st.Files == 0 && len(st.OtherFiles) == 0 {
		return fmt.Errorf("%s: no Zeek logs found (conn.log, dns.log, ... or their rotated, gzip or JSON forms): %w",
			strings.Join(paths, ", "), sensor.ErrNotInput)
	}
	return nil
}

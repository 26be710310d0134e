package pcap

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
)

// expireEvery is how much capture time passes between expiry sweeps.
const expireEvery = time.Second

// ReadFiles reads the capture files in order as one continuous stream in
// event time (a flow may span files) and flushes every flow at the end.
// A file that is not a pcap or pcapng capture fails the run at once with
// an error wrapping sensor.ErrNotInput, before any is read. Malformed
// packets and a damaged file tail are reported through opt and skipped.
func ReadFiles(ctx context.Context, paths []string, cfg Config, opt sensor.Options, emit sensor.Emit) error {
	var total int64
	for _, p := range paths {
		size, err := checkCapture(p)
		if err != nil {
			return err
		}
		total += size
	}
	if opt.Progress != nil {
		opt.Progress.BytesTotal.Store(total)
	}
	counted := emit
	if opt.Progress != nil {
		counted = func(ev event.Event) error {
			opt.Progress.Events.Add(1)
			return emit(ev)
		}
	}
	en := NewEngine(cfg, counted)
	for _, p := range paths {
		if err := en.readFile(ctx, p, &opt); err != nil {
			return err
		}
	}
	return en.Flush()
}

// checkCapture returns the file's size, or an error wrapping
// sensor.ErrNotInput when its magic number is not a capture's.
func checkCapture(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", path, err)
	}
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil || !isCaptureMagic(magic) {
		return 0, fmt.Errorf("%s: no pcap or pcapng magic number: %w", path, sensor.ErrNotInput)
	}
	return st.Size(), nil
}

func isCaptureMagic(m [4]byte) bool {
	switch binary.LittleEndian.Uint32(m[:]) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a:
		return true
	}
	return false
}

// countingReader adds the bytes read to the progress counter.
type countingReader struct {
	r io.Reader
	p *sensor.Progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if c.p != nil {
		c.p.BytesRead.Add(int64(n))
	}
	return n, err
}

// packetSource is what pcapgo's two readers share.
type packetSource interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

func (en *Engine) readFile(ctx context.Context, path string, opt *sensor.Options) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	return en.readStream(ctx, path, f, opt)
}

// readStream reads one capture from r; name is used in problems.
func (en *Engine) readStream(ctx context.Context, path string, r io.Reader, opt *sensor.Options) error {
	br := bufio.NewReaderSize(&countingReader{r: r, p: opt.Progress}, 64<<10)
	magic, err := br.Peek(4)
	if err != nil {
		return fmt.Errorf("%s: %w", path, sensor.ErrNotInput)
	}
	var (
		src      packetSource
		linkType func(ci *gopacket.CaptureInfo) layers.LinkType
	)
	if binary.LittleEndian.Uint32(magic) == 0x0a0d0d0a {
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return opt.Report(sensor.Problem{File: path, Err: fmt.Errorf("read pcapng header: %w", err)})
		}
		var types []layers.LinkType
		src = ng
		linkType = func(ci *gopacket.CaptureInfo) layers.LinkType {
			i := ci.InterfaceIndex
			for len(types) <= i && len(types) < ng.NInterfaces() {
				itf, _ := ng.Interface(len(types))
				types = append(types, itf.LinkType)
			}
			if i < len(types) {
				return types[i]
			}
			return ng.LinkType()
		}
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			return opt.Report(sensor.Problem{File: path, Err: fmt.Errorf("read pcap header: %w", err)})
		}
		lt := r.LinkType()
		src = r
		linkType = func(*gopacket.CaptureInfo) layers.LinkType { return lt }
	}
	var rec int64
	var lastExpire time.Time
	for {
		data, ci, err := src.ZeroCopyReadPacketData()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			// The rest of the file cannot be framed: report and go on
			// with the next file.
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = fmt.Errorf("capture ends inside a packet: %w", err)
			}
			return opt.Report(sensor.Problem{File: path, Record: rec + 1, Err: err})
		}
		rec++
		if opt.Progress != nil {
			opt.Progress.Records.Add(1)
		}
		if rec&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		ts := ci.Timestamp
		if err := en.Packet(ts, linkType(&ci), data); err != nil {
			if !errors.Is(err, ErrMalformed) {
				return err
			}
			if err := opt.Report(sensor.Problem{File: path, Record: rec, Err: err}); err != nil {
				return err
			}
		}
		if ts.Sub(lastExpire) >= expireEvery {
			en.Expire(ts)
			lastExpire = ts
			if en.err != nil {
				return en.err
			}
		}
	}
}

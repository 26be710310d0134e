package pcap

import (
	"time"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
)

// feeder is the reassembler's sink for the flow being worked on; one
// lives in the Engine so that handing it over allocates nothing.
type feeder struct {
	en  *Engine
	f   *flow
	dir stream.Dir
	ts  time.Time
}

func (fd *feeder) set(f *flow, dir stream.Dir, ts time.Time) {
	fd.f, fd.dir, fd.ts = f, dir, ts
}

func (fd *feeder) data(b []byte) {
	f := fd.f
	if f.an == nil {
		if f.anTried[fd.dir] {
			return
		}
		f.anTried[fd.dir] = true
		f.an = fd.en.pickAnalyzer(f, b, fd.dir)
		if f.an == nil {
			return
		}
	}
	if f.an.Done() {
		return
	}
	f.an.Feed(fd.dir, fd.ts, b)
	if s := f.an.Service(); s != "" {
		f.addService(s)
	}
}

func (fd *feeder) gap(n int64) {
	if a := fd.f.an; a != nil && !a.Done() {
		a.Gap(fd.dir, int(n))
	}
}

// wantBytes reports whether f's payload bytes are still wanted: an
// analyzer is reading, or one may yet be picked.
func (f *flow) wantBytes(en *Engine) bool {
	if f.an != nil {
		return !f.an.Done()
	}
	if f.anTried[0] && f.anTried[1] {
		return false
	}
	return len(en.cfg.Analyzers) > 0 || en.isDNS(f)
}

func (en *Engine) isDNS(f *flow) bool {
	return likelyServer(en.dnsPort, f.id.RespP) || likelyServer(en.dnsPort, f.id.OrigP)
}

// pickAnalyzer offers a connection's first payload to DNS (on DNS ports)
// and then to the configured analyzers, in order; the first that accepts
// reads the connection.
func (en *Engine) pickAnalyzer(f *flow, first []byte, dir stream.Dir) stream.Analyzer {
	c := stream.Conn{UID: f.uid, ID: f.id}
	if en.isDNS(f) {
		return &dnsTCP{en: en, f: f}
	}
	emit := func(ev event.Event) { en.emitEvent(ev) }
	for _, mk := range en.cfg.Analyzers {
		if a := mk(c, first, dir, emit); a != nil {
			return a
		}
	}
	return nil
}

// deliver hands a TCP payload at data offset off to the flow's reassembler.
func (en *Engine) deliver(f *flow, dir stream.Dir, p *packet, off int64) {
	e := &f.tcp.ep[dir]
	keep := f.wantBytes(en)
	en.feed.set(f, dir, p.ts)
	missed := e.r.missed
	e.r.add(off, p.payload, keep, en.cfg.MaxBuffer, &en.feed)
	if e.r.missed > missed {
		f.scaled(dir, 'G', &e.gaps, &e.gapsT)
	}
	if keep && !f.wantBytes(en) {
		f.tcp.ep[0].r.drop()
		f.tcp.ep[1].r.drop()
	}
}

// skipTo declares a direction's bytes up to off lost.
func (en *Engine) skipTo(f *flow, dir stream.Dir, off int64) {
	e := &f.tcp.ep[dir]
	en.feed.set(f, dir, f.last)
	e.r.skipTo(off, f.wantBytes(en), &en.feed)
	// Zeek's history letter for a content gap, counted on a log scale.
	f.scaled(dir, 'G', &e.gaps, &e.gapsT)
}

// dnsTCP reads DNS messages over TCP: each is preceded by its 2-byte
// length. It implements stream.Analyzer.
type dnsTCP struct {
	en   *Engine
	f    *flow
	buf  [2][]byte
	done bool
}

func (d *dnsTCP) Feed(dir stream.Dir, ts time.Time, data []byte) {
	b := append(d.buf[dir], data...)
	for len(b) >= 2 {
		n := int(b[0])<<8 | int(b[1])
		if len(b) < 2+n {
			break
		}
		saved := d.en.pkt.ts
		d.en.dnsTCPMessage(d.f, dir, ts, b[2:2+n])
		d.en.pkt.ts = saved
		b = b[2+n:]
	}
	if len(b) > 1<<16+2 {
		d.done = true
		b = nil
	}
	d.buf[dir] = append(d.buf[dir][:0], b...)
}

func (d *dnsTCP) Gap(dir stream.Dir, n int) { d.buf[dir] = d.buf[dir][:0] }
func (d *dnsTCP) Close(ts time.Time)        {}
func (d *dnsTCP) Service() string           { return "dns" }
func (d *dnsTCP) Done() bool                { return d.done }

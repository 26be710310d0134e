package zeek

import (
	"time"

	"github.com/vigil-ndr/vigil/internal/event"
)

// DefaultCertCache is how many certificates the ssl/x509 join remembers.
const DefaultCertCache = 100_000

// certEntry is what a TLS event needs from its leaf certificate's x509
// record. The fields are copies: the event itself goes to a consumer who
// may change it.
type certEntry struct {
	key                 string
	subject, issuer     string
	notBefore, notAfter time.Time
	selfSigned          bool

	// ev is the x509 event while it waits to be emitted, so that the first
	// ssl record that references it can give it its uid.
	ev       *event.X509
	emitted  bool
	uidFixed bool // the x509 log had its own uid column

	prev, next *certEntry
}

// certCache is a least-recently-used map from fingerprint (or fuid) to
// certificate, bounded so that a long run's memory does not grow with the
// number of certificates seen.
type certCache struct {
	max  int
	m    map[string]*certEntry
	root certEntry // sentinel of the recency list; root.next is the newest
}

func newCertCache(max int) *certCache {
	if max <= 0 {
		max = DefaultCertCache
	}
	c := &certCache{max: max, m: make(map[string]*certEntry)}
	c.root.prev, c.root.next = &c.root, &c.root
	return c
}

func (c *certCache) unlink(e *certEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
}

func (c *certCache) pushFront(e *certEntry) {
	e.prev, e.next = &c.root, c.root.next
	c.root.next.prev = e
	c.root.next = e
}

// add remembers x under key (a later record with the same key replaces an
// earlier one) and returns its entry.
func (c *certCache) add(key string, x *event.X509, uidFixed bool) *certEntry {
	e := &certEntry{
		key: key, subject: x.Subject, issuer: x.Issuer,
		notBefore: x.NotBefore, notAfter: x.NotAfter, selfSigned: x.SelfSigned,
		ev: x, uidFixed: uidFixed,
	}
	if key == "" {
		return e
	}
	if old, ok := c.m[key]; ok {
		c.unlink(old)
	}
	c.m[key] = e
	c.pushFront(e)
	for len(c.m) > c.max {
		last := c.root.prev
		c.unlink(last)
		delete(c.m, last.key)
	}
	return e
}

// get returns the entry for key, or nil, and marks it recently used.
func (c *certCache) get(key string) *certEntry {
	e, ok := c.m[key]
	if !ok {
		return nil
	}
	c.unlink(e)
	c.pushFront(e)
	return e
}

// len returns the number of certificates held.
func (c *certCache) len() int { return len(c.m) }

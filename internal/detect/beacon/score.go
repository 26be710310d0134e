package beacon

import (
	"fmt"
	"math"
	"time"

	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/units"
)

// judge scores the check-ins of tgt (s itself, or its failed attempts)
// and returns a breach when the rhythm is strong enough and new.
func (m *Model) judge(c *detect.Context, s, tgt *series, host string, attempts bool) (breach.Breach, bool) {
	ts := tgt.ts
	n := len(ts)
	f, ok := m.an.analyse(ts, tgt.up)
	if !ok || f.Timing < m.MinTiming {
		return breach.Breach{}, false
	}
	if time.Duration(f.Active*1e9) < m.MinSpan.D() && n < m.FastMinConns {
		return breach.Breach{}, false
	}
	// The endpoint as judged: the host name for a host series, else the
	// address (a host series' Peer is by name already).
	var peer detect.Endpoint
	if host != "" {
		peer = c.Peer()
	} else {
		p := c.IPPrevalence()
		peer = detect.Endpoint{Label: c.Contact.IP.String(), Prev: p, Rare: c.Net.Rare(p), New: c.Net.New(p),
			Rarity: c.Net.Rarity(p), Newness: c.Net.Newness(p), DomainDevices: -1}
	}
	if !peer.Rare {
		return breach.Breach{}, false
	}
	vol := clamp(math.Log2(float64(n)/float64(m.MinConns)) / 3)
	beacon := 0.5*f.Timing + 0.2*f.Coverage + 0.15*f.Size + 0.15*vol
	bare := host == "" && s.name == ""
	offPort := s.port != 80 && s.port != 443
	agent := float64(s.agent) / 255
	// Why a rhythm to this endpoint is suspicious rather than software
	// keeping in touch with its vendor: a new endpoint, a bare address,
	// an odd port, a client new to the device.
	susp := detect.NoisyOr(0.55*peer.Newness, 0.35*b2f(bare), 0.2*b2f(offPort), 0.3*agent)
	score := beacon * (0.35 + 0.65*susp) * (0.8 + 0.2*peer.Rarity)
	if attempts {
		// Failed attempts to a dead controller are a weaker sign.
		score *= 0.8
	}
	sc := detect.Scale(score)
	now := c.Contact.TS.UnixNano()
	if sc < m.MinScore {
		return breach.Breach{}, false
	}
	if s.fired > 0 && sc < int(s.fired)+10 && now-s.firedAt < int64(m.RepeatAfter.D()) {
		return breach.Breach{}, false
	}
	s.fired, s.firedAt = uint8(sc), now

	first, last := time.Unix(0, ts[0]).UTC(), time.Unix(0, ts[n-1]).UTC()
	hours := [24]int{}
	for _, t := range ts {
		hours[time.Unix(0, t).UTC().Hour()]++
	}
	hoursActive := 0
	for _, h := range hours {
		if h > 0 {
			hoursActive++
		}
	}
	period := time.Duration(f.Period * 1e9).Round(periodRound(f.Period))
	kind := "connections"
	if attempts {
		kind = "failed connection attempts (retries merged)"
	}
	ev := c.PrevalenceEvidence(peer)
	ev["endpoint"] = peer.Label
	ev["port"] = s.port
	ev["period"] = period.String()
	ev["period_s"] = round(f.Period, 3)
	ev["jitter_mad_pct"] = round(f.Jitter*100, 1)
	ev["check_ins"] = n
	ev["connections"] = tgt.conns
	ev["first"] = first
	ev["last"] = last
	ev["first_ever"] = time.Unix(0, tgt.first).UTC()
	ev["gaps_single"] = f.Single
	ev["gaps_missed"] = f.Missed
	ev["gaps_short"] = f.Short
	ev["sleeps"] = f.Sleeps
	ev["active_span"] = units.Ago(time.Duration(f.Active * 1e9))
	ev["score_timing"] = round(f.Timing, 2)
	ev["score_coverage"] = round(f.Coverage, 2)
	ev["score_size"] = round(f.Size, 2)
	ev["score_volume"] = round(vol, 2)
	ev["score_beacon"] = round(beacon, 2)
	ev["score_suspicion"] = round(susp, 2)
	ev["rarity"] = round(peer.Rarity, 2)
	ev["newness"] = round(peer.Newness, 2)
	ev["bytes_up_median"] = int64(f.SizeMedian)
	ev["bytes_up_mad"] = int64(f.SizeMAD)
	ev["hourly_utc"] = hours[:]
	ev["hours_of_day_active"] = hoursActive
	ev["failed_attempts"] = 0
	if s.fails != nil {
		ev["failed_attempts"] = s.fails.conns
	}
	if s.multi && host != "" {
		ev["several_addresses"] = true
	}
	if s.ua != "" {
		ev["user_agent"] = s.ua
	}
	where := fmt.Sprintf("%s:%d", c.Contact.IP, s.port)
	if host != "" {
		where = fmt.Sprintf("%s (%s:%d)", host, c.Contact.IP, s.port)
	}
	ev.Why(fmt.Sprintf("%d %s to %s every %s (jitter ±%.0f%% MAD) from %s to %s", n, kind, where, period,
		f.Jitter*100, first.Format(time.RFC3339), last.Format(time.RFC3339)))
	ev.Why(fmt.Sprintf("%d gaps of one period, %d with missed check-ins, %d shorter, %d sleeps; %.0f%% of expected check-ins seen in %s of activity",
		f.Single, f.Missed, f.Short, f.Sleeps, f.Coverage*100, units.Ago(time.Duration(f.Active*1e9))))
	if f.SizeMedian > 0 {
		ev.Why(fmt.Sprintf("each sends about %s (MAD %s)", units.Human(int64(f.SizeMedian)), units.Human(int64(f.SizeMAD))))
	}
	if f.Sleeps > 0 {
		ev.Why(fmt.Sprintf("active in %d hours of the day (UTC): sleeps between active spans are not held against it", hoursActive))
	}
	if bare {
		ev.Why("the device used no host name for the address")
	}
	if agent > 0 {
		ev["client_novelty"] = round(agent, 2)
		if s.ua != "" {
			ev.Why(fmt.Sprintf("the series began with a client new to the device (user agent %q or its TLS fingerprint)", s.ua))
		} else {
			ev.Why("the series began with a TLS client fingerprint new to the device")
		}
	}
	if s.multi && host != "" {
		ev.Why(fmt.Sprintf("%s was reached on several addresses; the beacon is followed by name", host))
	}
	ev.Why(c.Describe(peer))
	b := c.Breach(m.Info(), score, ev, "", "")
	b.Endpoint = breach.Endpoint{IP: c.Contact.IP, Hostname: host, Port: s.port}
	b.Summary = fmt.Sprintf("%s beacons to rare %s every %s (%d %s since %s)", c.Addr(), peer.Label, period, n,
		kind, first.Format("2006-01-02 15:04"))
	return b, true
}

// periodRound picks a display precision for a period of p seconds.
func periodRound(p float64) time.Duration {
	switch {
	case p < 10:
		return 10 * time.Millisecond
	case p < 600:
		return time.Second
	}
	return time.Minute
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

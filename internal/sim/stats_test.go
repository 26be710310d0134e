package sim

import (
	"context"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// lifeStats are the figures of a benign month that show a pattern of life.
type lifeStats struct {
	perDay        map[time.Time]int // office-local date -> sessions from people's devices
	laptopHour    [24]int           // laptop sessions by office-local hour
	domains       map[netip.Addr][2]map[string]int
	ntpTimes      map[netip.Addr][]time.Time
	avTimes       map[netip.Addr][]time.Time
	updaterTimes  map[netip.Addr][]time.Time
	sessions      int
	roleOf        map[netip.Addr]Role
	start         time.Time
	laptopDevices []netip.Addr
}

var (
	lifeOnce sync.Once
	life     *lifeStats
	lifeErr  error
)

// benignMonth simulates benign-only for 28 days x 60 devices, once.
func benignMonth(t *testing.T) *lifeStats {
	lifeOnce.Do(func() {
		cfg := Config{Scenario: "benign-only", Seed: 11, Days: 28, Devices: 60}
		cfg.defaults()
		ls := &lifeStats{perDay: map[time.Time]int{}, domains: map[netip.Addr][2]map[string]int{},
			ntpTimes: map[netip.Addr][]time.Time{}, avTimes: map[netip.Addr][]time.Time{}, updaterTimes: map[netip.Addr][]time.Time{},
			roleOf: map[netip.Addr]Role{}, start: cfg.Start}
		for _, d := range NewOrg(cfg.Seed, cfg.Devices).Devices {
			ls.roleOf[d.IP] = d.Role
			if d.Role == RoleWinLaptop || d.Role == RoleMacLaptop {
				ls.laptopDevices = append(ls.laptopDevices, d.IP)
			}
		}
		_, lifeErr = Generate(context.Background(), cfg, func(s *Session) error {
			ls.sessions++
			c := s.Client.IP
			role := ls.roleOf[c]
			l := s.Start.In(OfficeZone)
			switch role {
			case RoleWinLaptop, RoleMacLaptop, RoleDeveloper, RolePhone:
				y, m, d := l.Date()
				ls.perDay[time.Date(y, m, d, 0, 0, 0, 0, time.UTC)]++
			}
			if role == RoleWinLaptop || role == RoleMacLaptop {
				ls.laptopHour[l.Hour()]++
				if s.TLS != nil && s.TLS.SNI != "" {
					week := int(s.Start.Sub(ls.start) / (7 * 24 * time.Hour))
					if week == 0 || week == 2 {
						m := ls.domains[c]
						if m[0] == nil {
							m = [2]map[string]int{{}, {}}
							ls.domains[c] = m
						}
						m[week/2][registrable(s.TLS.SNI)]++
					}
				}
			}
			switch {
			case s.Server.Port == 123 && s.Proto == 2:
				ls.ntpTimes[c] = append(ls.ntpTimes[c], s.Start)
			case s.TLS != nil && s.TLS.SNI == "ts01-b.cloudsink.net":
				ls.avTimes[c] = append(ls.avTimes[c], s.Start)
			case s.TLS != nil && s.TLS.SNI == "fe2cr.update.microsoft.com":
				ls.updaterTimes[c] = append(ls.updaterTimes[c], s.Start)
			}
			return nil
		})
		life = ls
	})
	require.NoError(t, lifeErr)
	return life
}

func TestPatternWeekdayWeekend(t *testing.T) {
	ls := benignMonth(t)
	var wd, we, hol []int
	for day, n := range ls.perDay {
		switch {
		case IsHoliday(day):
			hol = append(hol, n)
		case day.Weekday() == time.Saturday || day.Weekday() == time.Sunday:
			we = append(we, n)
		default:
			wd = append(wd, n)
		}
	}
	mwd, mwe := mean(wd), mean(we)
	t.Logf("%d sessions; people's devices per day: weekday mean %.0f, weekend mean %.0f (ratio %.1f), holidays %v",
		ls.sessions, mwd, mwe, mwd/mwe, hol)
	require.Greater(t, mwd/mwe, 5.0)
	require.NotEmpty(t, hol, "Presidents' Day is in the month")
	require.Less(t, float64(hol[0]), mwd/3)
}

func TestPatternHourOfDay(t *testing.T) {
	ls := benignMonth(t)
	work, night := 0, 0
	for h, n := range ls.laptopHour {
		switch {
		case h >= 9 && h < 17:
			work += n
		case h < 6:
			night += n
		}
	}
	perWork, perNight := float64(work)/8, float64(night)/6
	t.Logf("laptop sessions by office hour: %v; per working hour %.0f, per night hour %.0f (ratio %.1f)", ls.laptopHour, perWork, perNight, perWork/perNight)
	require.Greater(t, perWork/perNight, 5.0) // desktops left on still check in at night
}

func TestPatternStablePeers(t *testing.T) {
	ls := benignMonth(t)
	var js []float64
	for _, ip := range ls.laptopDevices {
		m, ok := ls.domains[ip]
		if !ok || len(m[0]) < 5 || len(m[1]) < 5 {
			continue // away that week
		}
		js = append(js, jaccard(top(m[0], 10), top(m[1], 10)))
	}
	// A baseline: the same laptop's week 1 against another laptop's week 3.
	var cross []float64
	for i, ip := range ls.laptopDevices {
		other := ls.laptopDevices[(i+1)%len(ls.laptopDevices)]
		a, b := ls.domains[ip], ls.domains[other]
		if len(a[0]) < 5 || len(b[1]) < 5 {
			continue
		}
		cross = append(cross, jaccard(top(a[0], 10), top(b[1], 10)))
	}
	t.Logf("Jaccard of a laptop's top-10 registrable domains, week 1 vs week 3: mean %.2f over %d laptops (other laptops: %.2f)", mean64(js), len(js), mean64(cross))
	require.Greater(t, len(js), 10)
	require.Greater(t, mean64(js), 0.6)
	require.Greater(t, mean64(js), mean64(cross)+0.1)

	// The same without the organisation-wide peers (SaaS, updaters: the
	// domains most laptops use), which every laptop shares.
	users := map[string]int{}
	for _, m := range ls.domains {
		for d := range m[0] {
			users[d]++
		}
	}
	personal := func(m map[string]int) map[string]int {
		out := map[string]int{}
		for d, n := range m {
			if users[d] <= len(ls.domains)/3 {
				out[d] = n
			}
		}
		return out
	}
	js, cross = nil, nil
	for i, ip := range ls.laptopDevices {
		a, b := ls.domains[ip], ls.domains[ls.laptopDevices[(i+1)%len(ls.laptopDevices)]]
		if len(a[0]) < 5 || len(a[1]) < 5 || len(b[1]) < 5 {
			continue
		}
		js = append(js, jaccard(top(personal(a[0]), 10), top(personal(a[1]), 10)))
		cross = append(cross, jaccard(top(personal(a[0]), 10), top(personal(b[1]), 10)))
	}
	t.Logf("the same on personal domains (used by at most a third of laptops): mean %.2f (other laptops: %.2f)", mean64(js), mean64(cross))
	require.Greater(t, mean64(js), 0.5)
	require.Greater(t, mean64(js), 2*mean64(cross))
}

func TestPatternPeriodicCheckins(t *testing.T) {
	ls := benignMonth(t)
	check := func(name string, times map[netip.Addr][]time.Time, wantMedian time.Duration, maxCV float64) {
		var cvs []float64
		var medians []time.Duration
		for _, ts := range times {
			iv := intervals(ts, 2*wantMedian)
			if len(iv) < 10 {
				continue
			}
			m, cv := medianCV(iv)
			medians = append(medians, m)
			cvs = append(cvs, cv)
		}
		require.NotEmpty(t, cvs, name)
		slices.Sort(medians)
		med := medians[len(medians)/2]
		t.Logf("%s: %d devices, median interval %v, mean coefficient of variation %.3f", name, len(cvs), med.Round(time.Second), mean64(cvs))
		require.InDelta(t, wantMedian.Seconds(), med.Seconds(), wantMedian.Seconds()*0.1, name)
		require.Less(t, mean64(cvs), maxCV, name)
	}
	check("ntp (windows)", filter(ls, ls.ntpTimes, RoleWinLaptop), 1024*time.Second, 0.05)
	check("ntp (linux servers)", filter(ls, ls.ntpTimes, RoleServer), 1024*time.Second, 0.05)
	check("antivirus", ls.avTimes, 10*time.Minute, 0.05)
	check("windows update", ls.updaterTimes, 6*time.Hour, 0.3)
}

func filter(ls *lifeStats, m map[netip.Addr][]time.Time, r Role) map[netip.Addr][]time.Time {
	out := map[netip.Addr][]time.Time{}
	for ip, ts := range m {
		if ls.roleOf[ip] == r {
			out[ip] = ts
		}
	}
	return out
}

// intervals returns the gaps between consecutive times, leaving out gaps
// over limit (the device was away).
func intervals(ts []time.Time, limit time.Duration) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(ts); i++ {
		if d := ts[i].Sub(ts[i-1]); d > 0 && d < limit {
			out = append(out, d)
		}
	}
	return out
}

func medianCV(iv []time.Duration) (time.Duration, float64) {
	s := slices.Clone(iv)
	slices.Sort(s)
	var sum, sq float64
	for _, d := range s {
		sum += d.Seconds()
	}
	m := sum / float64(len(s))
	for _, d := range s {
		sq += (d.Seconds() - m) * (d.Seconds() - m)
	}
	sd := sq / float64(len(s))
	return s[len(s)/2], sqrt(sd) / m
}

func sqrt(x float64) float64 {
	z := x
	if z == 0 {
		return 0
	}
	for range 50 {
		z -= (z*z - x) / (2 * z)
	}
	return z
}

func top(m map[string]int, n int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if m[ks[i]] != m[ks[j]] {
			return m[ks[i]] > m[ks[j]]
		}
		return ks[i] < ks[j]
	})
	return ks[:min(n, len(ks))]
}

func jaccard(a, b []string) float64 {
	in := 0
	for _, x := range a {
		if slices.Contains(b, x) {
			in++
		}
	}
	union := len(a) + len(b) - in
	if union == 0 {
		return 1
	}
	return float64(in) / float64(union)
}

func mean(xs []int) float64 {
	s := 0
	for _, x := range xs {
		s += x
	}
	return float64(s) / float64(max(1, len(xs)))
}

func mean64(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(max(1, len(xs)))
}

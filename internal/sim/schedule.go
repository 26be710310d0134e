package sim

import (
	"math/rand/v2"
	"net/netip"
	"time"
)

// usHolidays returns the US federal holidays of year (observed dates are
// not shifted off weekends: a holiday on a Saturday is simply a weekend).
func usHolidays(year int) []time.Time {
	d := func(m time.Month, day int) time.Time { return time.Date(year, m, day, 0, 0, 0, 0, time.UTC) }
	nth := func(m time.Month, wd time.Weekday, n int) time.Time {
		t := d(m, 1)
		for t.Weekday() != wd {
			t = t.AddDate(0, 0, 1)
		}
		return t.AddDate(0, 0, 7*(n-1))
	}
	last := func(m time.Month, wd time.Weekday) time.Time {
		t := d(m+1, 1).AddDate(0, 0, -1)
		for t.Weekday() != wd {
			t = t.AddDate(0, 0, -1)
		}
		return t
	}
	return []time.Time{
		d(time.January, 1),
		nth(time.January, time.Monday, 3),  // Martin Luther King Jr. Day
		nth(time.February, time.Monday, 3), // Presidents' Day
		last(time.May, time.Monday),        // Memorial Day
		d(time.June, 19),
		d(time.July, 4),
		nth(time.September, time.Monday, 1), // Labor Day
		nth(time.October, time.Monday, 2),   // Columbus Day
		d(time.November, 11),
		nth(time.November, time.Thursday, 4), // Thanksgiving
		d(time.December, 25),
	}
}

// IsHoliday reports whether the calendar day of t (in t's location) is a
// US federal holiday.
func IsHoliday(t time.Time) bool {
	y, m, dd := t.Date()
	for _, h := range usHolidays(y) {
		if h.Month() == m && h.Day() == dd {
			return true
		}
	}
	return false
}

// dayKey numbers calendar days, for per-day random draws.
func dayKey(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// schedule answers when a device is on the network and how busy its user
// is. It caches the current local day so that the questions stay cheap.
type schedule struct {
	d     *Device
	start time.Time // simulation start, for travel weeks
	// cached day
	day            int64
	workday        bool
	arrive, leave  int // minutes after local midnight; arrive > leave: absent
	weekendSession bool
	travelling     bool
}

func newSchedule(d *Device, start time.Time) *schedule {
	return &schedule{d: d, start: start, day: -1 << 40}
}

func (s *schedule) load(local time.Time) {
	k := dayKey(local)
	if k == s.day {
		return
	}
	s.day = k
	p := s.d.Person
	r := rand.New(rand.NewPCG(s.d.seed, uint64(k)))
	wd := local.Weekday()
	s.workday = wd != time.Saturday && wd != time.Sunday && !IsHoliday(local)
	s.travelling = false
	if p == nil {
		return
	}
	if p.TravelWeek >= 0 {
		w := int(local.Sub(s.start).Hours() / (24 * 7))
		s.travelling = w == p.TravelWeek
	}
	s.arrive = p.Start + r.IntN(41) - 20
	s.leave = p.End + r.IntN(61) - 30
	if !s.workday {
		s.arrive, s.leave = 1, 0
		// About one weekend day in twelve, a person works a couple of hours.
		if r.IntN(12) == 0 {
			s.arrive = 10*60 + r.IntN(240)
			s.leave = s.arrive + 60 + r.IntN(120)
		}
	} else if r.IntN(40) == 0 { // sick day
		s.arrive, s.leave = 1, 0
	}
}

// local returns t in the person's zone (the office's for unattended devices).
func (s *schedule) local(t time.Time) time.Time {
	if s.d.Person != nil {
		return t.In(s.d.Person.Zone)
	}
	return t.In(OfficeZone)
}

// working reports whether the user is at work at t (minutes-resolution).
func (s *schedule) working(t time.Time) bool {
	if s.d.Person == nil {
		return false
	}
	l := s.local(t)
	s.load(l)
	if s.travelling && !s.d.Person.TravelVPN {
		return false
	}
	m := l.Hour()*60 + l.Minute()
	return m >= s.arrive && m < s.leave
}

// present reports whether the device is on the network at t, and with
// which address.
func (s *schedule) present(t time.Time) (bool, netip.Addr) {
	d := s.d
	if d.Person == nil || (d.AlwaysOn && !s.travellingAt(t)) {
		return true, d.IP
	}
	if !s.working(t) {
		return false, d.IP
	}
	if s.travelling {
		return true, d.TravelIP
	}
	return true, d.IP
}

func (s *schedule) travellingAt(t time.Time) bool {
	if s.d.Person == nil {
		return false
	}
	s.load(s.local(t))
	return s.travelling
}

// nextPresence returns the first time at or after t when the device is on
// the network (end when none before it): absent devices' periodic
// behaviours sleep until then instead of waking every period.
func (s *schedule) nextPresence(t, end time.Time) time.Time {
	if ok, _ := s.present(t); ok {
		return t
	}
	p := s.d.Person
	if p == nil {
		return t
	}
	l := s.local(t)
	day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, p.Zone)
	for i := 0; i < 60 && day.Before(end); i++ {
		s.load(day)
		if s.arrive < s.leave && !(s.travelling && !p.TravelVPN) {
			a := day.Add(time.Duration(s.arrive) * time.Minute)
			if !a.Before(t) {
				return a
			}
			if day.Add(time.Duration(s.leave) * time.Minute).After(t) {
				return t.Add(time.Minute) // within the day's hours: look again soon
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return end
}

// activity is the user's busyness at t from 0 to 1: the multiplier of
// user-driven behaviour rates (browsing, SaaS, development).
func (s *schedule) activity(t time.Time) float64 {
	if s.d.Person == nil {
		return 0
	}
	if !s.working(t) {
		if s.d.AlwaysOn {
			return 0.01 // a desktop left on: a trickle of background tabs
		}
		return 0
	}
	l := s.local(t)
	switch h := l.Hour(); {
	case h == 12:
		return 0.4 // lunch
	case h >= 9 && h < 12, h >= 14 && h < 16:
		return 1
	default:
		return 0.7
	}
}

// nextWake returns the end of the slot containing t: rates are constant
// within 15-minute slots.
func slotEnd(t time.Time) time.Time {
	return t.Truncate(15 * time.Minute).Add(15 * time.Minute)
}

// nextPoisson returns the next event time after t of a Poisson process
// whose rate is perHour * rate(slot), or end when there is none before end.
func nextPoisson(r *rand.Rand, t, end time.Time, perHour float64, rate func(time.Time) float64) time.Time {
	for t.Before(end) {
		lam := perHour * rate(t)
		se := slotEnd(t)
		if lam <= 0 {
			t = se
			continue
		}
		dt := time.Duration(r.ExpFloat64() / lam * float64(time.Hour))
		if n := t.Add(dt); n.Before(se) {
			return n
		}
		t = se // memoryless: draw again from the slot's end
	}
	return end
}

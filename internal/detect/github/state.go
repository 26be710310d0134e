package github

// maxHosts bounds the GitHub hosts a device remembers (the least recently
// used goes first); maxEpisodeHosts the hosts one episode itemises.
const (
	maxHosts        = 64
	maxEpisodeHosts = 8
	historyDays     = 32
)

// device is one device's GitHub history: the hosts it used, the largest
// episode of each recent day, and the episode in progress.
type device struct {
	last  int64            // last GitHub activity (unix seconds)
	hosts map[string]int64 // GitHub host -> last use
	days  [historyDays]dayMax
	ep    episode
	// fired and firedAt are the device's last breach score and time.
	fired   int
	firedAt int64
}

// dayMax is the largest episode of one day (unix day number).
type dayMax struct{ day, bytes int64 }

// episode is a device's GitHub downloads within Window of the first.
type episode struct {
	start, total, novel int64
	// weighted and wNovel count page-host bytes at PageWeight.
	weighted, wNovel int64
	conns            int
	// firstUse is true when the device had used no GitHub host in the
	// prevalence window before the episode.
	firstUse bool
	hosts    []epHost
	uids     []string
	fired    int
}

type epHost struct {
	name  string
	bytes int64
	novel bool
}

func (d *device) use(host string, now int64) {
	if _, ok := d.hosts[host]; !ok && len(d.hosts) >= maxHosts {
		oldest, at := "", int64(1<<62)
		for h, t := range d.hosts {
			if t < at || (t == at && h < oldest) {
				oldest, at = h, t
			}
		}
		delete(d.hosts, oldest)
	}
	d.hosts[host] = max(d.hosts[host], now)
	d.last = max(d.last, now)
}

// episodeAt returns the episode that now falls in, closing the previous one
// into the day history when its window has passed.
func (d *device) episodeAt(now, window, win int64) *episode {
	if d.ep.start != 0 && now-d.ep.start < window {
		return &d.ep
	}
	if d.ep.start != 0 && d.ep.weighted > 0 {
		day := d.ep.start / 86400
		s := &d.days[day%historyDays]
		if s.day != day {
			*s = dayMax{day: day}
		}
		s.bytes = max(s.bytes, d.ep.weighted)
	}
	first := true
	for h, t := range d.hosts {
		if now-t > win {
			delete(d.hosts, h)
		} else {
			first = false
		}
	}
	d.ep = episode{start: now, firstUse: first}
	return &d.ep
}

// host returns the episode's entry for a host, adding it (new when the
// device had not used it in the window); nil when the episode itemises
// enough hosts already.
func (ep *episode) host(name string, d *device, now, win int64) *epHost {
	for i := range ep.hosts {
		if ep.hosts[i].name == name {
			return &ep.hosts[i]
		}
	}
	if len(ep.hosts) >= maxEpisodeHosts {
		return nil
	}
	t, ok := d.hosts[name]
	ep.hosts = append(ep.hosts, epHost{name: name, novel: !ok || now-t > win})
	return &ep.hosts[len(ep.hosts)-1]
}

// normal returns the largest earlier episode of the device within the
// window, and on how many days it downloaded from GitHub.
func (d *device) normal(now, win int64) (largest int64, days int) {
	for _, s := range d.days {
		if s.bytes > 0 && now-s.day*86400 <= win {
			largest = max(largest, s.bytes)
			days++
		}
	}
	return largest, days
}

func (ep *episode) hostNames() []string {
	out := make([]string, 0, len(ep.hosts))
	for _, h := range ep.hosts {
		if h.bytes > 0 {
			out = append(out, h.name)
		}
	}
	return out
}

func (ep *episode) newHostNames() []string {
	var out []string
	for _, h := range ep.hosts {
		if h.novel && h.bytes > 0 {
			out = append(out, h.name)
		}
	}
	return out
}

func (ep *episode) firstUID() string {
	if len(ep.uids) == 0 {
		return ""
	}
	return ep.uids[0]
}

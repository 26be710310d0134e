package http1

import "bytes"

// maxMethod bounds a method token; real methods are short.
const maxMethod = 24

// Sniff reports whether first, the first payload of a connection in
// either direction, looks like the start of an HTTP/1.x request or
// response.
func Sniff(first []byte) bool {
	if bytes.HasPrefix(first, []byte("HTTP/1.")) {
		return true
	}
	sp := bytes.IndexByte(first, ' ')
	if sp <= 0 || sp > maxMethod || !isMethod(first[:sp]) {
		return false
	}
	rest := first[sp+1:]
	if len(rest) == 0 || rest[0] == ' ' {
		return false
	}
	// When the whole line is there, insist on an HTTP version.
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		line := bytes.TrimRight(rest[:i], "\r")
		j := bytes.LastIndexByte(line, ' ')
		if j < 0 {
			return false
		}
		_, ok := parseVersion(line[j+1:])
		return ok
	}
	return true
}

// isMethod accepts what Zeek accepts as a method: letters (plus '-' and
// '_', which WebDAV and RPC extensions use).
func isMethod(b []byte) bool {
	if len(b) == 0 || len(b) > maxMethod {
		return false
	}
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parseVersion parses "HTTP/x.y" and returns "x.y", Zeek's spelling.
func parseVersion(b []byte) (string, bool) {
	if len(b) != 8 || string(b[:5]) != "HTTP/" || b[6] != '.' ||
		b[5] < '0' || b[5] > '9' || b[7] < '0' || b[7] > '9' {
		return "", false
	}
	switch string(b[5:]) { // avoid an allocation for the usual versions
	case "1.1":
		return "1.1", true
	case "1.0":
		return "1.0", true
	}
	return string(b[5:]), true
}

// parseRequestLine splits "METHOD SP URI SP HTTP/x.y". The URI is what
// lies between the first and the last space, so URIs with unescaped
// spaces survive.
func parseRequestLine(line []byte) (method, uri, version string, ok bool) {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || !isMethod(line[:sp]) {
		return "", "", "", false
	}
	last := bytes.LastIndexByte(line, ' ')
	if last <= sp+1 {
		return "", "", "", false
	}
	version, ok = parseVersion(line[last+1:])
	if !ok {
		return "", "", "", false
	}
	target := bytes.TrimRight(line[sp+1:last], " ")
	if len(target) == 0 {
		return "", "", "", false
	}
	return methodString(line[:sp]), string(target), version, true
}

// methodString interns the common methods.
func methodString(b []byte) string {
	switch string(b) {
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	case "HEAD":
		return "HEAD"
	case "PUT":
		return "PUT"
	case "CONNECT":
		return "CONNECT"
	case "OPTIONS":
		return "OPTIONS"
	case "DELETE":
		return "DELETE"
	}
	return string(b)
}

// parseStatusLine splits "HTTP/x.y SP CODE [SP reason]".
func parseStatusLine(line []byte) (version string, code int, msg string, ok bool) {
	if len(line) < 12 || line[8] != ' ' {
		return "", 0, "", false
	}
	version, ok = parseVersion(line[:8])
	if !ok {
		return "", 0, "", false
	}
	c := line[9:12]
	for _, d := range c {
		if d < '0' || d > '9' {
			return "", 0, "", false
		}
	}
	code = int(c[0]-'0')*100 + int(c[1]-'0')*10 + int(c[2]-'0')
	rest := line[12:]
	if len(rest) > 0 && rest[0] != ' ' {
		return "", 0, "", false
	}
	rest = trimOWS(rest)
	switch string(rest) {
	case "OK":
		msg = "OK"
	case "Not Found":
		msg = "Not Found"
	default:
		msg = string(rest)
	}
	return version, code, msg, true
}

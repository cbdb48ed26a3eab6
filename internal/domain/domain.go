// Package domain reduces a raw host value from telemetry (a DNS query name,
// an http_host, a proxy's host field, URL Toolbox's ut_domain, or a URL) to
// the registered domain (eTLD+1, public suffix list including its private
// section) that vtsync looks up and stores under, or says why it cannot.
//
// The output is what reaches VirusTotal and becomes the KV _key, so anything
// that is not a plain public DNS name is rejected: IP literals in every
// form, special-use names, public suffixes themselves, and every character
// that has no place in a host name.
//
// Decisions, each pinned by testdata/hostile.txt:
//   - Non-ASCII names go through UTS #46 non-transitional processing, as
//     browsers resolve them: "ß" stays (xn--fa-hia.de), full-width forms and
//     the ideographic full stops U+3002, U+FF0E, U+FF61 map to ASCII and
//     ".", invisible code points UTS #46 ignores (U+200B, U+00AD, U+FEFF)
//     are dropped. Disallowed code points (bidi overrides, controls) are
//     rejected.
//   - Homographs ("аpple.com" with a Cyrillic а) are valid IDNs and come
//     out as punycode (xn--pple-43d.com): they are exactly what is worth
//     looking up.
//   - Labels left of the registered domain may hold underscores and edge
//     hyphens ("_ldap._tcp.example.com", "r3---sn-x.googlevideo.com"): they
//     are dropped anyway. The registered domain itself must be
//     letter-digit-hyphen.
//   - Top-level domains missing from the list follow its implicit "*" rule
//     ("a.example.example" gives "example.example"), as the PSL tests
//     require, except the never-delegated names in reservedTLDs.
package domain

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// Reason says why a value has no registered domain. The values are the keys
// of the run summary's "rejected" map: keep them stable.
type Reason string

// Rejection reasons. A successful Normalize returns the empty Reason.
const (
	// Empty: nothing left after trimming white space, or a placeholder that
	// means "no value" (URL Toolbox's "None", the "-" of common log formats).
	Empty Reason = "empty"
	// IP: an IPv4 or IPv6 literal in any form: dotted quad, decimal, octal
	// or hex numbers (any host whose last label is a number, as browsers
	// read it), bracketed or bare IPv6, zone ids, IPv4-mapped IPv6.
	IP Reason = "ip"
	// TooLong: longer than 253 octets once in ASCII form (the DNS limit),
	// or more than 1024 bytes of raw host before conversion.
	TooLong Reason = "too_long"
	// BadLabel: an empty label (leading dot, "..", two trailing dots), a
	// label over 63 octets, or a registered-domain label that is not a
	// letter-digit-hyphen label (leading or trailing hyphen, underscore).
	BadLabel Reason = "bad_label"
	// IllegalChar: a character that cannot occur in a host name: white
	// space, controls, NUL, path, query, fragment and user-info delimiters,
	// percent-encoding, quotes, SPL and JSON metacharacters, invalid UTF-8,
	// or a port that is not a port.
	IllegalChar Reason = "illegal_char"
	// IDNA: non-ASCII input that UTS #46 / IDNA2008 refuses (disallowed
	// code points such as bidi overrides, broken bidi or joiner rules), or
	// an "xn--" label that is not valid punycode.
	IDNA Reason = "idna"
	// PublicSuffix: the name is itself a public suffix ("com", "co.uk",
	// "github.io"), so it has no registered domain.
	PublicSuffix Reason = "public_suffix"
	// SingleLabel: a name without a dot that is not a top-level domain:
	// WINS/NetBIOS-style intranet names such as "wpad" or "fileserver".
	SingleLabel Reason = "single_label"
	// Reserved: a name under a top-level domain that never resolves in
	// public DNS (see reservedTLDs). Looking such a name up would leak an
	// internal host name and waste quota.
	Reserved Reason = "reserved"
)

// Reasons returns every rejection reason, in a fixed order.
func Reasons() []Reason {
	return []Reason{Empty, IP, TooLong, BadLabel, IllegalChar, IDNA, PublicSuffix, SingleLabel, Reserved}
}

const (
	maxName    = 253  // octets in a name, without the root's trailing dot
	maxLabel   = 63   // octets in a label
	maxRawHost = 1024 // bytes of host accepted before IDNA processing
)

// reservedTLDs are top-level names that are never delegated in the public
// DNS. A trailing label in this set makes the whole name Reserved.
var reservedTLDs = map[string]bool{
	"localhost":   true, // RFC 6761
	"invalid":     true, // RFC 6761
	"test":        true, // RFC 6761
	"local":       true, // RFC 6762, multicast DNS
	"alt":         true, // RFC 9476, non-DNS name systems
	"internal":    true, // ICANN, reserved for private use (2024)
	"arpa":        true, // infrastructure: reverse mapping (in-addr, ip6), RFC 8375 home.arpa
	"corp":        true, // ICANN name-collision strings never to be delegated (2018)
	"home":        true,
	"mail":        true,
	"lan":         true, // not delegated; home-router and OS defaults
	"localdomain": true,
}

// lookup is UTS #46 non-transitional processing as browsers apply it: case,
// width and compatibility mapping, NFC, IDNA2008 validity, Bidi and ContextJ
// rules. Hyphen positions are not checked ("r3---sn-x.googlevideo.com" is in
// common use) and ASCII is left to this package's own stricter checks, which
// run again on the converted name.
var lookup = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.CheckHyphens(false),
	idna.StrictDomainName(false),
)

// Normalize returns the registered domain (eTLD+1) of raw in lower-case
// ASCII, with internationalised labels as punycode, and an empty Reason; or
// "" and the reason raw has none.
//
// raw may be a host name, "host:port", "[ipv6]:port", or an absolute URL
// "scheme://[userinfo@]host[:port][/path...]" whose host is used. Leading
// and trailing white space and one trailing dot are ignored. The result may
// share memory with raw.
func Normalize(raw string) (string, Reason) {
	host, r := hostOf(raw)
	if r != "" {
		return "", r
	}
	host, r = toASCII(host)
	if r != "" {
		return "", r
	}
	return registered(host)
}

// Valid reports whether d is exactly what Normalize returns for it: a
// registered domain in lower-case ASCII, letter-digit-hyphen labels (IDNs as
// valid "xn--" punycode), at most 253 octets, not a public suffix, not an IP,
// not reserved. Stores and the enricher use it to assert on their keys.
func Valid(d string) bool {
	out, r := Normalize(d)
	return r == "" && out == d
}

// hostOf extracts the host from raw: it trims white space, takes the
// authority's host out of a URL, and removes a port and IPv6 brackets.
// IP literals that contain colons are recognised here; the rest of the host
// is checked later.
func hostOf(raw string) (string, Reason) {
	s := strings.TrimSpace(raw)
	if s == "" || s == "None" || s == "-" { // URL Toolbox's and log formats' "no value"
		return "", Empty
	}
	if i := strings.Index(s, "://"); i >= 0 {
		if !isScheme(s[:i]) {
			return "", IllegalChar
		}
		s = s[i+3:]
		// The authority ends at the path, query or fragment; browsers also
		// end it at a backslash, so "http://evil.com\@good.com" is evil.com.
		if end := strings.IndexAny(s, "/?#\\"); end >= 0 {
			s = s[:end]
		}
		if at := strings.LastIndexByte(s, '@'); at >= 0 {
			s = s[at+1:]
		}
		if s == "" {
			return "", Empty
		}
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 || !isPortSuffix(s[end+1:]) {
			return "", IllegalChar
		}
		if _, err := netip.ParseAddr(s[1:end]); err == nil {
			return "", IP
		}
		return "", IllegalChar
	}
	switch strings.Count(s, ":") {
	case 0:
	case 1:
		i := strings.IndexByte(s, ':')
		if !isPortSuffix(s[i:]) {
			return "", IllegalChar
		}
		s = s[:i]
	default:
		if _, err := netip.ParseAddr(s); err == nil {
			return "", IP
		}
		// An unbracketed IPv6 address followed by a port.
		if i := strings.LastIndexByte(s, ':'); isPortSuffix(s[i:]) {
			if _, err := netip.ParseAddr(s[:i]); err == nil {
				return "", IP
			}
		}
		return "", IllegalChar
	}
	if s == "" {
		return "", Empty
	}
	if len(s) > maxRawHost {
		return "", TooLong
	}
	return s, ""
}

// isScheme reports whether s is a URL scheme (RFC 3986 section 3.1).
func isScheme(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// isPortSuffix reports whether s is empty or ":" followed by a port number
// (RFC 3986 allows an empty port).
func isPortSuffix(s string) bool {
	if s == "" {
		return true
	}
	if s[0] != ':' || len(s) > 6 {
		return false
	}
	n := 0
	for i := 1; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n <= 65535
}

// toASCII returns host in lower case with non-ASCII labels converted to
// punycode. Pure ASCII input never goes through IDNA. The result contains
// only [a-z0-9._-].
func toASCII(host string) (string, Reason) {
	upper, unicode := false, false
	for i := 0; i < len(host); i++ {
		switch c := host[i]; {
		case isLower(c) || isDigit(c) || c == '-' || c == '.' || c == '_':
		case 'A' <= c && c <= 'Z':
			upper = true
		case c >= utf8.RuneSelf:
			unicode = true
		default:
			return "", IllegalChar
		}
	}
	if !unicode {
		if upper {
			host = strings.ToLower(host)
		}
		return host, ""
	}
	if !utf8.ValidString(host) {
		return "", IllegalChar
	}
	a, err := lookup.ToASCII(host)
	if err != nil {
		return "", IDNA
	}
	// Mapping can produce ASCII that was not in the input (fullwidth
	// solidus to "/", ideographic full stop to "."): check it again.
	for i := 0; i < len(a); i++ {
		if c := a[i]; !isLower(c) && !isDigit(c) && c != '-' && c != '.' && c != '_' {
			return "", IllegalChar
		}
	}
	return a, ""
}

// registered returns the registered domain of host, which is lower-case
// ASCII made of [a-z0-9._-].
func registered(host string) (string, Reason) {
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return "", Empty
	}
	last := host[strings.LastIndexByte(host, '.')+1:]
	if isNumber(last) {
		return "", IP
	}
	if len(host) > maxName {
		return "", TooLong
	}
	// Every label: 1 to 63 octets. Labels left of the registered domain may
	// carry underscores and edge hyphens (SRV-style "_ldap._tcp", CDN
	// names); they are never sent anywhere. The registered domain's own
	// labels are checked strictly below.
	start := 0
	for i := 0; i <= len(host); i++ {
		if i == len(host) || host[i] == '.' {
			if n := i - start; n == 0 || n > maxLabel {
				return "", BadLabel
			}
			start = i + 1
		}
	}
	if reservedTLDs[last] {
		return "", Reserved
	}
	if len(last) == len(host) {
		if _, icann := publicsuffix.PublicSuffix(host); icann {
			return "", PublicSuffix
		}
		return "", SingleLabel
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return "", PublicSuffix
	}
	if !isLDH(d) {
		return "", BadLabel
	}
	if strings.Contains(d, "xn--") && !validPunycode(d) {
		return "", IDNA
	}
	return d, ""
}

// isLDH reports whether every label of d is a letter-digit-hyphen label
// that neither starts nor ends with a hyphen (RFC 1123 section 2.1).
func isLDH(d string) bool {
	start := 0
	for i := 0; i <= len(d); i++ {
		if i == len(d) || d[i] == '.' {
			if d[start] == '-' || d[i-1] == '-' {
				return false
			}
			start = i + 1
			continue
		}
		if d[i] == '_' {
			return false
		}
	}
	return true
}

// validPunycode reports whether the "xn--" labels of d decode to valid
// IDNA2008 labels whose canonical encoding is d again, so that d is a
// fixed point of Normalize.
func validPunycode(d string) bool {
	u, err := lookup.ToUnicode(d)
	if err != nil {
		return false
	}
	a, err := lookup.ToASCII(u)
	return err == nil && a == d
}

// isNumber reports whether label reads as an IPv4 number in the WHATWG URL
// host parser's "ends in a number" check: all decimal digits, or "0x"
// followed by hex digits. A host whose last label is a number is an IPv4
// address to a browser ("3232235777", "0x7f.1", "1.2.3.04") and can never
// be a DNS name: no top-level domain is numeric.
func isNumber(label string) bool {
	if label == "" {
		return false
	}
	if len(label) >= 2 && label[0] == '0' && label[1] == 'x' {
		for i := 2; i < len(label); i++ {
			if c := label[i]; !isDigit(c) && (c < 'a' || c > 'f') {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(label); i++ {
		if !isDigit(label[i]) {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

package detect

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vtsync/vtsync/internal/filesource"
)

// Setting is one threshold, list or switch of the detections. The app's
// macro Macro has Default as its definition, and `vtsync detect` reads the
// YAML key detect.<Key>: this table is the one source of both, and the app
// check holds macros.conf to it, and holds each detection's macros to read
// exactly the settings whose Kinds name it.
type Setting struct {
	Macro   string   // macros.conf stanza
	Key     string   // YAML key under detect:
	Default string   // the macro's definition, exactly
	Kinds   []string // the detections that read it: KindDomain, KindIP, KindFile
	Doc     string   // what it does, for the macro's description and the docs
}

// Detections, by the kind of indicator they judge (Finding.Kind): the
// kinds of the events they read (filesource.Event.Kind).
const (
	KindDomain = filesource.KindDomain // registered domains contacted (vtsync_detection)
	KindIP     = filesource.KindIP     // IP addresses contacted (vtsync_ip_detection)
	KindFile   = filesource.KindFile   // process images, by hash (vtsync_file_detection)
)

// Kinds lists the detections in the order vtsync detect writes them.
var Kinds = []string{KindDomain, KindIP, KindFile}

var (
	domainOnly = []string{KindDomain}
	network    = []string{KindDomain, KindIP}
	every      = Kinds
)

// Settings is the detection's table of settings and defaults.
var Settings = []Setting{
	{Macro: "vtsync_max_age_days", Key: "max_age_days", Default: "45", Kinds: domainOnly,
		Doc: "young rule: a domain registered at most this many days before its first contact (and not after it) is flagged"},
	{Macro: "vtsync_max_hosts", Key: "max_distinct_hosts", Default: "10", Kinds: domainOnly,
		Doc: "domains contacted by more distinct endpoints than this within the window are left out (a roll-out, not a compromise)"},
	{Macro: "vtsync_min_positives", Key: "min_positives", Default: "2", Kinds: every,
		Doc: "malicious rule: a domain, IP address or process image (by its hash) that at least this many VirusTotal engines call malicious is flagged, whatever its popularity"},
	{Macro: "vtsync_popular_max_rank", Key: "popular_max_rank", Default: "100000", Kinds: domainOnly,
		Doc: "a domain whose best VirusTotal popularity rank (popularity_rank) is at most this is popular: the young rule does not flag it (the malicious rule still does); 0 = no domain is popular"},
	{Macro: "vtsync_cert_issuer_orgs", Key: "free_ca_orgs", Default: `"let's encrypt"`, Kinds: domainOnly,
		Doc: "certificate issuer organisations (the O= of the issuer, lower-case, quoted, comma-separated) that count as a free, automated CA"},
	{Macro: "vtsync_young_needs_free_ca", Key: "young_needs_free_ca", Default: "0", Kinds: domainOnly,
		Doc: "switch: 1 = the young rule flags a domain only when its certificate comes from a free CA (the blog's strict form); 0 = any young domain"},
	{Macro: "vtsync_flag_not_found", Key: "flag_not_found", Default: "0", Kinds: every,
		Doc: "switch: 1 = flag domains, IP addresses and process images VirusTotal does not know (vt_found = false); 0 = leave them alone"},
	{Macro: "vtsync_alert_pending", Key: "alert_pending", Default: "0", Kinds: every,
		Doc: "switch: 1 = indicators vtsync has not looked up yet raise the alert too; 0 = they are only listed (on the dashboard, and as pending by vtsync detect)"},
	{Macro: "vtsync_browser_processes", Key: "browsers", Kinds: network,
		Default: `"chrome.exe", "iexplore.exe", "firefox.exe", "opera.exe", "microsoftedge.exe", "microsoftedgecp.exe", "msedge.exe", "brave.exe", "vivaldi.exe", "safari"`,
		Doc:     "browser process names (lower-case, quoted, comma-separated): their traffic is not looked at, by the domain and the IP address detections (the process image detection looks at browsers too)"},
}

// Rules are the detection's thresholds, lists and switches; DefaultRules
// gives the app's macro defaults (Settings).
type Rules struct {
	MaxAgeDays       float64  // young: 0 <= age <= MaxAgeDays days between registration and first contact
	MaxDistinctHosts int      // domains contacted by more endpoints are left out
	MinPositives     int64    // malicious: flagged by at least this many engines (every kind)
	PopularMaxRank   int64    // popular: popularity_rank <= this (0 = nothing is popular); suppresses young only
	FreeCAOrgs       []string // certificate issuer organisations of free CAs
	YoungNeedsFreeCA bool     // young flags only together with a free-CA certificate
	FlagNotFound     bool     // flag indicators VirusTotal does not know (every kind)
	AlertPending     bool     // pending indicators alert too (every kind)
	Browsers         []string // processes whose network events are left out (domains, IP addresses)
}

// DefaultRules returns the rules as the Settings table's defaults set
// them.
func DefaultRules() Rules {
	var r Rules
	for _, s := range Settings {
		if err := r.Set(s.Key, splitList(s.Default)...); err != nil {
			panic(fmt.Sprintf("detect.Settings %s: %v", s.Key, err)) // a test runs this
		}
	}
	return r
}

// DefaultBrowsers is the default browser list (the vtsync_browser_processes
// macro). Matching is on the process base name, case-insensitively.
var DefaultBrowsers = DefaultRules().Browsers

// Set sets the rule of Settings key to values: one value for a number or a
// switch (0 or 1, true or false), any number for a list. The error says
// what the value must be.
func (r *Rules) Set(key string, values ...string) error {
	one := func() (string, error) {
		if len(values) != 1 {
			return "", fmt.Errorf("takes one value, not %d", len(values))
		}
		return strings.TrimSpace(values[0]), nil
	}
	whole := func(lo, hi int64) (int64, error) {
		s, err := one()
		if err != nil {
			return 0, err
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < lo || v > hi {
			return 0, fmt.Errorf("%q must be a whole number from %d to %d", s, lo, hi)
		}
		return v, nil
	}
	switch key {
	case "max_age_days":
		s, err := one()
		if err != nil {
			return err
		}
		// Plain decimals only: ParseFloat also reads NaN, Inf and hex floats.
		v, perr := strconv.ParseFloat(s, 64)
		if perr != nil || s == "" || strings.Trim(s, "0123456789.") != "" || !(v >= 0 && v <= 36500) {
			return fmt.Errorf("%q must be a number of days from 0 to 36500", s)
		}
		r.MaxAgeDays = v
	case "max_distinct_hosts":
		v, err := whole(1, 1000000)
		if err != nil {
			return err
		}
		r.MaxDistinctHosts = int(v)
	case "min_positives":
		v, err := whole(1, 1000)
		if err != nil {
			return err
		}
		r.MinPositives = v
	case "popular_max_rank":
		v, err := whole(0, math.MaxInt32)
		if err != nil {
			return err
		}
		r.PopularMaxRank = v
	case "young_needs_free_ca", "flag_not_found", "alert_pending":
		s, err := one()
		if err != nil {
			return err
		}
		var on bool
		switch strings.ToLower(s) {
		case "1", "true":
			on = true
		case "0", "false":
		default:
			return fmt.Errorf("%q must be 0 or 1 (or false or true)", s)
		}
		switch key {
		case "young_needs_free_ca":
			r.YoungNeedsFreeCA = on
		case "flag_not_found":
			r.FlagNotFound = on
		default:
			r.AlertPending = on
		}
	case "free_ca_orgs", "browsers":
		var list []string
		for _, v := range values {
			if v = strings.TrimSpace(v); v != "" {
				list = append(list, v)
			}
		}
		if key == "browsers" {
			r.Browsers = list
		} else {
			r.FreeCAOrgs = list
		}
	default:
		return fmt.Errorf("unknown setting %q", key)
	}
	return nil
}

// splitList reads a macro definition: a number, or a list of quoted,
// comma-separated strings.
func splitList(def string) []string {
	if !strings.Contains(def, `"`) {
		return []string{strings.TrimSpace(def)}
	}
	var out []string
	for _, part := range strings.Split(def, ",") {
		out = append(out, strings.Trim(strings.TrimSpace(part), `"`))
	}
	return out
}

// MacroValue renders the value a rule holds as a macro definition, in the
// form of Settings defaults (so that DefaultRules renders as Settings).
func (r Rules) MacroValue(key string) string {
	quote := func(list []string) string {
		q := make([]string, len(list))
		for i, s := range list {
			q[i] = `"` + strings.ToLower(s) + `"`
		}
		return strings.Join(q, ", ")
	}
	flag := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	switch key {
	case "max_age_days":
		return strconv.FormatFloat(r.MaxAgeDays, 'f', -1, 64)
	case "max_distinct_hosts":
		return strconv.Itoa(r.MaxDistinctHosts)
	case "min_positives":
		return strconv.FormatInt(r.MinPositives, 10)
	case "popular_max_rank":
		return strconv.FormatInt(r.PopularMaxRank, 10)
	case "free_ca_orgs":
		return quote(r.FreeCAOrgs)
	case "young_needs_free_ca":
		return flag(r.YoungNeedsFreeCA)
	case "flag_not_found":
		return flag(r.FlagNotFound)
	case "alert_pending":
		return flag(r.AlertPending)
	case "browsers":
		return quote(r.Browsers)
	}
	return ""
}

package splunktest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"
)

var bom = []byte{0xEF, 0xBB, 0xBF}

// exportSearch serves POST search/jobs/export like splunkd with
// output_mode=json: a UTF-8 BOM, then one JSON object per line.
func (s *Server) exportSearch(w http.ResponseWriter, r *http.Request, app string) {
	if r.Method != http.MethodPost {
		writeMessages(w, r, http.StatusMethodNotAllowed, "ERROR", "Method Not Allowed")
		return
	}
	if !formBody(w, r) {
		return
	}
	search := r.PostForm.Get("search")
	spl := strings.TrimLeft(search, " \t\r\n\v\f")
	switch {
	case spl == "":
		writeMessages(w, r, http.StatusBadRequest, "FATAL", "Empty search.")
		return
	case strings.HasPrefix(spl, "|"), searchCommand.MatchString(spl):
	default:
		writeMessages(w, r, http.StatusBadRequest, "FATAL", "Unknown search command '"+firstCommand(spl)+"'.")
		return
	}
	for _, name := range []string{"earliest_time", "latest_time"} {
		v := r.PostForm.Get(name)
		switch {
		case v == "": // no bound
		case realTime.MatchString(v):
			writeMessages(w, r, http.StatusBadRequest, "ERROR", "splunktest does not serve real-time searches ("+name+"="+v+")")
			return
		case !isSplunkTime(v):
			writeMessages(w, r, http.StatusBadRequest, "FATAL", "Invalid "+name+".")
			return
		}
	}
	if r.Form.Get("output_mode") != "json" {
		writeMessages(w, r, http.StatusBadRequest, "ERROR", "splunktest serves the export in output_mode=json only")
		return
	}
	s.mu.Lock()
	s.counts["export"]++
	s.exports = append(s.exports, ExportRequest{
		App:          app,
		Search:       search,
		EarliestTime: r.PostForm.Get("earliest_time"),
		LatestTime:   r.PostForm.Get("latest_time"),
		Form:         r.PostForm,
	})
	cfg := s.export
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	if cfg.raw != nil {
		w.Write(cfg.raw)
	} else {
		w.Write(bom)
		if cfg.preview && len(cfg.rows) > 0 {
			part := cfg.rows[:(len(cfg.rows)+1)/2]
			for i, row := range part {
				w.Write(exportLine(true, i, i == len(part)-1, row))
			}
			flush()
		}
		for i, row := range cfg.rows {
			line := exportLine(false, i, i == len(cfg.rows)-1, row)
			if cfg.cut && i == len(cfg.rows)-1 {
				w.Write(line[:len(line)/2])
				flush()
				panic(http.ErrAbortHandler) // drop the connection mid-line
			}
			w.Write(line)
		}
	}
	if cfg.fatal != "" {
		b, _ := json.Marshal(messagesBody("FATAL", cfg.fatal))
		w.Write(append(b, '\n'))
	}
	flush()
}

// searchCommand matches SPL that starts with the search command.
var searchCommand = regexp.MustCompile(`^[sS][eE][aA][rR][cC][hH](?:[ \t\r\n\v\f]|$)`)

// Time bounds as splunkd reads them: now, epoch seconds, a chain of
// relative offsets and snap-tos (-1d@d+8h; the count may be left out, as in
// -h), or an absolute time (%m/%d/%Y:%H:%M:%S or ISO 8601).
const timeUnit = `(?:s|secs?|seconds?|m|min|minutes?|h|hrs?|hours?|d|days?|w|weeks?|mon|months?|q|qtrs?|quarters?|y|yrs?|years?|us|ms|cs|ds)`

var (
	timeModifier = regexp.MustCompile(`^(?:now|[0-9]+(?:\.[0-9]+)?|(?:[+-][0-9]*` + timeUnit + `|@(?:` + timeUnit + `|w[0-7]))+)$`)
	realTime     = regexp.MustCompile(`^[+-]*[rR][tT]`)
)

var absoluteTimeLayouts = []string{"1/2/2006:15:4:5", "2006-01-02T15:04:05", time.RFC3339, "2006-01-02T15:04:05Z0700"}

func isSplunkTime(v string) bool {
	if timeModifier.MatchString(strings.ToLower(v)) { // units are matched in any case
		return true
	}
	for _, layout := range absoluteTimeLayouts {
		if _, err := time.Parse(layout, v); err == nil {
			return true
		}
	}
	return false
}

func exportLine(preview bool, offset int, last bool, row map[string]any) []byte {
	v := struct {
		Preview bool           `json:"preview"`
		Offset  int            `json:"offset"`
		LastRow bool           `json:"lastrow,omitempty"`
		Result  map[string]any `json:"result"`
	}{preview, offset, last, row}
	b, _ := json.Marshal(v)
	return append(b, '\n')
}

// firstCommand returns the command name splunkd would read at the start of
// spl: "index" for "index=main foo".
func firstCommand(spl string) string {
	end := strings.IndexFunc(spl, func(r rune) bool {
		return !(r == '_' || r == '-' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	})
	if end == 0 {
		if f := strings.Fields(spl); len(f) > 0 {
			return f[0]
		}
	}
	if end < 0 {
		return spl
	}
	return spl[:end]
}

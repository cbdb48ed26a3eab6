package splunktest

import (
	"encoding/json"
	"net/http"
	"strings"
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
	spl := strings.TrimLeft(search, " \t\r\n")
	switch {
	case spl == "":
		writeMessages(w, r, http.StatusBadRequest, "FATAL", "Empty search.")
		return
	case strings.HasPrefix(spl, "|"),
		len(spl) > 7 && strings.EqualFold(spl[:7], "search "):
	default:
		writeMessages(w, r, http.StatusBadRequest, "FATAL", "Unknown search command '"+firstCommand(spl)+"'.")
		return
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

package splunktest

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// This file serves what Splunk Web's pages use besides the modular input's
// own calls: the list, creation, enabling and disabling of modular inputs
// (data/inputs/<scheme>), their create form (…/_new), configuration
// stanzas (configs/conf-<file>), and a log of the requests received.

// Request is one authenticated request the fake received.
type Request struct {
	Method string
	Path   string     // unescaped, as routed: /servicesNS/nobody/vtsync/storage/passwords
	Query  url.Values // the URL's query
	Form   url.Values // the form body (POST)
	Status int
}

// WithScheme declares the modular input scheme with its arguments (from
// its introspection scheme): data/inputs/<scheme> then lists, creates,
// enables and disables its inputs, and accepts only these arguments plus
// the implicit ones.
func WithScheme(scheme string, args ...string) Option {
	return func(s *Server) { s.schemes[scheme] = append([]string(nil), args...) }
}

// WithConfStanza sets the stanza [stanza] of <file>.conf as app sees it
// (configs/conf-<file>/<stanza>). For file "inputs" and a declared
// scheme's name, its values are the defaults the scheme's inputs inherit.
func WithConfStanza(app, file, stanza string, values map[string]string) Option {
	return func(s *Server) {
		v := make(map[string]string, len(values))
		for k, x := range values {
			v[k] = x
		}
		s.confs[confKey(app, file, stanza)] = v
	}
}

// Requests returns the authenticated requests received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ConfStanza returns the current values of [stanza] in <file>.conf of app
// (nil when there is no such stanza).
func (s *Server) ConfStanza(app, file, stanza string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.confs[confKey(app, file, stanza)]
	if !ok {
		return nil
	}
	out := map[string]string{}
	for k, v := range st {
		out[k] = v
	}
	return out
}

// Inputs returns the names of app's inputs of scheme, sorted.
func (s *Server) Inputs(app, scheme string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.inputs {
		if n, ok := strings.CutPrefix(k, app+"/"+scheme+"/"); ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func confKey(app, file, stanza string) string { return app + "\x00" + file + "\x00" + stanza }

// logRequest records r (called once the request is routed, status after
// it is answered).
func (s *Server) logRequest(r *http.Request, path string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	form := url.Values{}
	for k, v := range r.PostForm {
		form[k] = append([]string(nil), v...)
	}
	s.requests = append(s.requests, Request{Method: r.Method, Path: path, Query: r.URL.Query(), Form: form, Status: status})
}

// statusRecorder keeps the status an answer was sent with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// inputsCollection serves data/inputs/<scheme>: GET lists, POST creates.
func (s *Server) inputsCollection(w http.ResponseWriter, r *http.Request, app, scheme string) {
	s.mu.Lock()
	args, ok := s.schemes[scheme]
	s.mu.Unlock()
	if !ok {
		writeMessages(w, r, http.StatusNotFound, "ERROR", "Not Found")
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.count("inputs_list")
		s.mu.Lock()
		var names []string
		for k := range s.inputs {
			if n, ok := strings.CutPrefix(k, app+"/"+scheme+"/"); ok {
				names = append(names, n)
			}
		}
		s.mu.Unlock()
		sort.Strings(names)
		names = page(r, names)
		s.writeInputs(w, r, http.StatusOK, app, scheme, names...)
	case http.MethodPost:
		s.count("inputs_create")
		if !formBody(w, r) || !onlyArgs(w, r, append(append([]string{"name"}, implicitInputArgs...), args...)...) {
			return
		}
		name := r.PostForm.Get("name")
		if name == "" {
			writeMessages(w, r, http.StatusBadRequest, "ERROR", "The following required arguments are missing: name.")
			return
		}
		if strings.ContainsAny(name, "/\\:") || strings.TrimSpace(name) != name {
			writeMessages(w, r, http.StatusBadRequest, "ERROR", "splunktest: input name "+strconv.Quote(name)+" has characters splunkd does not take in a stanza name here")
			return
		}
		key := app + "/" + scheme + "/" + name
		s.mu.Lock()
		_, exists := s.inputs[key]
		if !exists {
			p := map[string]string{}
			setArgs(p, r, "name")
			if _, ok := p["disabled"]; !ok {
				p["disabled"] = "0"
			}
			s.inputs[key] = p
		}
		s.mu.Unlock()
		if exists {
			writeMessages(w, r, http.StatusConflict, "ERROR", "Stanza "+scheme+"://"+name+" already exists")
			return
		}
		s.writeInputs(w, r, http.StatusCreated, app, scheme, name)
	default:
		writeMessages(w, r, http.StatusMethodNotAllowed, "ERROR", "Method Not Allowed")
	}
}

// inputsNew serves GET data/inputs/<scheme>/_new: the create form, whose
// entry lists the required and optional arguments.
func (s *Server) inputsNew(w http.ResponseWriter, r *http.Request, scheme string) {
	s.count("inputs_new")
	s.mu.Lock()
	args, ok := s.schemes[scheme]
	s.mu.Unlock()
	if !ok {
		writeMessages(w, r, http.StatusNotFound, "ERROR", "Not Found")
		return
	}
	if r.Method != http.MethodGet {
		writeMessages(w, r, http.StatusMethodNotAllowed, "ERROR", "Method Not Allowed")
		return
	}
	if !jsonMode(r) {
		writeAtom(w, scheme)
		return
	}
	optional := append(append([]string{}, args...), implicitInputArgs...)
	writeJSON(w, http.StatusOK, map[string]any{
		"entry": []map[string]any{{
			"name":    "_new",
			"content": map[string]any{},
			"fields":  map[string]any{"required": []string{"name"}, "optional": optional, "wildcard": []string{}},
		}},
	})
}

// inputAction serves POST data/inputs/<scheme>/<name>/enable|disable.
func (s *Server) inputAction(w http.ResponseWriter, r *http.Request, app, scheme, name, action string) {
	if action != "enable" && action != "disable" {
		writeMessages(w, r, http.StatusNotFound, "ERROR", "Not Found")
		return
	}
	s.count("inputs_" + action)
	if r.Method != http.MethodPost {
		writeMessages(w, r, http.StatusMethodNotAllowed, "ERROR", "Method Not Allowed")
		return
	}
	if !formBody(w, r) || !onlyArgs(w, r) {
		return
	}
	key := app + "/" + scheme + "/" + name
	s.mu.Lock()
	p, ok := s.inputs[key]
	if ok {
		p["disabled"] = map[string]string{"enable": "0", "disable": "1"}[action]
	}
	s.mu.Unlock()
	if !ok {
		writeMessages(w, r, http.StatusNotFound, "ERROR", "Could not find object id="+name)
		return
	}
	s.writeInputs(w, r, http.StatusOK, app, scheme, name)
}

// getInput serves GET data/inputs/<scheme>/<name>.
func (s *Server) getInput(w http.ResponseWriter, r *http.Request, app, scheme, name string) {
	s.count("inputs_get")
	s.mu.Lock()
	_, ok := s.inputs[app+"/"+scheme+"/"+name]
	s.mu.Unlock()
	if !ok {
		writeMessages(w, r, http.StatusNotFound, "ERROR", "Could not find object id="+name)
		return
	}
	s.writeInputs(w, r, http.StatusOK, app, scheme, name)
}

// writeInputs answers with the named inputs as EAI entries. Their content
// is the scheme's defaults ([<scheme>] of inputs.conf) under the input's
// own values, disabled as a boolean, as splunkd answers.
func (s *Server) writeInputs(w http.ResponseWriter, r *http.Request, status int, app, scheme string, names ...string) {
	if !jsonMode(r) {
		w.Header().Set("Content-Type", "text/xml; charset=UTF-8")
		w.WriteHeader(status)
		w.Write([]byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>" + scheme + "</title></feed>\n"))
		return
	}
	s.mu.Lock()
	defaults := s.confs[confKey(app, "inputs", scheme)]
	optional := append(append([]string{}, s.schemes[scheme]...), implicitInputArgs...)
	entries := make([]map[string]any, 0, len(names))
	for _, n := range names {
		p, ok := s.inputs[app+"/"+scheme+"/"+n]
		if !ok {
			continue
		}
		content := map[string]any{}
		for k, v := range defaults {
			content[k] = v
		}
		for k, v := range p {
			content[k] = v
		}
		d, _ := content["disabled"].(string)
		content["disabled"] = truthy(d)
		id := "/servicesNS/nobody/" + url.PathEscape(app) + "/data/inputs/" + url.PathEscape(scheme) + "/" + url.PathEscape(n)
		entries = append(entries, map[string]any{
			"name":    n,
			"id":      "https://127.0.0.1:8089" + id,
			"links":   map[string]string{"alternate": id, "list": id, "edit": id, "remove": id, "enable": id + "/enable", "disable": id + "/disable"},
			"acl":     map[string]any{"app": app, "owner": "nobody", "sharing": "app"},
			"content": content,
			"fields":  map[string]any{"required": []string{}, "optional": optional, "wildcard": []string{}},
		})
	}
	s.mu.Unlock()
	writeJSON(w, status, map[string]any{
		"links":  map[string]string{"create": "/servicesNS/nobody/" + url.PathEscape(app) + "/data/inputs/" + url.PathEscape(scheme) + "/_new"},
		"paging": map[string]int{"total": len(entries), "perPage": 30, "offset": 0},
		"entry":  entries,
	})
}

// confs serves configs/conf-<file> (POST name=<stanza> creates a stanza)
// and configs/conf-<file>/<stanza> (GET reads it, POST sets any keys:
// splunkd does not check keys against a spec here).
func (s *Server) confEndpoint(w http.ResponseWriter, r *http.Request, app, file string, rest []string) {
	switch {
	case len(rest) == 0 && r.Method == http.MethodPost:
		s.count("conf_create")
		if !formBody(w, r) {
			return
		}
		name := r.PostForm.Get("name")
		if name == "" {
			writeMessages(w, r, http.StatusBadRequest, "ERROR", "The following required arguments are missing: name.")
			return
		}
		key := confKey(app, file, name)
		s.mu.Lock()
		_, exists := s.confs[key]
		if !exists {
			v := map[string]string{}
			setArgs(v, r, "name")
			s.confs[key] = v
		}
		s.mu.Unlock()
		if exists {
			writeMessages(w, r, http.StatusConflict, "ERROR", "An object with name="+name+" already exists")
			return
		}
		s.writeConf(w, r, http.StatusCreated, app, file, name)
	case len(rest) == 1 && r.Method == http.MethodGet:
		s.count("conf_get")
		s.writeConf(w, r, http.StatusOK, app, file, rest[0])
	case len(rest) == 1 && r.Method == http.MethodPost:
		s.count("conf_update")
		if !formBody(w, r) {
			return
		}
		s.mu.Lock()
		st, ok := s.confs[confKey(app, file, rest[0])]
		if ok {
			setArgs(st, r)
		}
		s.mu.Unlock()
		s.writeConf(w, r, http.StatusOK, app, file, rest[0])
	default:
		writeMessages(w, r, http.StatusMethodNotAllowed, "ERROR", "Method Not Allowed")
	}
}

func (s *Server) writeConf(w http.ResponseWriter, r *http.Request, status int, app, file, stanza string) {
	s.mu.Lock()
	st, ok := s.confs[confKey(app, file, stanza)]
	content := map[string]string{}
	for k, v := range st {
		content[k] = v
	}
	s.mu.Unlock()
	if !ok {
		writeMessages(w, r, http.StatusNotFound, "ERROR", "Could not find object id="+stanza)
		return
	}
	if !jsonMode(r) {
		writeAtom(w, "conf-"+file)
		return
	}
	id := "/servicesNS/nobody/" + url.PathEscape(app) + "/configs/conf-" + url.PathEscape(file) + "/" + url.PathEscape(stanza)
	writeJSON(w, status, map[string]any{
		"entry": []map[string]any{{
			"name":    stanza,
			"id":      "https://127.0.0.1:8089" + id,
			"links":   map[string]string{"alternate": id, "list": id, "edit": id, "remove": id},
			"acl":     map[string]any{"app": app, "owner": "nobody", "sharing": "app"},
			"content": content,
		}},
	})
}

// page applies the listing parameters count (default 30; 0 or -1: all) and
// offset, as splunkd's EAI listings do.
func page(r *http.Request, names []string) []string {
	count := 30
	if v := r.FormValue("count"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			count = n
		}
	}
	offset, _ := strconv.Atoi(r.FormValue("offset"))
	if offset > 0 {
		names = names[min(offset, len(names)):]
	}
	if count > 0 && len(names) > count {
		names = names[:count]
	}
	return names
}

// fieldFilter returns the content keys a request asked for with f=
// (nil: all), as splunkd's field filter does.
func fieldFilter(r *http.Request) []string {
	if f, ok := r.URL.Query()["f"]; ok {
		return f
	}
	return nil
}

func filterContent(content map[string]any, keep []string) map[string]any {
	if keep == nil {
		return content
	}
	out := map[string]any{}
	for k, v := range content {
		if slices.Contains(keep, k) {
			out[k] = v
		}
	}
	return out
}

func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "t", "yes", "y":
		return true
	}
	return false
}

package splunktest

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
)

// storagePasswords serves …/storage/passwords and …/storage/passwords/<entity>.
func (s *Server) storagePasswords(w http.ResponseWriter, r *http.Request, owner, app string, rest []string) {
	if owner == "-" || app == "-" {
		writeMessages(w, r, http.StatusBadRequest, "ERROR", "storage/passwords needs an explicit owner and app, not a wildcard")
		return
	}
	switch {
	case len(rest) == 0 && r.Method == http.MethodPost:
		s.count("passwords_create")
		if !formBody(w, r) || !onlyArgs(w, r, "name", "password", "realm") {
			return
		}
		name, pass := r.PostForm.Get("name"), r.PostForm.Get("password")
		if name == "" || pass == "" {
			writeMessages(w, r, http.StatusBadRequest, "ERROR", "The following required arguments are missing: name, password.")
			return
		}
		realm := r.PostForm.Get("realm")
		e := entity(realm, name)
		s.mu.Lock()
		creds := s.creds(app)
		_, exists := creds[e]
		if !exists {
			creds[e] = &credential{realm, name, pass}
		}
		s.mu.Unlock()
		if exists {
			writeMessages(w, r, http.StatusConflict, "ERROR", "An object with name="+e+" already exists")
			return
		}
		s.writeCredential(w, r, http.StatusCreated, app, e)
	case len(rest) == 0 && r.Method == http.MethodGet:
		s.count("passwords_list")
		s.mu.Lock()
		names := slices.Sorted(maps.Keys(s.creds(app)))
		s.mu.Unlock()
		s.writeCredential(w, r, http.StatusOK, app, page(r, names)...)
	case len(rest) == 1 && r.Method == http.MethodGet:
		s.count("passwords_get")
		s.mu.Lock()
		_, ok := s.creds(app)[rest[0]]
		s.mu.Unlock()
		if !ok {
			writeMessages(w, r, http.StatusNotFound, "ERROR", "Could not find object id="+rest[0])
			return
		}
		s.writeCredential(w, r, http.StatusOK, app, rest[0])
	case len(rest) == 1 && r.Method == http.MethodPost:
		s.count("passwords_update")
		if !formBody(w, r) || !onlyArgs(w, r, "password") {
			return
		}
		pass := r.PostForm.Get("password")
		if pass == "" {
			writeMessages(w, r, http.StatusBadRequest, "ERROR", "The following required arguments are missing: password.")
			return
		}
		s.mu.Lock()
		c, ok := s.creds(app)[rest[0]]
		if ok {
			c.secret = pass
		}
		s.mu.Unlock()
		if !ok {
			writeMessages(w, r, http.StatusNotFound, "ERROR", "Could not find object id="+rest[0])
			return
		}
		s.writeCredential(w, r, http.StatusOK, app, rest[0])
	case len(rest) == 1 && r.Method == http.MethodDelete:
		s.count("passwords_delete")
		s.mu.Lock()
		_, ok := s.creds(app)[rest[0]]
		delete(s.creds(app), rest[0])
		s.mu.Unlock()
		if !ok {
			writeMessages(w, r, http.StatusNotFound, "ERROR", "Could not find object id="+rest[0])
			return
		}
		s.writeCredential(w, r, http.StatusOK, app)
	default:
		writeMessages(w, r, http.StatusMethodNotAllowed, "ERROR", "Method Not Allowed")
	}
}

// setArgs sets in m the last value of each argument posted in r but
// output_mode and the except ones (the name of the entity being created):
// a POST to an EAI entity sets what it names and leaves the rest.
func setArgs(m map[string]string, r *http.Request, except ...string) {
	for k, v := range r.PostForm {
		if k != "output_mode" && !slices.Contains(except, k) && len(v) > 0 {
			m[k] = v[len(v)-1]
		}
	}
}

// onlyArgs answers 400 like splunkd's EAI handlers when the body carries
// an argument the endpoint does not take.
func onlyArgs(w http.ResponseWriter, r *http.Request, allowed ...string) bool {
	names := make([]string, 0, len(r.PostForm))
	for k := range r.PostForm {
		names = append(names, k)
	}
	sort.Strings(names)
next:
	for _, k := range names {
		if k == "output_mode" {
			continue
		}
		for _, a := range allowed {
			if k == a {
				continue next
			}
		}
		writeMessages(w, r, http.StatusBadRequest, "ERROR", "Argument \""+k+"\" is not supported by this handler.")
		return false
	}
	return true
}

func (s *Server) writeCredential(w http.ResponseWriter, r *http.Request, status int, app string, entities ...string) {
	if !jsonMode(r) {
		w.Header().Set("Content-Type", "text/xml; charset=UTF-8")
		w.WriteHeader(status)
		w.Write([]byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>passwords</title></feed>\n"))
		return
	}
	s.mu.Lock()
	entries := make([]map[string]any, 0, len(entities))
	for _, e := range entities {
		c := s.creds(app)[e]
		if c == nil {
			continue
		}
		id := "/servicesNS/nobody/" + url.PathEscape(app) + "/storage/passwords/" + url.PathEscape(e)
		entries = append(entries, map[string]any{
			"name":   e,
			"id":     "https://127.0.0.1:8089" + id,
			"author": "admin",
			"links":  map[string]string{"alternate": id, "list": id, "edit": id, "remove": id},
			"acl":    map[string]any{"app": app, "owner": "nobody", "sharing": "app"},
			"content": filterContent(map[string]any{
				"clear_password": c.secret,
				"encr_password":  "$7$" + randomHex(16),
				"password":       "********",
				"realm":          c.realm,
				"username":       c.user,
			}, fieldFilter(r)),
		})
	}
	s.mu.Unlock()
	writeJSON(w, status, map[string]any{
		"links":  map[string]string{"create": "/servicesNS/nobody/" + url.PathEscape(app) + "/storage/passwords/_new"},
		"origin": "https://127.0.0.1:8089/servicesNS/nobody/" + url.PathEscape(app) + "/storage/passwords",
		"paging": map[string]int{"total": len(entries), "perPage": 30, "offset": 0},
		"entry":  entries,
	})
}

// implicitInputArgs are accepted by every modular input endpoint.
var implicitInputArgs = []string{"disabled", "host", "index", "interval", "sourcetype", "start_by_shell"}

// editInput serves POST …/data/inputs/<scheme>/<name>.
func (s *Server) editInput(w http.ResponseWriter, r *http.Request, app, scheme, name string) {
	s.count("inputs_edit")
	if r.Method != http.MethodPost {
		writeMessages(w, r, http.StatusMethodNotAllowed, "ERROR", "splunktest: only POST (edit) is implemented on data/inputs")
		return
	}
	key := app + "/" + scheme + "/" + name
	s.mu.Lock()
	params, ok := s.inputs[key]
	allowed := append([]string{}, implicitInputArgs...)
	for k := range params {
		allowed = append(allowed, k)
	}
	allowed = append(allowed, s.schemes[scheme]...)
	s.mu.Unlock()
	if !ok {
		writeMessages(w, r, http.StatusNotFound, "ERROR", "Could not find object id="+name)
		return
	}
	if !formBody(w, r) || !onlyArgs(w, r, allowed...) {
		return
	}
	s.mu.Lock()
	setArgs(params, r)
	content := map[string]string{}
	for k, v := range params {
		content[k] = v
	}
	s.mu.Unlock()
	if !jsonMode(r) {
		writeAtom(w, scheme)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"entry": []map[string]any{{"name": name, "content": content}},
	})
}

package splunktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// kv serves /servicesNS/nobody/<app>/storage/collections/data/<coll>[/…].
func (s *Server) kv(w http.ResponseWriter, r *http.Request, owner, app string, rest []string) {
	if owner != "nobody" {
		writeMessages(w, r, http.StatusBadRequest, "ERROR", "splunktest: KV store data is shared; use owner nobody, not "+strconv.Quote(owner))
		return
	}
	s.mu.Lock()
	if s.kvInit != 0 {
		if s.kvInit > 0 {
			s.kvInit--
		}
		s.counts["kv_503"]++
		s.mu.Unlock()
		writeMessages(w, r, http.StatusServiceUnavailable, "ERROR", TextKVInitializing)
		return
	}
	exists := s.collection(app, rest[0], false) != nil
	s.mu.Unlock()
	if !exists {
		writeMessages(w, r, http.StatusNotFound, "ERROR", "Collection: "+rest[0]+" not found")
		return
	}
	coll := rest[0]
	switch {
	case len(rest) == 2 && rest[1] == "batch_save":
		s.batchSave(w, r, app, coll)
	case len(rest) == 2 && rest[1] == "batch_find":
		s.batchFind(w, r, app, coll)
	case len(rest) == 1 && r.Method == http.MethodGet:
		s.kvQuery(w, r, app, coll)
	case len(rest) == 1 && r.Method == http.MethodDelete:
		s.kvDelete(w, r, app, coll)
	case len(rest) == 2 && r.Method == http.MethodGet:
		s.count("kv_get")
		s.mu.Lock()
		d, ok := s.collection(app, coll, false)[rest[1]]
		var out map[string]any
		if ok {
			out = clone(d)
		}
		s.mu.Unlock()
		if !ok {
			writeMessages(w, r, http.StatusNotFound, "ERROR", "Could not find object.")
			return
		}
		writeJSON(w, http.StatusOK, out)
	default:
		writeMessages(w, r, http.StatusMethodNotAllowed, "ERROR", "splunktest: KV store call not implemented: "+r.Method+" "+strings.Join(rest, "/"))
	}
}

// jsonBody checks method POST and Content-Type application/json and reads
// the body; it answers the error itself and returns nil on failure.
func jsonBody(w http.ResponseWriter, r *http.Request) []byte {
	if r.Method != http.MethodPost {
		writeMessages(w, r, http.StatusMethodNotAllowed, "ERROR", "Method Not Allowed")
		return nil
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		writeMessages(w, r, http.StatusBadRequest, "ERROR", "Content-Type must be application/json")
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 512<<20))
	if err != nil {
		writeMessages(w, r, http.StatusBadRequest, "ERROR", err.Error())
		return nil
	}
	return body
}

func decodeArray(body []byte) ([]json.RawMessage, bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '[' {
		return nil, false
	}
	var a []json.RawMessage
	if json.Unmarshal(body, &a) != nil {
		return nil, false
	}
	return a, true
}

func decodeObject(raw []byte) (map[string]any, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil, false
	}
	return m, true
}

func (s *Server) batchSave(w http.ResponseWriter, r *http.Request, app, coll string) {
	s.count("batch_save")
	body := jsonBody(w, r)
	if body == nil {
		return
	}
	s.mu.Lock()
	maxDocs, maxSize := s.maxSave, s.maxSaveSize
	s.mu.Unlock()
	if maxSize > 0 && len(body) > maxSize {
		writeMessages(w, r, http.StatusBadRequest, "ERROR", fmt.Sprintf(TextTooLarge, (maxSize+(1<<20)-1)>>20))
		return
	}
	raws, ok := decodeArray(body)
	if !ok {
		writeMessages(w, r, http.StatusBadRequest, "ERROR", "Request body must be a JSON array of documents")
		return
	}
	s.mu.Lock()
	s.saveSizes = append(s.saveSizes, len(raws))
	s.mu.Unlock()
	if len(raws) > maxDocs {
		writeMessages(w, r, http.StatusBadRequest, "ERROR", fmt.Sprintf(TextTooManyDocs, maxDocs))
		return
	}
	docs := make([]map[string]any, len(raws))
	keys := make([]string, len(raws))
	for i, raw := range raws {
		d, ok := decodeObject(raw)
		if !ok {
			writeMessages(w, r, http.StatusBadRequest, "ERROR", fmt.Sprintf("Document %d is not a JSON object", i))
			return
		}
		switch k := d["_key"].(type) {
		case nil:
			keys[i] = randomHex(12)
		case string:
			if k == "" {
				writeMessages(w, r, http.StatusBadRequest, "ERROR", fmt.Sprintf("Document %d: _key must not be empty", i))
				return
			}
			keys[i] = k
		default:
			writeMessages(w, r, http.StatusBadRequest, "ERROR", fmt.Sprintf("Document %d: _key must be a string", i))
			return
		}
		d["_key"], d["_user"] = keys[i], "nobody"
		docs[i] = d
	}
	s.mu.Lock()
	c := s.collection(app, coll, false)
	for i, d := range docs {
		c[keys[i]] = d // batch_save replaces the whole document
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, keys)
}

func (s *Server) batchFind(w http.ResponseWriter, r *http.Request, app, coll string) {
	s.count("batch_find")
	body := jsonBody(w, r)
	if body == nil {
		return
	}
	raws, ok := decodeArray(body)
	if !ok || len(raws) == 0 {
		writeMessages(w, r, http.StatusBadRequest, "ERROR", "Request body must be a non-empty JSON array of queries")
		return
	}
	s.mu.Lock()
	s.findSizes = append(s.findSizes, len(raws))
	maxFind := s.maxFind
	s.mu.Unlock()
	if len(raws) > maxFind {
		writeMessages(w, r, http.StatusBadRequest, "ERROR", fmt.Sprintf(TextTooManyFinds, maxFind))
		return
	}
	type find struct {
		query       map[string]any
		limit, skip int
	}
	finds := make([]find, len(raws))
	for i, raw := range raws {
		obj, ok := decodeObject(raw)
		if !ok {
			writeMessages(w, r, http.StatusBadRequest, "ERROR", fmt.Sprintf("Query %d is not a JSON object", i))
			return
		}
		for k, v := range obj {
			switch k {
			case "query":
				q, ok := v.(map[string]any)
				if !ok {
					writeMessages(w, r, http.StatusBadRequest, "ERROR", fmt.Sprintf("Query %d: query must be a JSON object", i))
					return
				}
				finds[i].query = q
			case "limit", "skip":
				n, err := strconv.Atoi(fmt.Sprint(v))
				if err != nil || n < 0 {
					writeMessages(w, r, http.StatusBadRequest, "ERROR", fmt.Sprintf("Query %d: %s must be a non-negative integer", i, k))
					return
				}
				if k == "limit" {
					finds[i].limit = n
				} else {
					finds[i].skip = n
				}
			default:
				writeMessages(w, r, http.StatusBadRequest, "ERROR", fmt.Sprintf("splunktest: batch_find option %q not implemented", k))
				return
			}
		}
	}
	out := make([][]map[string]any, len(finds))
	for i, f := range finds {
		docs, err := s.find(app, coll, f.query, f.skip, f.limit)
		if err != nil {
			writeMessages(w, r, http.StatusBadRequest, "ERROR", err.Error())
			return
		}
		out[i] = docs
	}
	writeJSON(w, http.StatusOK, out)
}

// kvDelete serves DELETE …/data/<coll>[?query=<json>]: as splunkd, it
// deletes every matching document, every document without a query.
func (s *Server) kvDelete(w http.ResponseWriter, r *http.Request, app, coll string) {
	s.count("kv_delete")
	q, ok := urlQuery(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.collection(app, coll, false)
	var doomed []string
	for _, k := range slices.Sorted(maps.Keys(c)) {
		m, err := matches(c[k], q)
		if err != nil {
			writeMessages(w, r, http.StatusBadRequest, "ERROR", err.Error())
			return
		}
		if m {
			doomed = append(doomed, k)
		}
	}
	for _, k := range doomed {
		delete(c, k)
	}
	w.WriteHeader(http.StatusOK)
}

// urlQuery reads the query parameter (a JSON object) of a data request; it
// answers the error itself and returns false on failure.
func urlQuery(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	qs := r.URL.Query().Get("query")
	if qs == "" {
		return nil, true
	}
	q, ok := decodeObject([]byte(qs))
	if !ok {
		writeMessages(w, r, http.StatusBadRequest, "ERROR", "query must be a JSON object")
	}
	return q, ok
}

// kvQuery serves GET …/data/<coll>?query=<json>&limit=&skip=&fields=&sort=.
// fields is a comma-separated projection (_key always comes back); sort
// may only be _key ascending, the order the fake keeps.
func (s *Server) kvQuery(w http.ResponseWriter, r *http.Request, app, coll string) {
	s.count("kv_get")
	q, ok := urlQuery(w, r)
	if !ok {
		return
	}
	if srt := r.URL.Query().Get("sort"); srt != "" && srt != "_key" && srt != "_key:1" {
		writeMessages(w, r, http.StatusBadRequest, "ERROR", "splunktest: sort "+strconv.Quote(srt)+" not implemented (only _key ascending)")
		return
	}
	var fields []string
	if f := r.URL.Query().Get("fields"); f != "" {
		for _, name := range strings.Split(f, ",") {
			if name = strings.TrimSpace(name); name == "" || strings.Contains(name, ":") {
				writeMessages(w, r, http.StatusBadRequest, "ERROR", "splunktest: fields "+strconv.Quote(f)+" not implemented (only a list of names to include)")
				return
			}
			fields = append(fields, name)
		}
	}
	num := func(name string) (int, bool) {
		v := r.URL.Query().Get(name)
		if v == "" {
			return 0, true
		}
		n, err := strconv.Atoi(v)
		return n, err == nil && n >= 0
	}
	limit, ok1 := num("limit")
	skip, ok2 := num("skip")
	if !ok1 || !ok2 {
		writeMessages(w, r, http.StatusBadRequest, "ERROR", "limit and skip must be non-negative integers")
		return
	}
	docs, err := s.find(app, coll, q, skip, limit)
	if err != nil {
		writeMessages(w, r, http.StatusBadRequest, "ERROR", err.Error())
		return
	}
	if fields != nil {
		for i, d := range docs {
			p := map[string]any{"_key": d["_key"]}
			for _, f := range fields {
				if v, ok := d[f]; ok {
					p[f] = v
				}
			}
			docs[i] = p
		}
	}
	writeJSON(w, http.StatusOK, docs)
}

// find returns the documents matching q in _key order.
func (s *Server) find(app, coll string, q map[string]any, skip, limit int) ([]map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.collection(app, coll, false)
	out := []map[string]any{}
	// A query on _key alone uses the primary index, as the KV store does.
	if k, ok := q["_key"].(string); ok && len(q) == 1 {
		if d, ok := c[k]; ok && skip == 0 {
			out = append(out, clone(d))
		}
		return out, nil
	}
	for _, k := range slices.Sorted(maps.Keys(c)) {
		ok, err := matches(c[k], q)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		out = append(out, clone(c[k]))
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

// matches evaluates the subset of KV store query syntax the fake supports:
// field equality, the comparisons $lt, $lte, $gt, $gte and $ne, $and and
// $or. Other operators are refused rather than evaluated wrongly.
func matches(doc, q map[string]any) (bool, error) {
	for k, v := range q {
		switch k {
		case "$and", "$or":
			list, ok := v.([]any)
			if !ok || len(list) == 0 {
				return false, fmt.Errorf("%s needs a non-empty array", k)
			}
			anyMatch := false
			for _, sub := range list {
				sq, ok := sub.(map[string]any)
				if !ok {
					return false, fmt.Errorf("%s elements must be objects", k)
				}
				m, err := matches(doc, sq)
				if err != nil {
					return false, err
				}
				if k == "$and" && !m {
					return false, nil
				}
				anyMatch = anyMatch || m
			}
			if k == "$or" && !anyMatch {
				return false, nil
			}
		default:
			if strings.HasPrefix(k, "$") {
				return false, fmt.Errorf("splunktest: query operator %s not implemented", k)
			}
			if ops, ok := v.(map[string]any); ok {
				for op, operand := range ops {
					m, err := compare(doc[k], op, operand)
					if err != nil {
						return false, fmt.Errorf("field %s: %w", k, err)
					}
					if !m {
						return false, nil
					}
				}
				continue
			}
			dv, ok := doc[k]
			if !ok {
				return false, nil
			}
			a, _ := json.Marshal(dv)
			b, _ := json.Marshal(v)
			if !bytes.Equal(a, b) {
				return false, nil
			}
		}
	}
	return true, nil
}

// compare evaluates one comparison operator as the KV store (MongoDB) does
// for the types vtsync stores: numbers against numbers, strings against
// strings; a missing field or a value of another type does not match
// (except for $ne, which it does).
func compare(dv any, op string, operand any) (bool, error) {
	switch op {
	case "$lt", "$lte", "$gt", "$gte", "$ne":
	default:
		return false, fmt.Errorf("splunktest: query operator %s not implemented", op)
	}
	c, comparable := order(dv, operand)
	if op == "$ne" {
		return !comparable || c != 0, nil
	}
	if !comparable {
		return false, nil
	}
	switch op {
	case "$lt":
		return c < 0, nil
	case "$lte":
		return c <= 0, nil
	case "$gt":
		return c > 0, nil
	}
	return c >= 0, nil
}

// order compares two JSON values of the same kind (numbers or strings).
func order(a, b any) (int, bool) {
	num := func(v any) (float64, bool) {
		switch n := v.(type) {
		case json.Number:
			f, err := n.Float64()
			return f, err == nil
		case float64:
			return n, true
		}
		return 0, false
	}
	if x, ok := num(a); ok {
		y, ok := num(b)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	}
	x, ok1 := a.(string)
	y, ok2 := b.(string)
	if !ok1 || !ok2 {
		return 0, false
	}
	return strings.Compare(x, y), true
}

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// benchSessionKey is the session key the bench splunkd accepts.
const benchSessionKey = "bench-session-key-0123456789abcdef"

// splunkdServer serves the two splunkd endpoints a vtsync run uses at
// scale, on the wire as splunkd answers them: the streaming search export
// (output_mode=json: a UTF-8 BOM, then one {"preview":false,"offset":N,
// "result":{…}} line per row, as internal/splunktest writes it) and KV
// store batch_find/batch_save in app vtsync.
//
// It exists because internal/splunktest holds every export row in memory
// and answers each batch_find query by sorting and scanning the whole
// collection (O(queries × documents)): fine for tests, hours for 10⁵
// domains. This one streams rows from a generator and finds documents by
// _key, and is as strict as splunktest about what it accepts.
type splunkdServer struct {
	hs   *http.Server
	url  string
	rows func(emit func(fields map[string]string))

	mu   sync.Mutex
	docs map[string][]byte // _key → document JSON

	finds, saves, exports atomic.Int64
	findQueries           atomic.Int64
	exportBytes           atomic.Int64
}

const kvPath = "/servicesNS/nobody/vtsync/storage/collections/data/vtsync_domains/"

func startSplunkd(rows func(emit func(map[string]string))) (*splunkdServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &splunkdServer{rows: rows, docs: map[string][]byte{}}
	s.hs = &http.Server{Handler: s}
	s.url = "http://" + ln.Addr().String()
	go s.hs.Serve(ln)
	return s, nil
}

func (s *splunkdServer) Close() { s.hs.Close() }

// put stores a document under its _key, as batch_save would.
func (s *splunkdServer) put(key string, doc []byte) {
	s.mu.Lock()
	s.docs[key] = doc
	s.mu.Unlock()
}

func (s *splunkdServer) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.docs)
}

func (s *splunkdServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Splunk "+benchSessionKey {
		splunkError(w, http.StatusUnauthorized, "WARN", "call not properly authenticated")
		return
	}
	if r.Method != http.MethodPost {
		splunkError(w, http.StatusMethodNotAllowed, "ERROR", "Method Not Allowed")
		return
	}
	switch {
	case r.URL.Path == "/servicesNS/nobody/vtsync/search/jobs/export":
		s.export(w, r)
	case r.URL.Path == kvPath+"batch_find":
		s.batchFind(w, r)
	case r.URL.Path == kvPath+"batch_save":
		s.batchSave(w, r)
	default:
		splunkError(w, http.StatusNotFound, "ERROR", "Not Found")
	}
}

func (s *splunkdServer) export(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		splunkError(w, http.StatusBadRequest, "ERROR", err.Error())
		return
	}
	spl := strings.TrimLeft(r.PostForm.Get("search"), " \t\r\n")
	if !strings.HasPrefix(spl, "|") && !(len(spl) > 7 && strings.EqualFold(spl[:7], "search ")) {
		splunkError(w, http.StatusBadRequest, "FATAL", "Unknown search command.")
		return
	}
	if r.PostForm.Get("output_mode") != "json" {
		splunkError(w, http.StatusBadRequest, "ERROR", "output_mode=json expected")
		return
	}
	s.exports.Add(1)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	bw.Write([]byte{0xEF, 0xBB, 0xBF})
	offset := 0
	var line []byte
	s.rows(func(fields map[string]string) {
		line = exportLine(line[:0], offset, fields)
		bw.Write(line)
		offset++
	})
	bw.Flush()
	s.exportBytes.Add(cw.n)
}

// exportLine appends {"preview":false,"offset":N,"result":{…}}\n.
func exportLine(dst []byte, offset int, fields map[string]string) []byte {
	dst = fmt.Appendf(dst, `{"preview":false,"offset":%d,"result":`, offset)
	res, _ := json.Marshal(fields) // map keys sorted, as splunkd's are stable
	dst = append(dst, res...)
	return append(dst, "}\n"...)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (s *splunkdServer) batchFind(w http.ResponseWriter, r *http.Request) {
	s.finds.Add(1)
	var qs []map[string]json.RawMessage
	if !jsonArray(w, r, &qs) {
		return
	}
	if len(qs) == 0 || len(qs) > 1000 {
		splunkError(w, http.StatusBadRequest, "ERROR", fmt.Sprintf("Request exceeds API limits - see limits.conf for details. (Too many queries for a single batch query, max_queries_per_batch=%d)", 1000))
		return
	}
	s.findQueries.Add(int64(len(qs)))
	var out bytes.Buffer
	out.WriteByte('[')
	s.mu.Lock()
	for i, q := range qs {
		var sel map[string]string
		if len(q) != 1 || json.Unmarshal(q["query"], &sel) != nil || len(sel) != 1 || sel["_key"] == "" {
			s.mu.Unlock()
			splunkError(w, http.StatusBadRequest, "ERROR", fmt.Sprintf("Query %d: the bench splunkd answers only {\"query\":{\"_key\":…}}", i))
			return
		}
		if i > 0 {
			out.WriteByte(',')
		}
		out.WriteByte('[')
		out.Write(s.docs[sel["_key"]])
		out.WriteByte(']')
	}
	s.mu.Unlock()
	out.WriteByte(']')
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Write(out.Bytes())
}

func (s *splunkdServer) batchSave(w http.ResponseWriter, r *http.Request) {
	s.saves.Add(1)
	var docs []json.RawMessage
	if !jsonArray(w, r, &docs) {
		return
	}
	if len(docs) > 1000 {
		splunkError(w, http.StatusBadRequest, "ERROR", "Request exceeds API limits - see limits.conf for details. (Too many documents for a single batch save, max_documents_per_batch_save=1000)")
		return
	}
	keys := make([]string, len(docs))
	for i, d := range docs {
		var head struct {
			Key string `json:"_key"`
		}
		if json.Unmarshal(d, &head) != nil || head.Key == "" {
			splunkError(w, http.StatusBadRequest, "ERROR", fmt.Sprintf("Document %d: _key must be a non-empty string", i))
			return
		}
		keys[i] = head.Key
	}
	s.mu.Lock()
	for i, d := range docs {
		s.docs[keys[i]] = d
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(keys)
}

func jsonArray(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		splunkError(w, http.StatusBadRequest, "ERROR", "Content-Type must be application/json")
		return false
	}
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		splunkError(w, http.StatusBadRequest, "ERROR", "Request body must be a JSON array")
		return false
	}
	return true
}

func splunkError(w http.ResponseWriter, status int, typ, text string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"messages": []map[string]string{{"type": typ, "text": text}}})
}

package splunkd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vtsync/vtsync/internal/jsonerr"
	"github.com/vtsync/vtsync/internal/kind"
)

// Limits of splunkd's KV store (limits.conf [kvstore]): 1000 documents per
// batch_save before Splunk 9.1 (50000 since; the lower value works
// everywhere) and 1000 queries per batch_find (max_queries_per_batch).
const (
	MaxBatchSave = 1000
	MaxBatchFind = 1000
)

// ErrKVNotReady is wrapped by KV store errors when splunkd kept answering
// 503 (KV Store is initializing) until the context's deadline.
var ErrKVNotReady = errors.New("the KV store is not ready")

// KVStore is a KV store collection in the client's app (owner nobody),
// holding the records of one indicator kind keyed by _key, the normalised
// indicator.
type KVStore struct {
	c        *Client
	coll     string
	requests atomic.Int64

	mu    sync.Mutex
	batch int // documents per batch_save; shrinks when splunkd says too many

	purgePage, purgePages int // MaxPurgePage, MaxPurgePages (tests lower them)
}

// KVStore returns the collection named collection.
func (c *Client) KVStore(collection string) *KVStore {
	return &KVStore{c: c, coll: collection, batch: MaxBatchSave, purgePage: MaxPurgePage, purgePages: MaxPurgePages}
}

// Requests returns the number of HTTP requests sent so far, retries
// included (for the run summary).
func (k *KVStore) Requests() int { return int(k.requests.Load()) }

func (k *KVStore) path(op string) string {
	return k.c.nsPath("storage", "collections", "data", escapeSegment(k.coll), op)
}

// Get returns the stored records of kind kd of those keys that have one,
// keyed by key. It sends one batch_find request per MaxBatchFind distinct
// keys, each query matching one _key.
func (k *KVStore) Get(ctx context.Context, kd kind.Kind, domains []string) (map[string]kind.Record, error) {
	distinct := make([]string, 0, len(domains))
	seen := make(map[string]struct{}, len(domains))
	for _, d := range domains {
		if _, ok := seen[d]; ok || d == "" {
			continue
		}
		seen[d] = struct{}{}
		distinct = append(distinct, d)
	}
	type query struct {
		Query struct {
			Key string `json:"_key"`
		} `json:"query"`
	}
	out := make(map[string]kind.Record)
	for start := 0; start < len(distinct); start += MaxBatchFind {
		chunk := distinct[start:min(start+MaxBatchFind, len(distinct))]
		qs := make([]query, len(chunk))
		for i, d := range chunk {
			qs[i].Query.Key = d
		}
		body, err := json.Marshal(qs)
		if err != nil {
			return nil, err
		}
		resp, err := k.post(ctx, "batch_find", body)
		if err != nil {
			return nil, err
		}
		if err := k.readFound(kd, resp, chunk, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readFound adds to out the records of a batch_find answer to one query
// per key, decoding the answer in one pass.
func (k *KVStore) readFound(kd kind.Kind, answer []byte, keys []string, out map[string]kind.Record) error {
	var results [][]json.RawMessage
	if err := json.Unmarshal(answer, &results); err != nil {
		return fmt.Errorf("KV store %s batch_find: the answer is not a list of result lists: %s", k.coll, jsonerr.Describe(err))
	}
	if len(results) != len(keys) {
		return fmt.Errorf("KV store %s batch_find: %d result arrays for %d queries", k.coll, len(results), len(keys))
	}
	for i, docs := range results {
		for _, doc := range docs {
			rec, err := kd.Decode(doc)
			if err != nil {
				// A document this version cannot read is treated as
				// missing: the key is enriched and the record rewritten.
				k.c.log.Warn("KV store record unreadable; enriching again", "collection", k.coll, "key", keys[i], "err", err)
				continue
			}
			out[keys[i]] = rec
			break
		}
	}
	return nil
}

// Save upserts recs with batch_save, at most MaxBatchSave documents per
// request. When splunkd refuses a batch as too many documents or too large
// (limits.conf max_documents_per_batch_save, max_size_per_batch_save_mb)
// the batch is split in halves and retried; a single record that is too
// large is an error naming its key.
func (k *KVStore) Save(ctx context.Context, recs []kind.Record) error {
	for _, r := range recs {
		if r.ID() == "" {
			return fmt.Errorf("KV store %s: a record has no _key", k.coll)
		}
	}
	for len(recs) > 0 {
		k.mu.Lock()
		n := min(k.batch, len(recs))
		k.mu.Unlock()
		err := k.saveChunk(ctx, recs[:n])
		var e *Error
		if errors.As(err, &e) && e.Status == http.StatusBadRequest && isBatchLimit(e) {
			if n == 1 {
				return fmt.Errorf("KV store %s: splunkd refused the record of %q as too large for one batch_save (limits.conf [kvstore] max_size_per_batch_save_mb): %w", k.coll, recs[0].ID(), err)
			}
			k.mu.Lock()
			k.batch = min(k.batch, n/2)
			k.mu.Unlock()
			k.c.log.Info("KV store batch_save refused; sending fewer documents at a time", "collection", k.coll, "documents", n, "next", n/2)
			continue
		}
		if err != nil {
			return err
		}
		recs = recs[n:]
	}
	return nil
}

func (k *KVStore) saveChunk(ctx context.Context, recs []kind.Record) error {
	body, err := json.Marshal(recs)
	if err != nil {
		return fmt.Errorf("KV store %s: encoding records: %w", k.coll, err)
	}
	resp, err := k.post(ctx, "batch_save", body)
	if err != nil {
		return err
	}
	var keys []string
	if err := json.Unmarshal(resp, &keys); err != nil {
		return fmt.Errorf("KV store %s batch_save: the answer is not a list of keys: %s", k.coll, jsonerr.Describe(err))
	}
	if len(keys) != len(recs) {
		return fmt.Errorf("KV store %s batch_save: saved %d of %d documents", k.coll, len(keys), len(recs))
	}
	return nil
}

func isBatchLimit(e *Error) bool {
	return e.Contains("Too many documents") || e.Contains("max_documents_per_batch_save") ||
		e.Contains("max_size_per_batch_save_mb")
}

// MaxPurgePage is the number of records one retention step reads and
// deletes (max_rows_per_query is 50000; a smaller page keeps each request
// short), and MaxPurgePages the steps one Purge takes at most: what is left
// is deleted by the next run.
const (
	MaxPurgePage  = 1000
	MaxPurgePages = 50
)

// Purge deletes the records not refreshed since before (enriched_time
// earlier than before), in bounded requests: it reads the keys of at most
// MaxPurgePage such records in _key order (GET with a query, fields=_key,
// sort and limit), then deletes exactly those with one DELETE whose query
// adds _key <= the last key read, and repeats, MaxPurgePages times at most.
// It returns the number of records deleted. A record refreshed between the
// read and the delete no longer matches and stays (it is counted anyway).
func (k *KVStore) Purge(ctx context.Context, before time.Time) (int, error) {
	stale := map[string]any{"enriched_time": map[string]any{"$lt": before.Unix()}}
	deleted := 0
	for range k.purgePages {
		q, err := json.Marshal(stale)
		if err != nil {
			return deleted, err
		}
		resp, err := k.send(ctx, http.MethodGet, "", url.Values{"query": {string(q)}, "fields": {"_key"},
			"sort": {"_key:1"}, "limit": {strconv.Itoa(k.purgePage)}, "output_mode": {"json"}}, nil)
		if err != nil {
			return deleted, err
		}
		var page []struct {
			Key string `json:"_key"`
		}
		if err := json.Unmarshal(resp, &page); err != nil {
			return deleted, fmt.Errorf("KV store %s query: answer is not a JSON array of documents: %v", k.coll, err)
		}
		if len(page) == 0 {
			return deleted, nil
		}
		last := page[len(page)-1].Key
		del, err := json.Marshal(map[string]any{"$and": []any{stale, map[string]any{"_key": map[string]any{"$lte": last}}}})
		if err != nil {
			return deleted, err
		}
		if _, err := k.send(ctx, http.MethodDelete, "", url.Values{"query": {string(del)}}, nil); err != nil {
			return deleted, err
		}
		deleted += len(page)
		if len(page) < k.purgePage {
			return deleted, nil
		}
	}
	return deleted, nil
}

// Collections is the record store of a run in the KV store: the records
// of each kind in that kind's collection.
type Collections struct {
	c     *Client
	names map[string]string // kind name → collection, where not the kind's own
	mu    sync.Mutex
	colls map[string]*KVStore
}

// Collections returns the store that keeps each kind's records in the
// collection names gives for the kind's name, or else in the kind's own
// (kind.Collection).
func (c *Client) Collections(names map[string]string) *Collections {
	return &Collections{c: c, names: names, colls: map[string]*KVStore{}}
}

// For returns the collection of kind k.
func (s *Collections) For(k kind.Kind) *KVStore {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := s.names[k.Name()]
	if name == "" {
		name = k.Collection()
	}
	kv := s.colls[name]
	if kv == nil {
		kv = s.c.KVStore(name)
		s.colls[name] = kv
	}
	return kv
}

// Get returns the stored records of kind k for those of keys that have one.
func (s *Collections) Get(ctx context.Context, k kind.Kind, keys []string) (map[string]kind.Record, error) {
	return s.For(k).Get(ctx, k, keys)
}

// Save upserts records of kind k in k's collection.
func (s *Collections) Save(ctx context.Context, k kind.Kind, recs []kind.Record) error {
	return s.For(k).Save(ctx, recs)
}

// Purge deletes kind k's records not refreshed since before (KVStore.Purge).
func (s *Collections) Purge(ctx context.Context, k kind.Kind, before time.Time) (int, error) {
	return s.For(k).Purge(ctx, before)
}

// Requests returns the HTTP requests sent to every collection so far.
func (s *Collections) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, kv := range s.colls {
		n += kv.Requests()
	}
	return n
}

// post sends one KV store POST to op (batch_save, batch_find).
func (k *KVStore) post(ctx context.Context, op string, body []byte) ([]byte, error) {
	return k.send(ctx, http.MethodPost, op, nil, body)
}

// send sends one KV store request to the collection's data endpoint (op
// "") or one of its operations, retrying 503 answers (the KV store is
// still starting after a splunkd restart) with capped exponential backoff
// until ctx's deadline, or the client's ReadyTimeout without one.
func (k *KVStore) send(ctx context.Context, method, op string, query url.Values, body []byte) ([]byte, error) {
	path := k.c.nsPath("storage", "collections", "data", escapeSegment(k.coll))
	if op != "" {
		path = k.path(op)
	} else {
		op = strings.ToLower(method)
	}
	r := request{
		method:      method,
		path:        path,
		query:       query,
		json:        body,
		counter:     func() { k.requests.Add(1) },
		maxBodySize: 256 << 20,
	}
	deadline, hasDeadline := ctx.Deadline()
	var first time.Time
	var last *Error // the last 503, once retrying
	wait := k.c.retryBase
	for attempt := 1; ; attempt++ {
		resp, _, err := k.c.do(ctx, r)
		var e *Error
		if last != nil && err != nil && ctx.Err() != nil {
			// The deadline ran out during a retry: report the 503s, not
			// the cancelled request.
			return nil, fmt.Errorf("KV store %s %s: %w after %d attempts (splunkd still answered 503: %s); the next run retries: %w",
				k.coll, op, ErrKVNotReady, attempt, firstText(last), ctx.Err())
		}
		if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable {
			if e != nil && e.Status == http.StatusNotFound {
				e.Hint = fmt.Sprintf("no KV store collection %q in app %q: check the collection parameter and that the app's collections.conf defines it", k.coll, k.c.app)
			}
			if err != nil {
				return nil, k.c.redact(fmt.Errorf("KV store %s %s: %w", k.coll, op, err))
			}
			return resp, nil
		}
		last = e
		now := time.Now()
		if first.IsZero() {
			first = now
			if !hasDeadline {
				deadline = now.Add(k.c.readyTimeout)
			}
		}
		if now.Add(wait).After(deadline) {
			return nil, fmt.Errorf("KV store %s %s: %w after %d attempts over %s (splunkd still answers 503); it is starting or restarting — the next run retries, and if this persists check the KV store status (splunk show kvstore-status) and mongod.log: %w",
				k.coll, op, ErrKVNotReady, attempt, now.Sub(first).Round(time.Millisecond), e)
		}
		if attempt == 1 {
			k.c.log.Info("KV store not ready (503); retrying", "collection", k.coll, "splunkd", firstText(e))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("KV store %s %s: %w (splunkd still answered 503: %s); the next run retries: %w", k.coll, op, ErrKVNotReady, firstText(e), ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, 16*k.c.retryBase)
	}
}

func firstText(e *Error) string {
	for _, m := range e.Messages {
		if t := strings.TrimSpace(m.Text); t != "" {
			return t
		}
	}
	return http.StatusText(e.Status)
}

// Package kind defines what an indicator kind is (domain, IP address, file
// hash): how a raw value becomes a key or a rejection, where VirusTotal
// answers for a key, and how an answer becomes the record a KV collection
// holds. The pipeline knows kinds only through this interface; each kind
// is one package under internal/kind that registers itself.
package kind

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// Record is one document of a kind's collection. Concrete records are
// structs with the contract's JSON field names; fields VirusTotal did not
// provide are omitted (null in Splunk), never written as zero.
type Record interface {
	// ID is the document's _key: the normalised indicator.
	ID() string
	// Found is false for a negative record ("VirusTotal does not know it").
	Found() bool
	// Enriched is when vtsync fetched the answer, in epoch seconds.
	Enriched() int64
}

// Field is one field of a kind's record contract, in contract order.
type Field struct {
	Name string
	// Type is the collections.conf field type: string, number or bool; or
	// array, a JSON array of strings, which collections.conf cannot type:
	// it is left undeclared, the KV store keeps the array and a lookup
	// returns it as a multivalue field.
	Type string
	// Accelerated fields get a collections.conf accelerated_fields entry.
	Accelerated bool
}

// Kind is one indicator kind. Implementations are stateless and safe for
// concurrent use.
type Kind interface {
	// Name is the kind's name in configuration and summaries: "domain",
	// "ip", "file".
	Name() string
	// Collection is the default KV collection and lookup definition name.
	Collection() string
	// Normalize turns a raw field value into the key looked up, or returns
	// a non-empty reason why it never reaches VirusTotal.
	Normalize(raw string) (key, reason string)
	// Path is the VirusTotal API v3 path for key, relative to the API base
	// (for example "domains/example.com"), already escaped.
	Path(key string) string
	// Map turns VirusTotal's answer for key (the whole response body,
	// {"data": {...}}) into a found record fetched at now.
	Map(key string, body []byte, now time.Time) (Record, error)
	// NotFound is the negative record for key fetched at now.
	NotFound(key string, now time.Time) Record
	// Decode reads one stored document of this kind, leniently as to
	// notation (numbers as 1.7e+09 or "17", booleans as 1/0 or "true",
	// a single string for a list). A document it still cannot read is an
	// error; the caller treats the key as missing, so it is looked up again
	// and the document rewritten.
	Decode(doc []byte) (Record, error)
	// Fields is the record contract, in order, _key first.
	Fields() []Field
	// Param is the input parameter that names the field the kind's
	// candidates are read from.
	Param() Param
}

// Param is a kind's field parameter: the inputs.conf parameter (and YAML
// key, under source.splunk and source.file) naming the field that holds
// the kind's candidates. Configuration, the scheme and the spec list every
// registered kind's Param; nothing else names them.
type Param struct {
	// Name is the parameter's name: "domain_field", "ip_field".
	Name        string
	Title       string
	Description string
	// Default is the inputs.conf default: a field name, or "" to collect
	// none of the kind unless the parameter is set.
	Default string
	// Example is a typical field name, for messages.
	Example string
	// Holds says what the field's values are, for messages: "host names",
	// "IP addresses".
	Holds string
	// EventFields are the field names an events file is read under when
	// the parameter names none, in order (the first with a value counts).
	EventFields []string
	// Order places the parameter among the kinds' parameters (lowest
	// first), so that the parameter table keeps its order.
	Order int
}

var (
	mu    sync.RWMutex
	kinds = map[string]Kind{}
)

// Register makes k available by name. It panics on a duplicate name: two
// packages claiming one kind is a programming error.
func Register(k Kind) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := kinds[k.Name()]; dup {
		panic(fmt.Sprintf("kind: %q registered twice", k.Name()))
	}
	for _, o := range kinds {
		if p := k.Param().Name; p != "" && o.Param().Name == p {
			panic(fmt.Sprintf("kind: %q and %q both read parameter %s", o.Name(), k.Name(), p))
		}
	}
	kinds[k.Name()] = k
}

// Lookup returns the kind registered under name.
func Lookup(name string) (Kind, bool) {
	mu.RLock()
	defer mu.RUnlock()
	k, ok := kinds[name]
	return k, ok
}

// ByParam returns every registered kind in the order of their field
// parameters (Param.Order, then name).
func ByParam() []Kind {
	out := All()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Param().Order < out[j].Param().Order })
	return out
}

// OfParam returns the registered kind whose field parameter is name.
func OfParam(name string) (Kind, bool) {
	for _, k := range All() {
		if k.Param().Name == name {
			return k, true
		}
	}
	return nil, false
}

// All returns every registered kind, sorted by name.
func All() []Kind {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Kind, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

package localstore

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/vtsync/vtsync/internal/kind"
)

// Each calls fn for every record of kind k in _key order (byte order),
// inside one read transaction, and stops at fn's first error, which it
// returns. A record k cannot decode is an error naming it.
func (s *Store) Each(k kind.Kind, fn func(kind.Record) error) error {
	return s.guard(func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(k.Collection()))
			if b == nil {
				return nil
			}
			c := b.Cursor()
			for key, v := c.First(); key != nil; key, v = c.Next() {
				r, err := k.Decode(v)
				if err != nil {
					return fmt.Errorf("store %s: %s record %q: %w", s.path, k.Name(), key, err)
				}
				if err := fn(r); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// ExportKindCSV writes every record of kind k as a Splunk CSV lookup
// table, in _key order: a header row of k's record fields (k.Fields()),
// then one row per record, with the cells ExportCSV documents: a field the
// record lacks is empty, a bool is 1 or 0, a list is its values joined by
// newlines, a number is written in full (no exponent). It returns the
// number of records written.
func (s *Store) ExportKindCSV(w io.Writer, k kind.Kind) (int, error) {
	fields := k.Fields()
	header := make([]string, len(fields))
	for i, f := range fields {
		header[i] = f.Name
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return 0, err
	}
	n := 0
	row := make([]string, len(fields))
	err := s.Each(k, func(r kind.Record) error {
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("%s record %q: %w", k.Name(), r.ID(), err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			return fmt.Errorf("%s record %q: %w", k.Name(), r.ID(), err)
		}
		if _, ok := doc["_key"]; !ok {
			doc["_key"] = r.ID()
		}
		for i, name := range header {
			row[i] = csvCell(doc[name])
		}
		n++
		return cw.Write(row)
	})
	if err != nil {
		return n, err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, fmt.Errorf("writing CSV: %w", err)
	}
	return n, nil
}

// csvCell encodes one JSON value of a record as a lookup table cell.
func csvCell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case bool:
		if v {
			return "1"
		}
		return "0"
	case json.Number:
		return v.String()
	case string:
		return v
	case []any:
		parts := make([]string, 0, len(v))
		for _, x := range v {
			parts = append(parts, csvCell(x))
		}
		return strings.Join(parts, "\n")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	kjson "sigs.k8s.io/json"

	"github.com/akssec/akssec/internal/source"
)

// A structural scanner splits large JSON files (kubectl List output, az list
// output) into their elements without decoding them: the elements are decoded
// once, by the typed decoder, which also validates them. Any syntax problem
// sends the file to the strict path (splitJSONStrict), which reports it with
// its line.

var errScan = errors.New("not well-formed")

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// skipValue returns the offset just past the JSON value starting at i.
func skipValue(data []byte, i int) (int, error) {
	if i >= len(data) {
		return 0, errScan
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				end, err := skipString(data, i)
				if err != nil {
					return 0, err
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errScan
	default:
		start := i
		for i < len(data) && !isSpace(data[i]) && data[i] != ',' && data[i] != '}' && data[i] != ']' {
			i++
		}
		if !json.Valid(data[start:i]) {
			return 0, errScan
		}
		return i, nil
	}
}

func skipString(data []byte, i int) (int, error) {
	i++ // opening quote
	for i < len(data) {
		switch data[i] {
		case '\\':
			i += 2
			continue
		case '"':
			return i + 1, nil
		}
		i++
	}
	return 0, errScan
}

// scanArray returns the spans of the elements of the array at data[i].
func scanArray(data []byte, i int, fn func(start, end int) error) (int, error) {
	i++ // [
	i = skipSpace(data, i)
	if i < len(data) && data[i] == ']' {
		return i + 1, nil
	}
	for {
		i = skipSpace(data, i)
		end, err := skipValue(data, i)
		if err != nil {
			return 0, err
		}
		if err := fn(i, end); err != nil {
			return 0, err
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			return 0, errScan
		}
		switch data[i] {
		case ',':
			i++
		case ']':
			return i + 1, nil
		default:
			return 0, errScan
		}
	}
}

// splitJSONFast is splitJSON's fast path; ok is false when the file must go
// to the strict path.
func splitJSONFast(file string, data []byte, lim Limits) (docs []rawDoc, ok bool, err error) {
	lines := source.NewLines(data)
	i := skipSpace(data, 0)
	if i < len(data) && data[i] == 0xEF { // BOM
		return nil, false, nil
	}
	item := func(start, end int) error {
		if len(docs) >= lim.MaxDocuments {
			return fmt.Errorf("more than %d items", lim.MaxDocuments)
		}
		docs = append(docs, rawDoc{Loc: source.Location{File: file, Line: lines.At(start)}, JSON: data[start:end:end]})
		return nil
	}
	var end int
	switch {
	case i < len(data) && data[i] == '[':
		end, err = scanArray(data, i, item)
	case i < len(data) && data[i] == '{':
		var kind []byte
		isList := false
		j := skipSpace(data, i+1)
		if j < len(data) && data[j] == '}' {
			end = j + 1
			break
		}
		for {
			j = skipSpace(data, j)
			if j >= len(data) || data[j] != '"' {
				return nil, false, nil
			}
			kend, kerr := skipString(data, j)
			if kerr != nil {
				return nil, false, nil
			}
			key := data[j:kend]
			j = skipSpace(data, kend)
			if j >= len(data) || data[j] != ':' {
				return nil, false, nil
			}
			j = skipSpace(data, j+1)
			if bytes.Equal(key, []byte(`"items"`)) && j < len(data) && data[j] == '[' {
				isList = true
				j, err = scanArray(data, j, item)
			} else {
				var vend int
				vend, err = skipValue(data, j)
				if err == nil && !json.Valid(data[j:vend]) {
					err = errScan
				}
				if bytes.Equal(key, []byte(`"kind"`)) {
					kind = data[j:vend]
				}
				j = vend
			}
			if err != nil {
				break
			}
			j = skipSpace(data, j)
			if j >= len(data) {
				return nil, false, nil
			}
			if data[j] == ',' {
				j++
				continue
			}
			if data[j] != '}' {
				return nil, false, nil
			}
			end = j + 1
			break
		}
		if err == nil {
			var k string
			if isList && json.Unmarshal(kind, &k) == nil && strings.HasSuffix(k, "List") {
				if trailingOK(data, end) {
					return docs, true, nil
				}
				return nil, false, nil
			}
			// Not a List: the whole object is one document.
			if !trailingOK(data, end) {
				return nil, false, nil
			}
			return []rawDoc{{Loc: source.Location{File: file, Line: lines.At(i)}, JSON: data[i:end:end]}}, true, nil
		}
	default:
		return nil, false, nil
	}
	if err != nil {
		if errors.Is(err, errScan) {
			return nil, false, nil
		}
		return nil, true, err
	}
	if !trailingOK(data, end) {
		return nil, false, nil
	}
	return docs, true, nil
}

func trailingOK(data []byte, end int) bool { return skipSpace(data, end) == len(data) }

// readHeader reads apiVersion, kind and metadata.{name,namespace,
// generateName} with the structural scanner, as the API server does:
// keys case-sensitive, the last duplicate wins. Values that are not plain
// strings (escapes, null, other types) go through the decoder, which also
// words the type errors.
func readHeader(b []byte) (header, error) {
	var h header
	ok := scanObject(b, func(key, val []byte) bool {
		switch string(key) {
		case "apiVersion":
			return plainString(val, &h.APIVersion)
		case "kind":
			return plainString(val, &h.Kind)
		case "metadata":
			if len(val) > 0 && val[0] == 'n' {
				return false
			}
			return scanObject(val, func(k, v []byte) bool {
				switch string(k) {
				case "name":
					return plainString(v, &h.Metadata.Name)
				case "namespace":
					return plainString(v, &h.Metadata.Namespace)
				case "generateName":
					return plainString(v, &h.Metadata.GenerateName)
				}
				return true
			})
		}
		return true
	})
	if ok {
		return h, nil
	}
	h = header{}
	err := kjson.UnmarshalCaseSensitivePreserveInts(b, &h)
	return h, err
}

// scanObject calls fn with each key (unquoted, without escapes) and raw
// value of the JSON object b; false when b is not a simple object or fn
// says so.
func scanObject(b []byte, fn func(key, val []byte) bool) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return false
		}
		kend, err := skipString(b, i)
		if err != nil {
			return false
		}
		key := b[i+1 : kend-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return false
		}
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		vend, err := skipValue(b, i)
		if err != nil || !fn(key, b[i:vend]) {
			return false
		}
		i = skipSpace(b, vend)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return true
		default:
			return false
		}
	}
}

// plainString sets *dst to the JSON string v when it has no escapes.
func plainString(v []byte, dst *string) bool {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' || bytes.IndexByte(v, '\\') >= 0 {
		return false
	}
	*dst = string(v[1 : len(v)-1])
	return true
}

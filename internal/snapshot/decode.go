package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"

	"github.com/akssec/akssec/internal/source"
)

// Limits bound what the loader accepts, so a hostile snapshot cannot exhaust
// memory or time. Zero fields take the defaults of DefaultLimits.
type Limits struct {
	MaxFileBytes int64 // one file
	MaxFiles     int   // files in the whole snapshot
	MaxDocuments int   // documents or list items in one file
	MaxDepth     int   // nesting of maps and lists
}

// DefaultLimits are generous for real clusters (the largest generated
// snapshot is far below them) and small enough to stop a bomb.
var DefaultLimits = Limits{MaxFileBytes: 256 << 20, MaxFiles: 100_000, MaxDocuments: 200_000, MaxDepth: 100}

func (l Limits) withDefaults() Limits {
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultLimits.MaxFileBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultLimits.MaxFiles
	}
	if l.MaxDocuments <= 0 {
		l.MaxDocuments = DefaultLimits.MaxDocuments
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	return l
}

// rawDoc is one JSON value cut out of a file together with where it starts.
type rawDoc struct {
	Loc  source.Location
	JSON []byte
}

// isJSON reports whether data is a JSON text (its first non-blank byte opens
// an object or an array). YAML files are decoded the way kubectl does.
func isJSON(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

// splitJSON returns the top-level value of a JSON file. When the value is an
// array (az list output) or a Kubernetes List (an object whose kind ends in
// "List" with an items array), each element becomes its own document with its
// own line, so errors and findings point at the element.
func splitJSON(file string, data []byte, lim Limits) ([]rawDoc, error) {
	if d := jsonDepth(data); d > lim.MaxDepth {
		return nil, fmt.Errorf("nesting depth %d exceeds the limit of %d", d, lim.MaxDepth)
	}
	if docs, ok, err := splitJSONFast(file, data, lim); ok {
		return docs, err
	}
	return splitJSONStrict(file, data, lim)
}

// splitJSONStrict splits with the standard decoder, which reports the line
// of any syntax error.
func splitJSONStrict(file string, data []byte, lim Limits) ([]rawDoc, error) {
	lines := source.NewLines(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(lines, dec, err)
	}
	var items []rawDoc
	readArray := func() error {
		for dec.More() {
			if len(items) >= lim.MaxDocuments {
				return fmt.Errorf("more than %d items", lim.MaxDocuments)
			}
			off := skipBlank(data, int(dec.InputOffset()))
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return jsonError(lines, dec, err)
			}
			items = append(items, rawDoc{Loc: source.Location{File: file, Line: lines.At(off)}, JSON: raw})
		}
		_, err := dec.Token() // closing ]
		return err
	}
	switch tok {
	case json.Delim('['):
		if err := readArray(); err != nil {
			return nil, err
		}
		return items, trailing(lines, dec)
	case json.Delim('{'):
	default:
		return nil, fmt.Errorf("line 1: expected a JSON object or array")
	}
	// An object: keep its fields; expand items when it is a List.
	fields := map[string]json.RawMessage{}
	var order []string
	sawItems := false
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, jsonError(lines, dec, err)
		}
		key, _ := kt.(string)
		if key == "items" {
			off := skipBlank(data, int(dec.InputOffset()))
			if off < len(data) && data[off] == '[' {
				if _, err := dec.Token(); err != nil {
					return nil, jsonError(lines, dec, err)
				}
				if err := readArray(); err != nil {
					return nil, err
				}
				sawItems = true
				continue
			}
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, jsonError(lines, dec, err)
		}
		fields[key] = raw
		order = append(order, key)
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonError(lines, dec, err)
	}
	if err := trailing(lines, dec); err != nil {
		return nil, err
	}
	var kind string
	_ = json.Unmarshal(fields["kind"], &kind)
	if sawItems && strings.HasSuffix(kind, "List") {
		return items, nil
	}
	// Not a List: re-assemble the object as it was.
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range order {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(fields[k])
	}
	if sawItems {
		if len(order) > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`"items":[`)
		for i, it := range items {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(it.JSON)
		}
		buf.WriteByte(']')
	}
	buf.WriteByte('}')
	return []rawDoc{{Loc: source.Location{File: file, Line: lines.At(skipBlank(data, 0))}, JSON: buf.Bytes()}}, nil
}

func trailing(lines *source.Lines, dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return fmt.Errorf("line %d: unexpected data after the top-level JSON value", lines.At(int(dec.InputOffset())))
		}
		return jsonError(lines, dec, err)
	}
	return nil
}

func jsonError(lines *source.Lines, dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("line %d: invalid JSON: %v", lines.At(int(se.Offset)), se)
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("line %d: invalid JSON: unexpected end of file", lines.At(int(dec.InputOffset())))
	}
	return fmt.Errorf("line %d: invalid JSON: %v", lines.At(int(dec.InputOffset())), err)
}

func skipBlank(data []byte, off int) int {
	for off < len(data) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

// jsonDepth returns the deepest nesting of objects and arrays in data,
// ignoring brackets inside strings. encoding/json would accept up to 10,000.
func jsonDepth(data []byte) int {
	depth, maxDepth, inStr, esc := 0, 0, false, false
	for _, b := range data {
		switch {
		case inStr:
			if esc {
				esc = false
			} else if b == '\\' {
				esc = true
			} else if b == '"' {
				inStr = false
			}
		case b == '"':
			inStr = true
		case b == '{' || b == '[':
			depth++
			if depth > maxDepth {
				maxDepth = depth
			}
		case b == '}' || b == ']':
			depth--
		}
	}
	return maxDepth
}

// splitYAML decodes every document of a YAML stream. Each document is
// converted to JSON exactly as kubectl converts it (sigs.k8s.io/yaml, YAML 1.1
// scalars); the YAML 1.2 node tree is only used to find document and item
// lines and to bound nesting. Empty documents (comments only) are skipped,
// as kubectl skips them. A Kubernetes List document becomes its items.
func splitYAML(file string, data []byte, lim Limits) ([]rawDoc, error) {
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	var docs []rawDoc
	for n := 1; ; n++ {
		var node yamlv3.Node
		err := dec.Decode(&node)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %s", n, yamlMessage(err))
		}
		if n > lim.MaxDocuments {
			return nil, fmt.Errorf("more than %d documents", lim.MaxDocuments)
		}
		if len(node.Content) == 0 {
			continue
		}
		root := node.Content[0]
		if root.Kind == yamlv3.ScalarNode && root.Tag == "!!null" {
			continue
		}
		if d := nodeDepth(root, 0, lim.MaxDepth); d > lim.MaxDepth {
			return nil, fmt.Errorf("document %d (line %d): nesting depth exceeds the limit of %d", n, root.Line, lim.MaxDepth)
		}
		var buf bytes.Buffer
		enc := yamlv3.NewEncoder(&buf)
		if err := enc.Encode(&node); err != nil {
			return nil, fmt.Errorf("document %d (line %d): %v", n, root.Line, err)
		}
		js, err := yaml.YAMLToJSON(buf.Bytes())
		if err != nil {
			return nil, fmt.Errorf("document %d (line %d): %s", n, root.Line, yamlMessage(err))
		}
		loc := source.Location{File: file, Line: root.Line, Doc: n}
		if items, ok := listItems(root, js); ok {
			for i, it := range items.raw {
				if len(docs) >= lim.MaxDocuments {
					return nil, fmt.Errorf("more than %d items", lim.MaxDocuments)
				}
				docs = append(docs, rawDoc{Loc: source.Location{File: file, Line: items.lines[i], Doc: n}, JSON: it})
			}
			continue
		}
		docs = append(docs, rawDoc{Loc: loc, JSON: js})
	}
}

type listed struct {
	raw   []json.RawMessage
	lines []int
}

// listItems splits a `kind: *List` document into its items with their lines.
func listItems(root *yamlv3.Node, js []byte) (listed, bool) {
	if root.Kind != yamlv3.MappingNode {
		return listed{}, false
	}
	var kind string
	var itemsNode *yamlv3.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "kind":
			kind = root.Content[i+1].Value
		case "items":
			itemsNode = root.Content[i+1]
		}
	}
	if !strings.HasSuffix(kind, "List") || itemsNode == nil || itemsNode.Kind != yamlv3.SequenceNode {
		return listed{}, false
	}
	var obj struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(js, &obj); err != nil || len(obj.Items) != len(itemsNode.Content) {
		return listed{}, false
	}
	l := listed{raw: obj.Items}
	for _, it := range itemsNode.Content {
		l.lines = append(l.lines, it.Line)
	}
	return l, true
}

func nodeDepth(n *yamlv3.Node, d, limit int) int {
	if d > limit {
		return d
	}
	maxDepth := d
	if n.Kind == yamlv3.MappingNode || n.Kind == yamlv3.SequenceNode {
		maxDepth = d + 1
		for _, c := range n.Content {
			if cd := nodeDepth(c, d+1, limit); cd > maxDepth {
				maxDepth = cd
			}
		}
	}
	return maxDepth
}

// yamlMessage drops the library's "yaml: " prefix; our own context says it.
func yamlMessage(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "error converting YAML to JSON: ")
	s = strings.TrimPrefix(s, "yaml: ")
	return "invalid YAML: " + s
}

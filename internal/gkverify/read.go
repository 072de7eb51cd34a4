package gkverify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Suite identity: gator reads a YAML file as a Suite when its group and
// kind say so (the version is not looked at).
const (
	SuiteGroup = "test.gatekeeper.sh"
	SuiteKind  = "Suite"
)

// Target is what one command-line path selects, as gator verify makes it:
// the file system is rooted at "/", Path is the absolute path without its
// leading slash, and a trailing "/..." asks for a recursive walk.
type Target struct {
	FS        fs.FS
	Path      string
	Original  string
	Recursive bool
}

// NewTarget turns a command-line path into a Target (gator
// cmd/gator/verify runE).
func NewTarget(arg string) (Target, error) {
	original := arg
	abs := arg
	if !filepath.IsAbs(abs) {
		var err error
		if abs, err = filepath.Abs(abs); err != nil {
			return Target{}, fmt.Errorf("getting absolute path: %w", err)
		}
	}
	root := filepath.VolumeName(abs)
	if root == "" {
		root = "/"
	} else {
		abs = filepath.ToSlash(abs[len(root):])
	}
	recursive := false
	if strings.HasSuffix(original, "/...") {
		recursive = true
		abs = strings.TrimSuffix(abs, "...")
		original = strings.TrimSuffix(original, "...")
	}
	return Target{FS: os.DirFS(root), Path: strings.Trim(abs, "/"), Original: original, Recursive: recursive}, nil
}

// ReadSuites returns the Suites a Target selects, sorted by path: the file
// itself, the YAML files of a directory, or of a directory tree when
// recursive. Files that are not Suites are ignored; a Suite that cannot be
// parsed is an error naming the file (and line, where YAML says it).
func ReadSuites(t Target) ([]*Suite, error) {
	if t.Path == "" {
		return nil, errors.New("target not specified")
	}
	st, err := fs.Stat(t.FS, t.Path)
	if err != nil {
		return nil, err
	}
	var files []string
	switch {
	case !st.IsDir() && t.Recursive:
		return nil, fmt.Errorf("can only recursively traverse directories, %w: %q", ErrNotADirectory, t.Path)
	case !st.IsDir():
		if ext := path.Ext(t.Path); !isYAMLExt(ext) {
			return nil, fmt.Errorf("%w: %q", ErrUnsupportedExt, ext)
		}
		files = append(files, t.Path)
	case !t.Recursive:
		entries, err := fs.ReadDir(t.FS, t.Path)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if !e.IsDir() && isYAMLExt(path.Ext(e.Name())) {
				files = append(files, path.Join(t.Path, e.Name()))
			}
		}
	default:
		err := fs.WalkDir(t.FS, t.Path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && isYAMLExt(path.Ext(d.Name())) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var suites []*Suite
	for _, f := range files {
		s, err := readSuite(t.FS, f)
		if err != nil {
			return nil, err
		}
		if s == nil {
			continue
		}
		s.AbsolutePath = f
		// The path shown is the user's path plus what follows it in the
		// file's path (gator cuts the file path at the user's path, with
		// leading "/", "./" and "../" removed).
		cut := strings.TrimPrefix(t.Original, "/")
		cut = strings.TrimPrefix(cut, "./")
		for strings.HasPrefix(cut, "../") {
			cut = strings.TrimPrefix(cut, "../")
		}
		_, after, found := strings.Cut(f, cut)
		if !found {
			return nil, fmt.Errorf("could not find %s in %s", cut, f)
		}
		s.InputPath = t.Original + after
		suites = append(suites, s)
	}
	sort.Slice(suites, func(i, j int) bool { return suites[i].AbsolutePath < suites[j].AbsolutePath })
	return suites, nil
}

func isYAMLExt(ext string) bool { return ext == ".yaml" || ext == ".yml" }

// readSuite parses a file as a Suite, or returns nil when it is not one.
// Only the first YAML document is read, as gator does.
func readSuite(fsys fs.FS, p string) (*Suite, error) {
	b, err := fs.ReadFile(fsys, p)
	if err != nil {
		return nil, fmt.Errorf("reading file %q: %w", p, err)
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("%w: parsing yaml file %q: %w", ErrInvalidYAML, "/"+p, err)
	}
	u := unstructured.Unstructured{Object: m}
	if gvk := u.GroupVersionKind(); gvk.Group != SuiteGroup || gvk.Kind != SuiteKind {
		return nil, nil
	}
	s := &Suite{}
	if err := parseYAML(b, s); err != nil {
		return nil, fmt.Errorf("%w: %s%s: %w", ErrInvalidYAML, "/"+p, suiteLine(b, err), err)
	}
	return s, nil
}

// parseYAML decodes YAML through JSON into v, as gator's ParseYaml does
// (so field types are checked as JSON decoding checks them).
func parseYAML(b []byte, v any) error {
	m := map[string]any{}
	if err := yaml.Unmarshal(b, m); err != nil {
		return err
	}
	j, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(j, v)
}

// suiteLine finds the line of the field a JSON type error names
// (":12"), or "" when it cannot.
func suiteLine(b []byte, err error) string {
	var te *json.UnmarshalTypeError
	field := ""
	switch {
	case errors.As(err, &te):
		field = te.Field
	case strings.Contains(err.Error(), "IntOrString"):
		field = "violations"
	default:
		return ""
	}
	if field == "" {
		return ""
	}
	parts := strings.Split(field, ".")
	last := parts[len(parts)-1]
	var root yaml.Node
	if yaml.Unmarshal(b, &root) != nil {
		return ""
	}
	line := 0
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if line != 0 {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == last && badValue(v, te) {
					line = k.Line
					return
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
	if line == 0 {
		return ""
	}
	return fmt.Sprintf(":%d", line)
}

// badValue reports whether a YAML value has the type a JSON type error
// found (so the walk skips well-typed fields of the same name).
func badValue(v *yaml.Node, te *json.UnmarshalTypeError) bool {
	if te == nil {
		// violations: IntOrString takes any integer or string.
		return !(v.Kind == yaml.ScalarNode && (v.Tag == "!!int" || v.Tag == "!!str"))
	}
	switch te.Value {
	case "string":
		return v.Kind == yaml.ScalarNode && v.Tag == "!!str"
	case "number":
		return v.Kind == yaml.ScalarNode && (v.Tag == "!!int" || v.Tag == "!!float")
	case "bool":
		return v.Kind == yaml.ScalarNode && v.Tag == "!!bool"
	case "array":
		return v.Kind == yaml.SequenceNode
	case "object":
		return v.Kind == yaml.MappingNode
	}
	return false
}

// readUnstructured reads the first YAML document of a file as one object
// (gator reader.ReadUnstructured: kind is required).
func readUnstructured(b []byte) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	if err := parseYAML(b, u); err != nil {
		return nil, err
	}
	return u, nil
}

// readUnstructureds reads every document of a file (gator
// reader.ReadUnstructureds: documents split at "\n---", blank and comment
// lines dropped, empty documents skipped).
func readUnstructureds(b []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(string(b), "\n---") {
		doc = clean(doc)
		if doc == "" {
			continue
		}
		u, err := readUnstructured([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidYAML, err)
		}
		out = append(out, u)
	}
	return out, nil
}

func clean(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		b.WriteString(line)
		b.WriteString("\n")
	}
	return b.String()
}

// readObjects reads the objects of a case file; a file with none is an
// error.
func readObjects(fsys fs.FS, p string) ([]*unstructured.Unstructured, error) {
	b, err := fs.ReadFile(fsys, p)
	if err != nil {
		return nil, err
	}
	objs, err := readUnstructureds(b)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", p, err)
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("%w: path %q defines no YAML objects", ErrNoObjects, p)
	}
	return objs, nil
}

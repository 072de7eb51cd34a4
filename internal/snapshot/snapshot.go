// Package snapshot loads a snapshot directory: Kubernetes objects as kubectl
// prints them (YAML streams, JSON, kind: List, Helm output) under
// kubernetes/, and the Azure side as the az CLI prints it under azure/.
//
// Every object keeps its file and line. Every problem of every file is
// reported at once; a snapshot with errors is not returned half-loaded unless
// the caller asks to keep going, and then the skipped files are listed.
// Input is bounded (file size, file and document counts, nesting, YAML alias
// expansion). Secret and ConfigMap values are dropped at decode time.
package snapshot

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/source"
)

// Snapshot is what was read from a snapshot directory.
type Snapshot struct {
	// Dir is the snapshot root as given.
	Dir string
	// Objects are the Kubernetes objects in file order (files sorted by path).
	Objects []*Object
	// Azure is the Azure side; empty when there is no azure/ directory.
	Azure azure.Data
	// Files are the files read, relative to Dir.
	Files []string
	// Problems are warnings and, with KeepGoing, the errors of skipped files.
	Problems []Problem
	// Skipped are files left out because of errors (KeepGoing only).
	Skipped []string
}

// Options tune a load.
type Options struct {
	// KeepGoing loads every good file even when others have errors; files
	// with errors are skipped as a whole and listed in Skipped.
	KeepGoing bool
	Limits    Limits
	// Progress, when set, is called after each file with the count read so
	// far and the total.
	Progress func(done, total int)
}

// Load reads the snapshot at dir. When any file has an error and KeepGoing
// is off, it returns a *LoadError listing every problem.
func Load(ctx context.Context, dir string, opts Options) (*Snapshot, error) {
	lim := opts.Limits.withDefaults()
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("reading snapshot: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("reading snapshot: %s is not a directory", dir)
	}
	files, err := listFiles(dir, lim)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Dir: dir}
	var errs []Problem

	// azure/index.yaml first: it says what the other azure files are.
	var index map[string]azCommand
	if data, err := os.ReadFile(filepath.Join(dir, "azure", "index.yaml")); err == nil {
		index, err = parseIndex(data)
		if err != nil {
			errs = append(errs, Problem{Loc: source.Location{File: "azure/index.yaml"}, Message: err.Error()})
		}
		for f := range index {
			if _, err := os.Stat(filepath.Join(dir, "azure", filepath.FromSlash(f))); err != nil {
				errs = append(errs, Problem{Loc: source.Location{File: "azure/index.yaml"}, Message: fmt.Sprintf("names %s, which does not exist", f)})
			}
		}
	}

	for i, rel := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if opts.Progress != nil {
			opts.Progress(i, len(files))
		}
		if rel == "azure/index.yaml" {
			s.Files = append(s.Files, rel)
			continue
		}
		probs, warns := s.loadFile(dir, rel, index, lim)
		s.Problems = append(s.Problems, warns...)
		if len(probs) > 0 {
			errs = append(errs, probs...)
			if opts.KeepGoing {
				s.Skipped = append(s.Skipped, rel)
			}
		}
	}
	if opts.Progress != nil {
		opts.Progress(len(files), len(files))
	}
	if len(errs) > 0 {
		if !opts.KeepGoing {
			return nil, &LoadError{Problems: errs}
		}
		s.Problems = append(s.Problems, errs...)
	}
	return s, nil
}

// listFiles returns the snapshot's data files relative to dir, sorted.
// Only kubernetes/ and azure/ are read; other files (README.md, suites,
// manifests to admit) belong to the user.
func listFiles(dir string, lim Limits) ([]string, error) {
	var files []string
	for _, top := range []string{"kubernetes", "azure"} {
		root := filepath.Join(dir, top)
		if _, err := os.Stat(root); err != nil {
			continue
		}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if strings.HasPrefix(d.Name(), ".") && p != root {
					return filepath.SkipDir
				}
				return nil
			}
			ext := strings.ToLower(filepath.Ext(p))
			if ext != ".yaml" && ext != ".yml" && ext != ".json" {
				return nil
			}
			if len(files) >= lim.MaxFiles {
				return fmt.Errorf("the snapshot has more than %d files", lim.MaxFiles)
			}
			files = append(files, source.Rel(dir, p))
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading snapshot: %w", err)
		}
	}
	sort.Strings(files)
	return files, nil
}

// loadFile reads one file. All of a file's objects are added only when the
// file has no error, so a file is either loaded or skipped, never half.
func (s *Snapshot) loadFile(dir, rel string, index map[string]azCommand, lim Limits) (errs, warns []Problem) {
	at := source.Location{File: rel}
	fail := func(msg string) ([]Problem, []Problem) {
		return []Problem{{Loc: at, Message: msg}}, nil
	}
	full := filepath.Join(dir, filepath.FromSlash(rel))
	st, err := os.Stat(full)
	if err != nil {
		return fail(err.Error())
	}
	if st.Size() > lim.MaxFileBytes {
		return fail(fmt.Sprintf("file is %d bytes, above the limit of %d", st.Size(), lim.MaxFileBytes))
	}
	data, err := os.ReadFile(full)
	if err != nil {
		return fail(err.Error())
	}
	s.Files = append(s.Files, rel)

	if strings.HasPrefix(rel, "azure/") {
		arel := strings.TrimPrefix(rel, "azure/")
		c, ok := index[arel]
		if !ok {
			c, ok = conventional(arel)
		}
		if !ok {
			c, ok = sniff(data)
		}
		if !ok {
			return nil, []Problem{{Loc: at, Warning: true, Message: "not read: cannot tell which az command produced this file; name it in azure/index.yaml"}}
		}
		var d azure.Data
		if err := loadAzureFile(&d, rel, c, data, lim); err != nil {
			return fail(fmt.Sprintf("az %s output: %v", c.kind, err))
		}
		if c.kind == cmdAKSShow && s.Azure.Cluster != nil {
			return fail(fmt.Sprintf("a second az aks show output (the first is %s); a snapshot describes one cluster", s.Azure.Cluster.Src.File))
		}
		merge(&s.Azure, &d)
		return nil, nil
	}

	var docs []rawDoc
	if isJSON(data) {
		docs, err = splitJSON(rel, data, lim)
	} else {
		docs, err = splitYAML(rel, data, lim)
	}
	if err != nil {
		return fail(err.Error())
	}
	objs := make([]*Object, 0, len(docs))
	for _, d := range docs {
		o, err := decodeObject(d)
		if err != nil {
			errs = append(errs, Problem{Loc: d.Loc, Message: err.Error()})
			continue
		}
		objs = append(objs, o)
	}
	if len(errs) > 0 {
		return errs, nil
	}
	s.Objects = append(s.Objects, objs...)
	return nil, nil
}

func merge(dst, src *azure.Data) {
	if src.Cluster != nil {
		dst.Cluster = src.Cluster
	}
	dst.Users = append(dst.Users, src.Users...)
	dst.Groups = append(dst.Groups, src.Groups...)
	dst.Members = append(dst.Members, src.Members...)
	dst.ServicePrincipals = append(dst.ServicePrincipals, src.ServicePrincipals...)
	dst.Identities = append(dst.Identities, src.Identities...)
	dst.FederatedCredentials = append(dst.FederatedCredentials, src.FederatedCredentials...)
	dst.Vaults = append(dst.Vaults, src.Vaults...)
	dst.Secrets = append(dst.Secrets, src.Secrets...)
	dst.RoleAssignments = append(dst.RoleAssignments, src.RoleAssignments...)
	dst.PolicyAssignments = append(dst.PolicyAssignments, src.PolicyAssignments...)
}

// LoadManifests reads loose manifest files (for `akssec admit FILE...`),
// with the same decoding, defaulting, bounds and error reporting as a
// snapshot's kubernetes/ directory. Locations name the paths as given.
func LoadManifests(paths []string, opts Options) ([]*Object, error) {
	lim := opts.Limits.withDefaults()
	var objs []*Object
	var errs []Problem
	for _, p := range paths {
		s := &Snapshot{}
		probs, _ := s.loadFile(path.Dir(filepath.ToSlash(p)), path.Base(filepath.ToSlash(p)), nil, lim)
		for i := range probs {
			probs[i].Loc.File = p
		}
		for _, o := range s.Objects {
			o.Loc.File = p
		}
		errs = append(errs, probs...)
		objs = append(objs, s.Objects...)
	}
	if len(errs) > 0 {
		return nil, &LoadError{Problems: errs}
	}
	return objs, nil
}

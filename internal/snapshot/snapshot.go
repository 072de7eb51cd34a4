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
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

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

	// Files decode in parallel; results are applied in file order so the
	// snapshot is the same whatever the scheduling.
	results := make([]fileResult, len(files))
	var next, done atomic.Int64
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	var progressMu sync.Mutex
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) || ctx.Err() != nil {
					return
				}
				if files[i] != "azure/index.yaml" {
					results[i] = readFile(dir, files[i], index, lim)
				}
				n := int(done.Add(1))
				if opts.Progress != nil {
					progressMu.Lock()
					opts.Progress(n, len(files))
					progressMu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, rel := range files {
		r := results[i]
		if rel == "azure/index.yaml" {
			s.Files = append(s.Files, rel)
			continue
		}
		s.Problems = append(s.Problems, r.warns...)
		if r.read {
			s.Files = append(s.Files, rel)
		}
		if r.kind == cmdAKSShow && len(r.errs) == 0 && s.Azure.Cluster != nil {
			r.errs = []Problem{{Loc: source.Location{File: rel}, Message: fmt.Sprintf("a second az aks show output (the first is %s); a snapshot describes one cluster", s.Azure.Cluster.Src.File)}}
		}
		if len(r.errs) > 0 {
			errs = append(errs, r.errs...)
			if opts.KeepGoing {
				s.Skipped = append(s.Skipped, rel)
			}
			continue
		}
		s.Objects = append(s.Objects, r.objects...)
		merge(&s.Azure, &r.azure)
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

// fileResult is what one file yields. A file with errors contributes
// nothing but its problems, so a file is either loaded or skipped, never half.
type fileResult struct {
	read    bool
	kind    string // az command kind, for azure files
	objects []*Object
	azure   azure.Data
	errs    []Problem
	warns   []Problem
}

// readFile reads and decodes one file; it touches no shared state.
func readFile(dir, rel string, index map[string]azCommand, lim Limits) (r fileResult) {
	at := source.Location{File: rel}
	fail := func(msg string) fileResult {
		r.errs = []Problem{{Loc: at, Message: msg}}
		return r
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
	r.read = true

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
			r.warns = []Problem{{Loc: at, Warning: true, Message: "not read: cannot tell which az command produced this file; name it in azure/index.yaml"}}
			return r
		}
		r.kind = c.kind
		if err := loadAzureFile(&r.azure, rel, c, data, lim); err != nil {
			return fail(fmt.Sprintf("az %s output: %v", c.kind, err))
		}
		return r
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
	r.objects = make([]*Object, 0, len(docs))
	for _, d := range docs {
		o, err := decodeObject(d)
		if err != nil {
			r.errs = append(r.errs, Problem{Loc: d.Loc, Message: err.Error()})
			continue
		}
		r.objects = append(r.objects, o)
	}
	if len(r.errs) > 0 {
		r.objects = nil
	}
	return r
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
		r := readFile(path.Dir(filepath.ToSlash(p)), path.Base(filepath.ToSlash(p)), nil, lim)
		for i := range r.errs {
			r.errs[i].Loc.File = p
		}
		for _, o := range r.objects {
			o.Loc.File = p
		}
		errs = append(errs, r.errs...)
		objs = append(objs, r.objects...)
	}
	if len(errs) > 0 {
		return nil, &LoadError{Problems: errs}
	}
	return objs, nil
}

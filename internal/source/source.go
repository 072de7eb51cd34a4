// Package source names where an object came from: a file of the snapshot, the
// line its document (or list item) starts on, and the document's index in the
// file. Every finding and every error points back to a Location so that a user
// can open the exact place that needs a fix.
package source

import (
	"bytes"
	"fmt"
	"path/filepath"
)

// Location is the place of one object in the snapshot.
type Location struct {
	// File is the path relative to the snapshot root, with forward slashes.
	File string `json:"file"`
	// Line is the 1-based line on which the object starts; 0 when unknown.
	Line int `json:"line,omitempty"`
	// Doc is the 1-based index of the YAML document within the file; 0 when
	// the file holds a single JSON value.
	Doc int `json:"doc,omitempty"`
}

// String renders the location as file:line, the form editors and CI systems
// understand.
func (l Location) String() string {
	if l.File == "" {
		return "<built-in>"
	}
	if l.Line == 0 {
		return l.File
	}
	return fmt.Sprintf("%s:%d", l.File, l.Line)
}

// Builtin is the location of objects akssec adds itself, such as the bindings
// AKS reconciles on every cluster.
func Builtin(what string) Location { return Location{File: "<" + what + ">"} }

// Rel returns path relative to root with forward slashes, or path unchanged
// when it is not below root.
func Rel(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil {
		return filepath.ToSlash(r)
	}
	return filepath.ToSlash(path)
}

// Lines maps byte offsets of a file to 1-based line numbers. It counts
// newlines lazily from the last offset asked, so the usual increasing
// queries cost one pass over the file in total. Not safe for concurrent use.
type Lines struct {
	data     []byte
	lastOff  int
	lastLine int
}

// NewLines prepares line lookups in data.
func NewLines(data []byte) *Lines { return &Lines{data: data, lastLine: 1} }

// At returns the 1-based line of byte offset off.
func (l *Lines) At(off int) int {
	if off > len(l.data) {
		off = len(l.data)
	}
	if off < l.lastOff {
		l.lastOff, l.lastLine = 0, 1
	}
	l.lastLine += bytes.Count(l.data[l.lastOff:off], []byte{'\n'})
	l.lastOff = off
	return l.lastLine
}

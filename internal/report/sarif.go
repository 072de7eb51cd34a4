package report

import (
	"encoding/json"
	"io"
	"net/url"
	"strings"

	"github.com/akssec/akssec/internal/finding"
)

// SARIF 2.1.0 (OASIS): one run, the rules that fired, one result per
// finding located at the snapshot file and line (relative to the SNAPSHOT
// base URI), with a fingerprint of rule and object so that code-scanning
// tools track a finding across runs.

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                   `json:"tool"`
	OriginalURIBaseIDs map[string]sarifArtifactLoc `json:"originalUriBaseIds,omitempty"`
	Results            []sarifResult               `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string            `json:"id"`
	Name                 string            `json:"name"`
	ShortDescription     sarifText         `json:"shortDescription"`
	DefaultConfiguration sarifConfig       `json:"defaultConfiguration"`
	Properties           map[string]string `json:"properties,omitempty"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]string `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifactLoc `json:"artifactLocation"`
	Region           *sarifRegion     `json:"region,omitempty"`
}

type sarifArtifactLoc struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

// level maps severities to SARIF levels.
func level(s finding.Severity) string {
	switch {
	case s >= finding.High:
		return "error"
	case s >= finding.Medium:
		return "warning"
	}
	return "note"
}

func writeSARIF(w io.Writer, r *Report) error {
	rules := usedRules(r)
	index := map[string]int{}
	driver := sarifDriver{Name: "akssec", Version: r.Version, InformationURI: "https://github.com/akssec/akssec"}
	for i, rule := range rules {
		index[rule.ID] = i
		driver.Rules = append(driver.Rules, sarifRule{ID: rule.ID, Name: ruleName(rule.ID), ShortDescription: sarifText{rule.Title},
			DefaultConfiguration: sarifConfig{level(rule.Severity)}, Properties: map[string]string{"layer": string(rule.Layer)}})
	}
	if driver.Rules == nil {
		driver.Rules = []sarifRule{}
	}
	run := sarifRun{Tool: sarifTool{driver}, Results: []sarifResult{},
		OriginalURIBaseIDs: map[string]sarifArtifactLoc{"SNAPSHOT": {URI: dirURI(r.Snapshot)}}}
	for _, f := range r.Findings {
		res := sarifResult{RuleID: f.RuleID, RuleIndex: index[f.RuleID], Level: level(f.Severity),
			Message:             sarifText{f.Reason + "\nFix: " + f.Fix},
			PartialFingerprints: map[string]string{"akssecFindingKey/v1": f.Key()},
			Properties:          map[string]string{"severity": f.Severity.String(), "object": f.Object.String()}}
		if f.Loc.File != "" && !strings.HasPrefix(f.Loc.File, "<") {
			loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifactLoc{URI: fileURI(f.Loc.File), URIBaseID: "SNAPSHOT"}}}
			if f.Loc.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: f.Loc.Line}
			}
			res.Locations = []sarifLocation{loc}
		} else {
			res.Locations = []sarifLocation{}
		}
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

// ruleName turns AKS-RBAC-001 into a PascalCase name SARIF viewers show.
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(strings.ToLower(id), "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func fileURI(rel string) string {
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

func dirURI(dir string) string {
	d := fileURI(strings.TrimSuffix(dir, "/"))
	return d + "/"
}

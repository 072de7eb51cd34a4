// Package crd holds typed forms of the custom resources akssec reasons about
// and that have no Go types in the Kubernetes API modules we depend on:
// the Secrets Store CSI driver's SecretProviderClass. Field names and JSON
// tags follow the upstream CRDs (secrets-store.csi.x-k8s.io/v1).
package crd

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// SecretProviderClassGroup is the API group of SecretProviderClass.
const SecretProviderClassGroup = "secrets-store.csi.x-k8s.io"

// SecretProviderClass tells the Secrets Store CSI driver which provider to
// call and with which parameters. For the Azure provider, parameters hold
// keyvaultName, tenantId, clientID, objects (a YAML string) and the rest.
type SecretProviderClass struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              SecretProviderClassSpec `json:"spec,omitempty"`
}

// SecretProviderClassSpec is the spec of a SecretProviderClass.
type SecretProviderClassSpec struct {
	Provider      string            `json:"provider,omitempty"`
	Parameters    map[string]string `json:"parameters,omitempty"`
	SecretObjects []*SecretObject   `json:"secretObjects,omitempty"`
}

// SecretObject is a Kubernetes Secret the driver syncs from mounted content.
type SecretObject struct {
	SecretName  string              `json:"secretName,omitempty"`
	Type        string              `json:"type,omitempty"`
	Labels      map[string]string   `json:"labels,omitempty"`
	Annotations map[string]string   `json:"annotations,omitempty"`
	Data        []*SecretObjectData `json:"data,omitempty"`
}

// SecretObjectData maps one mounted object to one key of the synced Secret.
type SecretObjectData struct {
	ObjectName string `json:"objectName,omitempty"`
	Key        string `json:"key,omitempty"`
}

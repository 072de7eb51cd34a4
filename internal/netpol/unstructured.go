package netpol

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/akssec/akssec/internal/env"
)

type unstructuredT = unstructured.Unstructured

func toItems(in []env.Item[unstructured.Unstructured]) []env.Item[unstructured.Unstructured] {
	return in
}

package graph

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var metaPod = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}

func objectMeta(ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name}
}

// Package validate checks echoflow's Kubernetes manifests (deploy/k8s/*.yaml) against the real
// Kubernetes API types, offline.
//
// Schema downloads (kubeconform, kubectl --validate against a server) cannot reach this
// project's machines, so each YAML document is strict-decoded with apimachinery's serializer
// into its typed object from k8s.io/api (apps/v1 StatefulSet, core/v1 Service, ConfigMap and
// Namespace, policy/v1 PodDisruptionBudget): an unknown or duplicated field, a wrong type or an
// unknown apiVersion/kind is an error, as `kubectl apply --validate=strict` would report it. The
// consistency checks that matter to echoflow's cluster mode (SPEC §5, §7, §8) are in the tests
// (validate_test.go). kustomization.yaml is not an API object; it is decoded, strictly, into the
// small Kustomization type below.
package validate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// KustomizationFile is the one file in the manifest folder that is not a Kubernetes API object.
const KustomizationFile = "kustomization.yaml"

// Document is one decoded YAML document of a manifest file.
type Document struct {
	File   string // base name of the file
	Index  int    // 0-based position among the file's non-empty documents
	Object runtime.Object
}

func (d Document) String() string { return fmt.Sprintf("%s[%d]", d.File, d.Index) }

// Kustomization is the part of kustomize's Kustomization (kustomize.config.k8s.io/v1beta1)
// that deploy/k8s uses; any other field is rejected so the file stays this simple.
type Kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images,omitempty"`
}

// NewDecoder returns a strict universal deserializer that knows the API groups echoflow's
// manifests use, and nothing else.
func NewDecoder() (runtime.Decoder, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		appsv1.AddToScheme, corev1.AddToScheme, policyv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer(), nil
}

// DecodeAll strict-decodes every document of one multi-document YAML stream.
func DecodeAll(decoder runtime.Decoder, file string, data []byte) ([]Document, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs []Document
	for {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if isBlank(raw) {
			continue
		}
		obj, _, err := decoder.Decode(raw, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s, document %d: %w", file, len(docs), err)
		}
		docs = append(docs, Document{File: file, Index: len(docs), Object: obj})
	}
}

// LoadDir strict-decodes every *.yaml file of dir except kustomization.yaml, in file-name order.
func LoadDir(dir string) ([]Document, error) {
	decoder, err := NewDecoder()
	if err != nil {
		return nil, err
	}
	files, err := ManifestFiles(dir)
	if err != nil {
		return nil, err
	}
	var all []Document
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		docs, err := DecodeAll(decoder, name, data)
		if err != nil {
			return nil, err
		}
		if len(docs) == 0 {
			return nil, fmt.Errorf("%s: no Kubernetes object in the file", name)
		}
		all = append(all, docs...)
	}
	return all, nil
}

// ManifestFiles lists the base names of dir's *.yaml files other than kustomization.yaml, sorted.
func ManifestFiles(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range paths {
		if name := filepath.Base(p); name != KustomizationFile {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// LoadKustomization strict-decodes dir/kustomization.yaml.
func LoadKustomization(dir string) (*Kustomization, error) {
	data, err := os.ReadFile(filepath.Join(dir, KustomizationFile))
	if err != nil {
		return nil, err
	}
	var k Kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		return nil, fmt.Errorf("%s: %w", KustomizationFile, err)
	}
	return &k, nil
}

func isBlank(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		t := strings.TrimSpace(line)
		if t != "" && t != "---" && !strings.HasPrefix(t, "#") {
			return false
		}
	}
	return true
}

package validate

// The checks that matter to echoflow's cluster mode, on the typed objects decoded from
// deploy/k8s (manifests.go). Run: cd deploy/k8s/validate && go test ./...

import (
	"net"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const manifestDir = ".."

var dockerfile = filepath.Join("..", "..", "..", "Dockerfile")

// objects is the decoded manifest set, by kind.
type objects struct {
	statefulSets []*appsv1.StatefulSet
	services     []*corev1.Service
	configMaps   []*corev1.ConfigMap
	namespaces   []*corev1.Namespace
	pdbs         []*policyv1.PodDisruptionBudget
}

func load(t *testing.T) objects {
	t.Helper()
	docs, err := LoadDir(manifestDir)
	if err != nil {
		t.Fatalf("strict decoding of deploy/k8s failed: %v", err)
	}
	var o objects
	for _, d := range docs {
		switch obj := d.Object.(type) {
		case *appsv1.StatefulSet:
			o.statefulSets = append(o.statefulSets, obj)
		case *corev1.Service:
			o.services = append(o.services, obj)
		case *corev1.ConfigMap:
			o.configMaps = append(o.configMaps, obj)
		case *corev1.Namespace:
			o.namespaces = append(o.namespaces, obj)
		case *policyv1.PodDisruptionBudget:
			o.pdbs = append(o.pdbs, obj)
		default:
			t.Fatalf("%s: unexpected object %T", d, obj)
		}
	}
	return o
}

// the single StatefulSet and its echoflow container.
func statefulSet(t *testing.T, o objects) (*appsv1.StatefulSet, *corev1.Container) {
	t.Helper()
	if len(o.statefulSets) != 1 {
		t.Fatalf("want exactly one StatefulSet, found %d", len(o.statefulSets))
	}
	sts := o.statefulSets[0]
	for i := range sts.Spec.Template.Spec.Containers {
		if c := &sts.Spec.Template.Spec.Containers[i]; c.Name == "echoflow" {
			return sts, c
		}
	}
	t.Fatalf("StatefulSet %s has no container named echoflow", sts.Name)
	return nil, nil
}

func service(t *testing.T, o objects, name string) *corev1.Service {
	t.Helper()
	for _, s := range o.services {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no Service named %q in deploy/k8s", name)
	return nil
}

func envValue(t *testing.T, c *corev1.Container, name string) string {
	t.Helper()
	for _, e := range c.Env {
		if e.Name == name {
			if e.ValueFrom != nil {
				t.Fatalf("env %s comes from valueFrom; want a literal value", name)
			}
			return e.Value
		}
	}
	t.Fatalf("container %s has no env %s", c.Name, name)
	return ""
}

func envField(t *testing.T, c *corev1.Container, name string) string {
	t.Helper()
	for _, e := range c.Env {
		if e.Name == name {
			if e.ValueFrom == nil || e.ValueFrom.FieldRef == nil {
				t.Fatalf("env %s: want valueFrom.fieldRef (downward API)", name)
			}
			return e.ValueFrom.FieldRef.FieldPath
		}
	}
	t.Fatalf("container %s has no env %s", c.Name, name)
	return ""
}

// containerPort resolves a probe's or Service's target port (number or name) on the container.
func containerPort(t *testing.T, c *corev1.Container, p intstr.IntOrString) int32 {
	t.Helper()
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	t.Fatalf("container %s has no port named %q", c.Name, p.StrVal)
	return 0
}

func namedPort(t *testing.T, c *corev1.Container, name string) int32 {
	t.Helper()
	return containerPort(t, c, intstr.FromString(name))
}

func TestEveryManifestDecodesStrictlyIntoItsAPIType(t *testing.T) {
	o := load(t)
	counts := map[string]int{
		"StatefulSet":         len(o.statefulSets),
		"Service":             len(o.services),
		"ConfigMap":           len(o.configMaps),
		"Namespace":           len(o.namespaces),
		"PodDisruptionBudget": len(o.pdbs),
	}
	want := map[string]int{"StatefulSet": 1, "Service": 2, "ConfigMap": 1, "Namespace": 1, "PodDisruptionBudget": 1}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("objects by kind = %v, want %v", counts, want)
	}
}

func TestStrictDecoderRejectsWhatTheAPIServerWould(t *testing.T) {
	decoder, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct{ yaml, wantErr string }{
		"unknown field": {
			"apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: x}\nspec: {replica: 3}\n",
			`unknown field "spec.replica"`,
		},
		"duplicate field": {
			"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  clusterIP: None\n  clusterIP: None\n",
			`"clusterIP" already set`,
		},
		"wrong type": {
			"apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: x}\nspec: {replicas: three}\n",
			"replicas",
		},
		"unknown kind": {
			"apiVersion: apps/v1\nkind: StatefulSets\nmetadata: {name: x}\n",
			"no kind",
		},
		"misspelled top-level field": {
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndatas: {a: b}\n",
			`unknown field "datas"`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeAll(decoder, "case.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("decoded without error; want an error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
	// A valid multi-document stream with a comment-only document decodes to its two objects.
	docs, err := DecodeAll(decoder, "ok.yaml", []byte(
		"# header\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n# only a comment\n---\n"+
			"apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n"))
	if err != nil || len(docs) != 2 {
		t.Fatalf("got %d documents, err %v; want 2, nil", len(docs), err)
	}
	if ns := docs[1].Object.(*corev1.Namespace); ns.Name != "b" {
		t.Fatalf("second document is %q, want b", ns.Name)
	}
}

func TestStatefulSetServiceNameIsTheHeadlessService(t *testing.T) {
	o := load(t)
	sts, c := statefulSet(t, o)
	svc := service(t, o, sts.Spec.ServiceName)
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("Service %s: clusterIP = %q, want None (headless)", svc.Name, svc.Spec.ClusterIP)
	}
	if !svc.Spec.PublishNotReadyAddresses {
		t.Errorf("Service %s: publishNotReadyAddresses must be true: peers resolve before /ready", svc.Name)
	}
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(sts.Spec.Template.Labels)) {
		t.Errorf("Service %s selector %v does not select the pod labels %v", svc.Name, svc.Spec.Selector, sts.Spec.Template.Labels)
	}
	if got := envValue(t, c, "ECHOFLOW_HEADLESS_SERVICE"); got != svc.Name {
		t.Errorf("ECHOFLOW_HEADLESS_SERVICE = %q, want the serviceName %q", got, svc.Name)
	}
	// The timely port: the entrypoint writes ECHOFLOW_TIMELY_PORT into the hostfile; the pod
	// must listen there and the headless Service must name it.
	timely := namedPort(t, c, "timely")
	if got := envValue(t, c, "ECHOFLOW_TIMELY_PORT"); got != strconv.Itoa(int(timely)) {
		t.Errorf("ECHOFLOW_TIMELY_PORT = %q, want the container port timely = %d", got, timely)
	}
	found := false
	for _, p := range svc.Spec.Ports {
		if containerPort(t, c, p.TargetPort) == timely && p.Port == timely {
			found = true
		}
	}
	if !found {
		t.Errorf("Service %s has no port %d targeting the timely container port", svc.Name, timely)
	}
	if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("podManagementPolicy = %q, want Parallel: every process must start to form the cluster", sts.Spec.PodManagementPolicy)
	}
	if sts.Spec.UpdateStrategy.Type != appsv1.OnDeleteStatefulSetStrategyType {
		t.Errorf("updateStrategy = %q, want OnDelete: a rolling update mixes cluster sizes", sts.Spec.UpdateStrategy.Type)
	}
	if !labels.SelectorFromSet(sts.Spec.Selector.MatchLabels).Matches(labels.Set(sts.Spec.Template.Labels)) {
		t.Errorf("StatefulSet selector does not select its own pod template")
	}
}

func TestProbesHitHealthzAndReadyOnTheMetricsPort(t *testing.T) {
	o := load(t)
	_, c := statefulSet(t, o)
	// The metrics listener's port is the one of ECHOFLOW_METRICS__ADDRESS (it overrides the file).
	host, portText, err := net.SplitHostPort(envValue(t, c, "ECHOFLOW_METRICS__ADDRESS"))
	if err != nil {
		t.Fatalf("ECHOFLOW_METRICS__ADDRESS: %v", err)
	}
	if host != "0.0.0.0" {
		t.Errorf("ECHOFLOW_METRICS__ADDRESS host = %q, want 0.0.0.0 (the kubelet probes the pod IP)", host)
	}
	metricsPort, _ := strconv.Atoi(portText)
	if got := namedPort(t, c, "metrics"); int(got) != metricsPort {
		t.Errorf("container port metrics = %d, want %d (ECHOFLOW_METRICS__ADDRESS)", got, metricsPort)
	}
	probes := []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"livenessProbe", c.LivenessProbe, "/healthz"},
		{"readinessProbe", c.ReadinessProbe, "/ready"},
		{"startupProbe", c.StartupProbe, "/healthz"},
	}
	for _, p := range probes {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: want an httpGet probe", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s path = %q, want %q", p.name, p.probe.HTTPGet.Path, p.path)
		}
		if got := containerPort(t, c, p.probe.HTTPGet.Port); int(got) != metricsPort {
			t.Errorf("%s port = %d, want the metrics port %d", p.name, got, metricsPort)
		}
	}
	metrics := service(t, o, "echoflow-metrics")
	if len(metrics.Spec.Ports) != 1 || int(containerPort(t, c, metrics.Spec.Ports[0].TargetPort)) != metricsPort {
		t.Errorf("Service echoflow-metrics must target the metrics port %d, has %v", metricsPort, metrics.Spec.Ports)
	}
}

func TestConfigMapPipelineTomlIsMountedWhereTheArgsReadIt(t *testing.T) {
	o := load(t)
	sts, c := statefulSet(t, o)
	if len(c.Args) == 0 || c.Args[0] != "run" {
		t.Fatalf("args = %v, want `run --config …`", c.Args)
	}
	configPath := ""
	for i, a := range c.Args {
		if a == "--config" && i+1 < len(c.Args) {
			configPath = c.Args[i+1]
		}
	}
	if configPath == "" {
		t.Fatalf("args %v have no --config FILE", c.Args)
	}
	// The mount whose folder holds the file, and the ConfigMap volume behind it.
	var mount *corev1.VolumeMount
	for i := range c.VolumeMounts {
		m := &c.VolumeMounts[i]
		if path.Dir(configPath) == path.Clean(m.MountPath) {
			mount = m
		}
	}
	if mount == nil {
		t.Fatalf("no volumeMount at %s, the folder of --config %s", path.Dir(configPath), configPath)
	}
	if !mount.ReadOnly {
		t.Errorf("the config mount %s should be readOnly", mount.MountPath)
	}
	var volume *corev1.Volume
	for i := range sts.Spec.Template.Spec.Volumes {
		if v := &sts.Spec.Template.Spec.Volumes[i]; v.Name == mount.Name {
			volume = v
		}
	}
	if volume == nil || volume.ConfigMap == nil {
		t.Fatalf("volume %q must be a configMap volume", mount.Name)
	}
	var cm *corev1.ConfigMap
	for _, m := range o.configMaps {
		if m.Name == volume.ConfigMap.Name {
			cm = m
		}
	}
	if cm == nil {
		t.Fatalf("volume %q names ConfigMap %q, which deploy/k8s does not define", volume.Name, volume.ConfigMap.Name)
	}
	// Which key lands at the file name: an items entry, or (without items) the key itself.
	file := path.Base(configPath)
	key := file
	if len(volume.ConfigMap.Items) > 0 {
		key = ""
		for _, it := range volume.ConfigMap.Items {
			if it.Path == file {
				key = it.Key
			}
		}
	}
	text, ok := cm.Data[key]
	if key == "" || !ok {
		t.Fatalf("ConfigMap %s has no key mounted as %s (key %q)", cm.Name, file, key)
	}
	// A light look at the TOML (echoflow validate checks it fully: deploy/docker/test-deploy.sh).
	if !regexp.MustCompile(`(?m)^\[metrics\]\s*$`).MatchString(text) ||
		!regexp.MustCompile(`(?m)^address\s*=\s*"0\.0\.0\.0:`).MatchString(text) {
		t.Errorf("%s's %s should set [metrics] address = \"0.0.0.0:…\" for probes from outside the pod", cm.Name, key)
	}
}

func TestProcessesEqualReplicasAndTheIndexComesFromThePodName(t *testing.T) {
	o := load(t)
	sts, c := statefulSet(t, o)
	if sts.Spec.Replicas == nil || *sts.Spec.Replicas < 1 {
		t.Fatalf("spec.replicas must be set and ≥ 1")
	}
	if got, want := envValue(t, c, "ECHOFLOW_PROCESSES"), strconv.Itoa(int(*sts.Spec.Replicas)); got != want {
		t.Errorf("ECHOFLOW_PROCESSES = %q, want spec.replicas = %s", got, want)
	}
	if got := envField(t, c, "POD_NAME"); got != "metadata.name" {
		t.Errorf("POD_NAME fieldRef = %q, want metadata.name (its -N ordinal is the process index)", got)
	}
	if got := envField(t, c, "POD_NAMESPACE"); got != "metadata.namespace" {
		t.Errorf("POD_NAMESPACE fieldRef = %q, want metadata.namespace", got)
	}
	// The hostfile is written where the container may write.
	hostfile := envValue(t, c, "ECHOFLOW_HOSTFILE")
	writable := false
	for _, m := range c.VolumeMounts {
		for _, v := range sts.Spec.Template.Spec.Volumes {
			if v.Name == m.Name && v.EmptyDir != nil && !m.ReadOnly && strings.HasPrefix(hostfile, path.Clean(m.MountPath)+"/") {
				writable = true
			}
		}
	}
	if !writable {
		t.Errorf("ECHOFLOW_HOSTFILE = %s is not under a writable emptyDir mount (the root filesystem is read-only)", hostfile)
	}
}

func TestRunsAsTheDockerfilesNonRootUser(t *testing.T) {
	o := load(t)
	sts, c := statefulSet(t, o)
	pod := sts.Spec.Template.Spec.SecurityContext
	if pod == nil || pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot {
		t.Fatalf("pod securityContext.runAsNonRoot must be true")
	}
	text, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatalf("reading the Dockerfile: %v", err)
	}
	for arg, got := range map[string]*int64{"ECHOFLOW_UID": pod.RunAsUser, "ECHOFLOW_GID": pod.RunAsGroup} {
		m := regexp.MustCompile(`(?m)^ARG ` + arg + `=(\d+)\s*$`).FindSubmatch(text)
		if m == nil {
			t.Fatalf("the Dockerfile has no `ARG %s=<number>`", arg)
		}
		want, _ := strconv.ParseInt(string(m[1]), 10, 64)
		if want == 0 {
			t.Errorf("the Dockerfile's %s is 0 (root)", arg)
		}
		if got == nil || *got != want {
			t.Errorf("pod securityContext for %s = %v, want the Dockerfile's %d", arg, got, want)
		}
	}
	sc := c.SecurityContext
	if sc == nil {
		t.Fatalf("container securityContext missing")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("readOnlyRootFilesystem should be true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("allowPrivilegeEscalation should be false")
	}
	if sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("capabilities should drop ALL")
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("resources.requests.%s missing", r)
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		t.Errorf("resources.limits.memory missing (aimd.process_memory reads the cgroup limit)")
	}
}

func TestOneNamespaceAndAKustomizationListingEveryManifest(t *testing.T) {
	o := load(t)
	if len(o.namespaces) != 1 {
		t.Fatalf("want one Namespace, found %d", len(o.namespaces))
	}
	ns := o.namespaces[0].Name
	for _, m := range []interface {
		GetNamespace() string
		GetName() string
	}{
		o.statefulSets[0], o.configMaps[0], o.pdbs[0], o.services[0], o.services[1],
	} {
		if m.GetNamespace() != ns {
			t.Errorf("%s is in namespace %q, want %q", m.GetName(), m.GetNamespace(), ns)
		}
	}
	k, err := LoadKustomization(manifestDir)
	if err != nil {
		t.Fatal(err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("kustomization: %s/%s", k.APIVersion, k.Kind)
	}
	if k.Namespace != ns {
		t.Errorf("kustomization namespace = %q, want %q", k.Namespace, ns)
	}
	files, err := ManifestFiles(manifestDir)
	if err != nil {
		t.Fatal(err)
	}
	resources := append([]string(nil), k.Resources...)
	sort.Strings(resources)
	if !reflect.DeepEqual(resources, files) {
		t.Errorf("kustomization resources %v, want every manifest %v", k.Resources, files)
	}
	sts, c := statefulSet(t, o)
	for _, img := range k.Images {
		if !strings.HasPrefix(c.Image, img.Name+":") && c.Image != img.Name {
			t.Errorf("kustomization image %q does not match the container image %q", img.Name, c.Image)
		}
	}
	pdb := o.pdbs[0]
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if !sel.Matches(labels.Set(sts.Spec.Template.Labels)) {
		t.Errorf("PodDisruptionBudget %s does not select the echoflow pods", pdb.Name)
	}
}

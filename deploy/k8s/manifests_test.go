// Package k8s_test checks the Kubernetes manifests in this folder offline:
// every document decodes strictly into its k8s.io/api type (no schema
// download needed), and the objects agree with each other and with what the
// services expect (probes on their health endpoints, config from the shared
// ConfigMap, non-root and read-only, enough time to drain on SIGTERM).
package k8s_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	namespace     = "convoy"
	configMapName = "convoy-config"
)

// services are the Deployments the manifests must hold, with their minimum
// replica counts.
var services = map[string]int32{
	"api-gateway":        1,
	"ingest-service":     1,
	"dispatcher-service": 2,
	"scheduler-service":  1,
}

// manifests is every object decoded from the folder.
type manifests struct {
	namespaces  []*corev1.Namespace
	configMaps  []*corev1.ConfigMap
	secrets     []*corev1.Secret
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	pdbs        []*policyv1.PodDisruptionBudget
}

// decodeStrict picks the typed object for the document's apiVersion and kind
// and decodes into it, failing on unknown or duplicated fields.
func (m *manifests) decodeStrict(doc []byte) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return fmt.Errorf("read apiVersion and kind: %w", err)
	}
	strict := func(into any) error { return yaml.UnmarshalStrict(doc, into) }
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 Namespace":
		o := new(corev1.Namespace)
		m.namespaces = append(m.namespaces, o)
		return strict(o)
	case "v1 ConfigMap":
		o := new(corev1.ConfigMap)
		m.configMaps = append(m.configMaps, o)
		return strict(o)
	case "v1 Secret":
		o := new(corev1.Secret)
		m.secrets = append(m.secrets, o)
		return strict(o)
	case "v1 Service":
		o := new(corev1.Service)
		m.services = append(m.services, o)
		return strict(o)
	case "apps/v1 Deployment":
		o := new(appsv1.Deployment)
		m.deployments = append(m.deployments, o)
		return strict(o)
	case "policy/v1 PodDisruptionBudget":
		o := new(policyv1.PodDisruptionBudget)
		m.pdbs = append(m.pdbs, o)
		return strict(o)
	default:
		return fmt.Errorf("unexpected apiVersion %q kind %q: add it to the test's decoder", tm.APIVersion, tm.Kind)
	}
}

// splitDocuments returns the YAML documents of a file, leaving out those that
// hold only comments.
func splitDocuments(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		var v any
		if err := yaml.Unmarshal(doc, &v); err != nil {
			return nil, err
		}
		if v != nil {
			docs = append(docs, doc)
		}
	}
}

// decodeAll reads every YAML file in this folder once; the tests share it.
var decodeAll = sync.OnceValues(func() (*manifests, []error) {
	files, err := filepath.Glob("*.y*ml")
	if err != nil {
		return nil, []error{err}
	}
	if len(files) == 0 {
		return nil, []error{errors.New("no YAML files in deploy/k8s")}
	}
	m := new(manifests)
	var errs []error
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		docs, err := splitDocuments(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: split documents: %w", f, err))
			continue
		}
		if len(docs) == 0 {
			errs = append(errs, fmt.Errorf("%s: no document", f))
		}
		for i, doc := range docs {
			if err := m.decodeStrict(doc); err != nil {
				errs = append(errs, fmt.Errorf("%s, document %d: %w", f, i+1, err))
			}
		}
	}
	return m, errs
})

func TestManifestsDecodeStrictly(t *testing.T) {
	_, errs := decodeAll()
	for _, err := range errs {
		t.Error(err)
	}
}

// load returns the decoded manifests, or stops a test that needs them when
// they do not decode (TestManifestsDecodeStrictly says why).
func load(t *testing.T) *manifests {
	t.Helper()
	m, errs := decodeAll()
	if len(errs) > 0 {
		t.Fatal("the manifests do not decode strictly: see TestManifestsDecodeStrictly")
	}
	return m
}

func TestObjectsAreNamedAndNamespaced(t *testing.T) {
	m := load(t)
	if len(m.namespaces) != 1 || m.namespaces[0].Name != namespace {
		t.Fatalf("want exactly one Namespace %q", namespace)
	}
	var metas []metav1.ObjectMeta
	for _, o := range m.configMaps {
		metas = append(metas, o.ObjectMeta)
	}
	for _, o := range m.secrets {
		metas = append(metas, o.ObjectMeta)
	}
	for _, o := range m.deployments {
		metas = append(metas, o.ObjectMeta)
	}
	for _, o := range m.services {
		metas = append(metas, o.ObjectMeta)
	}
	for _, o := range m.pdbs {
		metas = append(metas, o.ObjectMeta)
	}
	for _, meta := range metas {
		if errs := validation.IsDNS1123Label(meta.Name); len(errs) > 0 {
			t.Errorf("name %q: %v", meta.Name, errs)
		}
		if meta.Namespace != namespace {
			t.Errorf("%s: namespace %q, want %q", meta.Name, meta.Namespace, namespace)
		}
	}
}

func TestConfig(t *testing.T) {
	m := load(t)
	cm := configMap(t, m)
	for _, key := range []string{"MONGODB_URI", "NATS_URL", "CONVOY_NATS_REPLICAS", "CONVOY_SHUTDOWN_TIMEOUT"} {
		if cm.Data[key] == "" {
			t.Errorf("ConfigMap %s: %s is not set", cm.Name, key)
		}
	}
	if !strings.Contains(cm.Data["MONGODB_URI"], "replicaSet=") {
		t.Errorf("MONGODB_URI %q names no replicaSet", cm.Data["MONGODB_URI"])
	}
	// The cluster profile's durability: a 2xx only once a majority journaled the write.
	if opts := options.Client().ApplyURI(cm.Data["MONGODB_URI"]); opts.Validate() != nil {
		t.Errorf("MONGODB_URI: %v", opts.Validate())
	} else if wc := opts.WriteConcern; wc == nil || wc.W != "majority" || wc.Journal == nil || !*wc.Journal {
		t.Errorf("MONGODB_URI %q: want w=majority&journal=true", cm.Data["MONGODB_URI"])
	}
	if cm.Data["CONVOY_NATS_REPLICAS"] != "3" {
		t.Errorf("CONVOY_NATS_REPLICAS = %q, want 3", cm.Data["CONVOY_NATS_REPLICAS"])
	}
	if _, err := time.ParseDuration(cm.Data["CONVOY_SHUTDOWN_TIMEOUT"]); err != nil {
		t.Errorf("CONVOY_SHUTDOWN_TIMEOUT: %v", err)
	}
}

// The NATS settings the cluster profile asks for sync every write.
func TestNATSClusterConfigSyncsAlways(t *testing.T) {
	o, err := server.ProcessConfigFile("../nats/cluster.conf")
	if err != nil {
		t.Fatal(err)
	}
	if !o.SyncAlways {
		t.Fatalf("deploy/nats/cluster.conf: sync_interval is %v, want always", o.SyncInterval)
	}
}

func TestDeployments(t *testing.T) {
	m := load(t)
	cm := configMap(t, m)
	shutdown, err := time.ParseDuration(cm.Data["CONVOY_SHUTDOWN_TIMEOUT"])
	if err != nil {
		t.Fatalf("CONVOY_SHUTDOWN_TIMEOUT: %v", err)
	}

	seen := map[string]bool{}
	for _, d := range m.deployments {
		seen[d.Name] = true
		t.Run(d.Name, func(t *testing.T) {
			minReplicas, known := services[d.Name]
			if !known {
				t.Fatalf("unexpected Deployment %q", d.Name)
			}
			if d.Spec.Replicas == nil || *d.Spec.Replicas < minReplicas {
				t.Errorf("replicas %d, want at least %d", deref(d.Spec.Replicas, 1), minReplicas)
			}
			sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
			if err != nil || sel.Empty() {
				t.Fatalf("selector %v: %v (empty selectors match every pod)", d.Spec.Selector, err)
			}
			if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				t.Errorf("selector %s does not match the pod labels %v", sel, d.Spec.Template.Labels)
			}

			pod := d.Spec.Template.Spec
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Error("automountServiceAccountToken must be false: the services never call the Kubernetes API")
			}
			if len(pod.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(pod.Containers))
			}
			c := pod.Containers[0]
			checkImage(t, c, d.Name)
			checkSecurity(t, pod, c)
			checkProbes(t, c)
			checkOpsPort(t, d.Spec.Template.Annotations, c)
			checkResources(t, c)
			checkEnv(t, m, c)

			// Kubernetes sends SIGTERM after preStop and kills at the end of the
			// grace period: the service needs preStop + its drain + some margin.
			need := shutdown + 5*time.Second
			if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
				need += time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
			}
			grace := pod.TerminationGracePeriodSeconds
			if grace == nil || time.Duration(*grace)*time.Second < need {
				t.Errorf("terminationGracePeriodSeconds %d, want at least %s", deref(grace, 30), need)
			}
		})
	}
	for name := range services {
		if !seen[name] {
			t.Errorf("no Deployment %q", name)
		}
	}
}

func checkImage(t *testing.T, c corev1.Container, service string) {
	t.Helper()
	if c.Image == "" {
		t.Fatal("no image")
	}
	repo, tag, ok := strings.Cut(c.Image[strings.LastIndex(c.Image, "/")+1:], ":")
	if repo != service {
		t.Errorf("image %q is not the %s image", c.Image, service)
	}
	if !ok || tag == "" || tag == "latest" {
		t.Errorf("image %q: pin a tag other than latest", c.Image)
	}
}

func checkSecurity(t *testing.T, pod corev1.PodSpec, c corev1.Container) {
	t.Helper()
	nonRoot := (pod.SecurityContext != nil && pod.SecurityContext.RunAsNonRoot != nil && *pod.SecurityContext.RunAsNonRoot) ||
		(c.SecurityContext != nil && c.SecurityContext.RunAsNonRoot != nil && *c.SecurityContext.RunAsNonRoot)
	if !nonRoot {
		t.Error("runAsNonRoot is not set")
	}
	sc := c.SecurityContext
	if sc == nil {
		t.Fatal("container has no securityContext")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Error("capabilities do not drop ALL")
	}
	// The namespace enforces the restricted Pod Security Standard, which
	// also wants a seccomp profile.
	if pod.SecurityContext == nil || pod.SecurityContext.SeccompProfile == nil {
		t.Error("pod has no seccompProfile")
	}
}

func checkProbes(t *testing.T, c corev1.Container) {
	t.Helper()
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"livenessProbe", c.LivenessProbe, "/healthz"},
		{"readinessProbe", c.ReadinessProbe, "/readyz"},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: want an httpGet probe on %s", p.name, p.path)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s: path %q, want %q", p.name, p.probe.HTTPGet.Path, p.path)
		}
		if _, ok := containerPort(c, p.probe.HTTPGet.Port); !ok {
			t.Errorf("%s: port %s is not a port of the container", p.name, p.probe.HTTPGet.Port.String())
		}
		// /readyz gives each dependency check 2s.
		if p.probe.TimeoutSeconds < 3 {
			t.Errorf("%s: timeoutSeconds %d, want at least 3", p.name, p.probe.TimeoutSeconds)
		}
	}
	for _, p := range c.Ports {
		if errs := validation.IsValidPortName(p.Name); len(errs) > 0 {
			t.Errorf("port name %q: %v", p.Name, errs)
		}
	}
}

// checkOpsPort: every service, the gateway included, serves its probes and
// metrics on the port of its CONVOY_OPS_ADDR, and that port is what the
// probes and the scrape annotation name.
func checkOpsPort(t *testing.T, annotations map[string]string, c corev1.Container) {
	t.Helper()
	i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "CONVOY_OPS_ADDR" })
	if i < 0 {
		t.Error("no CONVOY_OPS_ADDR: the ops endpoints would be on the default address, which nothing here names")
		return
	}
	_, port, err := net.SplitHostPort(c.Env[i].Value)
	if err != nil {
		t.Errorf("CONVOY_OPS_ADDR=%q: %v", c.Env[i].Value, err)
		return
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil {
			continue
		}
		if cp, ok := containerPort(c, p.HTTPGet.Port); !ok || strconv.Itoa(int(cp.ContainerPort)) != port {
			t.Errorf("probe %s on port %s, want the ops port %s", p.HTTPGet.Path, p.HTTPGet.Port.String(), port)
		}
	}
	if got := annotations["prometheus.io/port"]; got != port {
		t.Errorf("prometheus.io/port %q, want the ops port %s", got, port)
	}
}

func checkResources(t *testing.T, c corev1.Container) {
	t.Helper()
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, ok := c.Resources.Requests[r]
		if !ok || req.IsZero() {
			t.Errorf("no %s request", r)
			continue
		}
		lim, ok := c.Resources.Limits[r]
		if !ok {
			t.Errorf("no %s limit", r)
			continue
		}
		if lim.Cmp(req) < 0 {
			t.Errorf("%s limit %s is below the request %s", r, lim.String(), req.String())
		}
	}
}

func checkEnv(t *testing.T, m *manifests, c corev1.Container) {
	t.Helper()
	fromConfig := false
	for _, e := range c.EnvFrom {
		if e.ConfigMapRef != nil && e.ConfigMapRef.Name == configMapName {
			fromConfig = true
		}
	}
	if !fromConfig {
		t.Errorf("no envFrom the ConfigMap %s", configMapName)
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		if !secretHasKey(m, ref.Name, ref.Key) {
			t.Errorf("env %s: Secret %s has no key %s", e.Name, ref.Name, ref.Key)
		}
	}
	if c.Name == "ingest-service" && !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
		return e.Name == "CONVOY_ADMIN_API_KEY" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil
	}) {
		t.Error("CONVOY_ADMIN_API_KEY must come from a Secret")
	}
	// Every service that reads or writes the stored secrets needs the keys.
	if c.Name != "api-gateway" && !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
		return e.Name == "CONVOY_ENCRYPTION_KEYS" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil
	}) {
		t.Errorf("%s: CONVOY_ENCRYPTION_KEYS must come from a Secret", c.Name)
	}
}

func TestServicesSelectDeployments(t *testing.T) {
	m := load(t)
	for _, want := range []struct {
		service string
		ports   []int32
	}{
		{"api-gateway", []int32{5005}},
		{"ingest-service", []int32{5006, 5007}},
	} {
		if !slices.ContainsFunc(m.services, func(s *corev1.Service) bool { return s.Name == want.service }) {
			t.Errorf("no Service %q", want.service)
			continue
		}
		for _, s := range m.services {
			if s.Name != want.service {
				continue
			}
			for _, port := range want.ports {
				if !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == port }) {
					t.Errorf("Service %s does not expose port %d", s.Name, port)
				}
			}
		}
	}
	for _, s := range m.services {
		t.Run(s.Name, func(t *testing.T) {
			if s.Spec.Type != "" && s.Spec.Type != corev1.ServiceTypeClusterIP {
				t.Errorf("type %s, want ClusterIP", s.Spec.Type)
			}
			if len(s.Spec.Selector) == 0 {
				t.Fatal("no selector")
			}
			sel := labels.SelectorFromSet(s.Spec.Selector)
			var matched []*appsv1.Deployment
			for _, d := range m.deployments {
				if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
					matched = append(matched, d)
				}
			}
			if len(matched) != 1 {
				t.Fatalf("selector %s matches %d Deployments' pods, want 1", sel, len(matched))
			}
			c := matched[0].Spec.Template.Spec.Containers[0]
			for _, p := range s.Spec.Ports {
				if errs := validation.IsValidPortName(p.Name); len(errs) > 0 {
					t.Errorf("port name %q: %v", p.Name, errs)
				}
				target := p.TargetPort
				if target.Type == intstr.Int && target.IntVal == 0 {
					target = intstr.FromInt32(p.Port)
				}
				if _, ok := containerPort(c, target); !ok {
					t.Errorf("port %s: targetPort %s is not a port of %s", p.Name, target.String(), matched[0].Name)
				}
			}
		})
	}
}

func TestDisruptionBudgetsSelectDeployments(t *testing.T) {
	m := load(t)
pdbs:
	for _, pdb := range m.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || sel.Empty() {
			t.Errorf("PodDisruptionBudget %s: selector %v: %v", pdb.Name, pdb.Spec.Selector, err)
			continue
		}
		for _, d := range m.deployments {
			if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				continue
			}
			// minAvailable equal to replicas would block every node drain.
			if pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.Type == intstr.Int &&
				d.Spec.Replicas != nil && pdb.Spec.MinAvailable.IntVal >= *d.Spec.Replicas {
				t.Errorf("PodDisruptionBudget %s: minAvailable %d leaves no disruption for %d replicas",
					pdb.Name, pdb.Spec.MinAvailable.IntVal, *d.Spec.Replicas)
			}
			continue pdbs
		}
		t.Errorf("PodDisruptionBudget %s selects no Deployment's pods", pdb.Name)
	}
}

func configMap(t *testing.T, m *manifests) *corev1.ConfigMap {
	t.Helper()
	for _, cm := range m.configMaps {
		if cm.Name == configMapName {
			return cm
		}
	}
	t.Fatalf("no ConfigMap %s", configMapName)
	return nil
}

func secretHasKey(m *manifests, name, key string) bool {
	for _, s := range m.secrets {
		if s.Name != name {
			continue
		}
		if _, ok := s.StringData[key]; ok {
			return true
		}
		if _, ok := s.Data[key]; ok {
			return true
		}
	}
	return false
}

// containerPort resolves a probe's or Service's port, by name or number.
func containerPort(c corev1.Container, port intstr.IntOrString) (corev1.ContainerPort, bool) {
	for _, p := range c.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) ||
			(port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return p, true
		}
	}
	return corev1.ContainerPort{}, false
}

// deref returns *p, or def (the API server's default) when p is nil.
func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

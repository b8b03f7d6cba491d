// Package deploy holds no code, only the tests that keep the deployment files honest: the
// Kubernetes manifests decode strictly into the real API types (a typo fails), they hang
// together (selectors, ports, probes, grace periods), every environment variable they set
// is one the binary reads, and the Dockerfile, compose file and collector and Prometheus
// configurations say what the README promises.
package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// kustomization is the subset of kustomize's file this repository uses; anything else in
// it is a typo or a feature the test does not render, and fails.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors"`
	} `json:"labels,omitempty"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
}

// object is one decoded manifest document.
type object struct {
	file string
	kind string
	name string
	obj  any
}

// newObject maps apiVersion and kind to the real API type; anything else is rejected.
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + "/" + kind {
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1/Secret":
		return &corev1.Secret{}, nil
	case "v1/Service":
		return &corev1.Service{}, nil
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, nil
	case "batch/v1/Job":
		return &batchv1.Job{}, nil
	case "autoscaling/v2/HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	}
	return nil, fmt.Errorf("unknown apiVersion/kind %s/%s", apiVersion, kind)
}

// decodeStrict turns YAML into v the way the API server reads JSON: field names are
// case-sensitive, unknown and duplicate fields are errors, values must fit their types.
func decodeStrict(doc []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// decodeFile decodes every document of a manifest file into its API type.
func decodeFile(path string) ([]object, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var objs []object
	for i, doc := range docSep.Split(string(b), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var tm struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, i, err)
		}
		obj, err := newObject(tm.APIVersion, tm.Kind)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, i, err)
		}
		if err := decodeStrict([]byte(doc), obj); err != nil {
			return nil, fmt.Errorf("%s: %s %q: %w", path, tm.Kind, tm.Metadata.Name, err)
		}
		if tm.Metadata.Name == "" {
			return nil, fmt.Errorf("%s: %s without metadata.name", path, tm.Kind)
		}
		objs = append(objs, object{file: filepath.Base(path), kind: tm.Kind, name: tm.Metadata.Name, obj: obj})
	}
	return objs, nil
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// render reads dir's kustomization.yaml and decodes every resource it lists, strictly. It
// checks what kustomize would silently ignore: an image override that matches no container,
// a manifest in the folder that nothing lists.
func render(dir string) (kustomization, []object, error) {
	var k kustomization
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return k, nil, err
	}
	if err := decodeStrict(b, &k); err != nil {
		return k, nil, fmt.Errorf("kustomization.yaml: %w", err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		return k, nil, fmt.Errorf("kustomization.yaml: apiVersion/kind %s/%s", k.APIVersion, k.Kind)
	}
	var objs []object
	for _, r := range k.Resources {
		o, err := decodeFile(filepath.Join(dir, r))
		if err != nil {
			return k, nil, err
		}
		objs = append(objs, o...)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		base := filepath.Base(f)
		if base != "kustomization.yaml" && !strings.HasSuffix(base, ".example.yaml") && !slices.Contains(k.Resources, base) {
			return k, nil, fmt.Errorf("%s is not listed in kustomization.yaml resources", base)
		}
	}
	for _, img := range k.Images {
		used := false
		for _, o := range objs {
			for _, c := range podSpec(o).Containers {
				used = used || c.Image == img.Name
			}
		}
		if !used {
			return k, nil, fmt.Errorf("kustomization.yaml: image %q matches no container", img.Name)
		}
	}
	return k, objs, nil
}

func podSpec(o object) corev1.PodSpec {
	switch v := o.obj.(type) {
	case *appsv1.Deployment:
		return v.Spec.Template.Spec
	case *batchv1.Job:
		return v.Spec.Template.Spec
	}
	return corev1.PodSpec{}
}

func mustRender(t *testing.T) []object {
	t.Helper()
	_, objs, err := render("k8s")
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func find[T any](t *testing.T, objs []object, name string) T {
	t.Helper()
	for _, o := range objs {
		if v, ok := o.obj.(T); ok && o.name == name {
			return v
		}
	}
	var zero T
	t.Fatalf("no %T named %q in the manifests", zero, name)
	return zero
}

func TestManifestsDecodeStrictly(t *testing.T) {
	objs := mustRender(t)
	var got []string
	for _, o := range objs {
		got = append(got, o.kind+"/"+o.name)
	}
	sort.Strings(got)
	want := []string{"ConfigMap/memberline", "Deployment/memberline", "HorizontalPodAutoscaler/memberline",
		"Job/memberline-migrate", "PodDisruptionBudget/memberline", "Service/memberline", "ServiceAccount/memberline"}
	if !slices.Equal(got, want) {
		t.Fatalf("rendered %v, want %v", got, want)
	}
	// The example Secret is not applied, but it must be a valid Secret all the same.
	secret, err := decodeFile("k8s/secret.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != 1 || secret[0].kind != "Secret" {
		t.Fatalf("secret.example.yaml holds %v, want one Secret", secret)
	}
}

// TestManifestTyposFail proves the validation bites: each case copies deploy/k8s, breaks
// one thing the way a hurried edit would, and expects render to refuse it.
func TestManifestTyposFail(t *testing.T) {
	for _, tc := range []struct {
		name, file, old, new, wantErr string
	}{
		{"misspelled field", "deployment.yaml", "readinessProbe:", "readinesProbe:", `unknown field "spec.template.spec.containers[0].readinesProbe"`},
		{"wrong case", "deployment.yaml", "containerPort:", "containerport:", "containerport"},
		{"field at the wrong level", "hpa.yaml", "  minReplicas: 2", "  minReplica: 2", "minReplica"},
		{"value of the wrong type", "deployment.yaml", "seconds: 5", "seconds: five", "seconds"},
		{"bad quantity", "deployment.yaml", "memory: 64Mi", "memory: 64 MiB", "quantities must match"},
		{"duplicate key", "deployment.yaml", "imagePullPolicy: IfNotPresent", "imagePullPolicy: IfNotPresent\n          imagePullPolicy: Always", "imagePullPolicy"},
		{"unknown kind", "pdb.yaml", "kind: PodDisruptionBudget", "kind: PodDisruptionBudgets", "unknown apiVersion/kind"},
		{"old apiVersion", "hpa.yaml", "apiVersion: autoscaling/v2", "apiVersion: autoscaling/v2beta1", "unknown apiVersion/kind"},
		{"typo in kustomization", "kustomization.yaml", "resources:", "resource:", `unknown field "resource"`},
		{"resource not listed", "kustomization.yaml", "  - pdb.yaml\n", "", "pdb.yaml is not listed"},
		{"image override matching nothing", "kustomization.yaml", "  - name: memberline", "  - name: memberlin", "matches no container"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files, _ := filepath.Glob("k8s/*.yaml")
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if filepath.Base(f) == tc.file {
					if !bytes.Contains(b, []byte(tc.old)) {
						t.Fatalf("%s no longer contains %q; update the case", tc.file, tc.old)
					}
					b = bytes.Replace(b, []byte(tc.old), []byte(tc.new), 1)
				}
				if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := render(dir)
			if err == nil {
				t.Fatal("the broken manifests were accepted")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q does not mention %q", err, tc.wantErr)
			}
			if testing.Verbose() {
				t.Log(err)
			}
		})
	}
}

func TestManifestsHangTogether(t *testing.T) {
	objs := mustRender(t)
	dep := find[*appsv1.Deployment](t, objs, "memberline")
	svc := find[*corev1.Service](t, objs, "memberline")
	hpa := find[*autoscalingv2.HorizontalPodAutoscaler](t, objs, "memberline")
	pdb := find[*policyv1.PodDisruptionBudget](t, objs, "memberline")
	job := find[*batchv1.Job](t, objs, "memberline-migrate")
	cm := find[*corev1.ConfigMap](t, objs, "memberline")
	find[*corev1.ServiceAccount](t, objs, dep.Spec.Template.Spec.ServiceAccountName)

	podLabels := dep.Spec.Template.Labels
	matches := func(sel map[string]string) bool {
		for k, v := range sel {
			if podLabels[k] != v {
				return false
			}
		}
		return len(sel) > 0
	}
	jobMatches := func(sel map[string]string) bool {
		for k, v := range sel {
			if job.Spec.Template.Labels[k] != v {
				return false
			}
		}
		return true
	}
	if !matches(dep.Spec.Selector.MatchLabels) || !matches(svc.Spec.Selector) || !matches(pdb.Spec.Selector.MatchLabels) {
		t.Errorf("selectors do not all match the pod labels %v", podLabels)
	}
	if jobMatches(svc.Spec.Selector) || jobMatches(pdb.Spec.Selector.MatchLabels) {
		t.Error("the Service or the PodDisruptionBudget would select the migration Job's pod")
	}
	if dep.Spec.Replicas != nil {
		t.Error("the Deployment sets replicas; every apply would fight the HorizontalPodAutoscaler")
	}
	if ref := hpa.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != dep.Name || ref.APIVersion != "apps/v1" {
		t.Errorf("HPA targets %+v, want the Deployment", ref)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 {
		t.Error("HPA minReplicas < 2: the PodDisruptionBudget would block every node drain")
	}
	if len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].Resource == nil || hpa.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU {
		t.Errorf("HPA metrics = %+v, want CPU", hpa.Spec.Metrics)
	}

	spec := dep.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	if len(c.Ports) != 2 || c.Ports[0].Name != "http" || c.Ports[1].Name != "metrics" {
		t.Fatalf("container ports %+v, want http and metrics", c.Ports)
	}
	port := c.Ports[0].ContainerPort
	// /metrics is served on its own port (METRICS_ADDR), which the scrape annotation names
	// and the Service does not expose.
	metricsPort := strconv.Itoa(int(c.Ports[1].ContainerPort))
	if _, p, _ := strings.Cut(cm.Data["METRICS_ADDR"], ":"); p != metricsPort {
		t.Errorf("METRICS_ADDR %q is not at the metrics port %s", cm.Data["METRICS_ADDR"], metricsPort)
	}
	if a := dep.Spec.Template.Annotations["prometheus.io/port"]; a != metricsPort {
		t.Errorf("prometheus.io/port %q, want the metrics port %s", a, metricsPort)
	}
	for _, sp := range svc.Spec.Ports {
		if sp.TargetPort.String() == "metrics" || sp.TargetPort.String() == metricsPort {
			t.Errorf("the Service exposes /metrics: %+v", sp)
		}
	}
	if svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service targets %s, want the http port", svc.Spec.Ports[0].TargetPort.String())
	}
	if _, p, _ := strings.Cut(cm.Data["LISTEN_ADDR"], ":"); p != strconv.Itoa(int(port)) || !strings.HasPrefix(cm.Data["LISTEN_ADDR"], "0.0.0.0:") {
		t.Errorf("LISTEN_ADDR %q does not listen on all interfaces at the container port %d", cm.Data["LISTEN_ADDR"], port)
	}
	for name, probe := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe, "/healthz ": c.StartupProbe} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != strings.TrimSpace(name) || probe.HTTPGet.Port.String() != "http" {
			t.Errorf("probe for %s = %+v", name, probe)
		}
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Fatal("no preStop sleep: pods would stop before endpoints drain")
	}
	budget := c.Lifecycle.PreStop.Sleep.Seconds + seconds(t, cm.Data["SHUTDOWN_DELAY"]) + seconds(t, cm.Data["SHUTDOWN_TIMEOUT"])
	if spec.TerminationGracePeriodSeconds == nil || *spec.TerminationGracePeriodSeconds <= budget {
		t.Errorf("terminationGracePeriodSeconds must exceed preStop + SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT = %ds", budget)
	}

	for _, o := range []object{{kind: "Deployment", obj: dep}, {kind: "Job", obj: job}} {
		ps := podSpec(o)
		if ps.SecurityContext == nil || ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot ||
			ps.SecurityContext.SeccompProfile == nil || ps.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s pod securityContext = %+v", o.kind, ps.SecurityContext)
		}
		if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
			t.Errorf("%s mounts a service account token it does not need", o.kind)
		}
		for _, c := range ps.Containers {
			sc := c.SecurityContext
			if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil ||
				!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
				t.Errorf("%s container %s securityContext = %+v", o.kind, c.Name, sc)
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s container %s needs CPU and memory requests and a memory limit (the HPA scales on CPU requests)", o.kind, c.Name)
			}
			if c.Image != "memberline" {
				t.Errorf("%s container %s image %q, want memberline (set by kustomization images)", o.kind, c.Name, c.Image)
			}
		}
	}
	if got := job.Spec.Template.Spec.Containers[0].Args; !slices.Equal(got, []string{"migrate"}) {
		t.Errorf("migration Job runs %v, want [migrate]", got)
	}
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("migration Job restartPolicy %q, want Never", job.Spec.Template.Spec.RestartPolicy)
	}
	if got := c.Args; !slices.Equal(got, []string{"serve"}) {
		t.Errorf("Deployment runs %v, want [serve]", got)
	}
}

func seconds(t *testing.T, d string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscanf(d, "%ds", &n); err != nil {
		t.Fatalf("duration %q: want whole seconds such as 20s", d)
	}
	return n
}

// binaryEnv reads internal/app/config.go: the names in its envVars table, and which of
// them serve requires ("need(NAME" or "NAME is required").
func binaryEnv(t *testing.T) (names map[string]bool, required []string) {
	t.Helper()
	const path = "../internal/app/config.go"
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), path, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	names = map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "envVars" || len(vs.Values) != 1 {
			return true
		}
		for _, e := range vs.Values[0].(*ast.CompositeLit).Elts {
			lit := e.(*ast.CompositeLit).Elts[0].(*ast.BasicLit)
			name, _ := strconv.Unquote(lit.Value)
			names[name] = true
		}
		return false
	})
	if len(names) < 10 {
		t.Fatalf("found only %d variables in %s's envVars; has the table moved?", len(names), path)
	}
	for name := range names {
		if bytes.Contains(src, []byte(`need("`+name+`"`)) || bytes.Contains(src, []byte(`"`+name+` is required`)) {
			required = append(required, name)
		}
	}
	sort.Strings(required)
	return names, required
}

// readByBinary says whether the binary reads a variable: its own table, or the standard
// OTEL_* variables the OpenTelemetry SDK reads.
func readByBinary(names map[string]bool, v string) bool {
	return names[v] || strings.HasPrefix(v, "OTEL_")
}

// containerEnv is every variable a container gets, with where it comes from.
func containerEnv(t *testing.T, c corev1.Container, configMaps map[string]*corev1.ConfigMap, secretKeys map[string]bool) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			t.Errorf("container %s: envFrom other than a ConfigMap", c.Name)
			continue
		}
		cm, ok := configMaps[from.ConfigMapRef.Name]
		if !ok {
			t.Errorf("container %s: envFrom names ConfigMap %q, which the manifests do not define", c.Name, from.ConfigMapRef.Name)
			continue
		}
		for k := range cm.Data {
			env[k] = "configmap " + cm.Name
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = "value"
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			if ref.Name != "memberline" || !secretKeys[ref.Key] {
				t.Errorf("container %s: %s from secret %s key %s, which secret.example.yaml does not have", c.Name, e.Name, ref.Name, ref.Key)
			}
			env[e.Name] = "secret " + ref.Name
		default:
			t.Errorf("container %s: %s has an unexpected valueFrom", c.Name, e.Name)
		}
	}
	return env
}

func TestManifestEnvMatchesBinary(t *testing.T) {
	names, required := binaryEnv(t)
	objs := mustRender(t)
	secretObjs, err := decodeFile("k8s/secret.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	secret := secretObjs[0].obj.(*corev1.Secret)
	secretKeys := map[string]bool{}
	for k := range secret.StringData {
		secretKeys[k] = true
		if !names[k] {
			t.Errorf("secret.example.yaml key %s is not a variable the binary reads", k)
		}
	}
	configMaps := map[string]*corev1.ConfigMap{}
	for _, o := range objs {
		if cm, ok := o.obj.(*corev1.ConfigMap); ok {
			configMaps[cm.Name] = cm
		}
	}
	for _, tc := range []struct {
		name, object string
		need         []string
	}{
		{"serve", "memberline", required},
		{"migrate", "memberline-migrate", []string{"DATABASE_URL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c corev1.Container
			switch tc.name {
			case "serve":
				c = find[*appsv1.Deployment](t, objs, tc.object).Spec.Template.Spec.Containers[0]
			default:
				c = find[*batchv1.Job](t, objs, tc.object).Spec.Template.Spec.Containers[0]
			}
			env := containerEnv(t, c, configMaps, secretKeys)
			for v, from := range env {
				if !readByBinary(names, v) {
					t.Errorf("%s (from %s) is not a variable the binary reads", v, from)
				}
			}
			for _, v := range tc.need {
				if _, ok := env[v]; !ok {
					t.Errorf("required %s is not provided", v)
				}
			}
			for _, v := range []string{"DATABASE_URL", "REDIS_URL", "TWILIO_AUTH_TOKEN", "ADMIN_TOKEN"} {
				if from, ok := env[v]; ok && !strings.HasPrefix(from, "secret ") {
					t.Errorf("%s comes from %s; secrets belong in the Secret", v, from)
				}
			}
		})
	}
	if len(required) < 4 {
		t.Fatalf("required variables found in config.go: %v; expected at least DATABASE_URL, REDIS_URL, ADMIN_TOKEN, TWILIO_AUTH_TOKEN", required)
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	type stage struct {
		from, name string
		lines      []string
	}
	var stages []stage
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\\\n", " "), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			f := strings.Fields(rest)
			s := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
		default:
			if len(stages) > 0 {
				stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, strings.ToUpper(instr)+" "+rest)
			}
		}
	}
	if len(stages) != 2 {
		t.Fatalf("%d stages, want build and runtime", len(stages))
	}
	build, runtime := stages[0], stages[1]
	has := func(s stage, re string) bool {
		r := regexp.MustCompile(re)
		for _, l := range s.lines {
			if r.MatchString(l) {
				return true
			}
		}
		return false
	}
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"build stage is named build", build.name == "build"},
		{"build is static (CGO_ENABLED=0)", has(build, `^RUN .*CGO_ENABLED=0 .*go build .*\./cmd/memberline`)},
		{"runtime starts from scratch", runtime.from == "scratch"},
		{"runtime copies the binary", has(runtime, `^COPY --from=build \S*memberline /memberline$`)},
		{"CA certificates are copied", has(build, `ca-certificates\.crt`) && has(runtime, `^COPY --from=build \S+ /etc/`)},
		{"runs as a numeric non-root user", has(runtime, `^USER [1-9][0-9]*:[1-9][0-9]*$`)},
		{"listens on all interfaces", has(runtime, `^ENV LISTEN_ADDR=0\.0\.0\.0:8080$`)},
		{"entrypoint is the binary", has(runtime, `^ENTRYPOINT \["/memberline"\]$`)},
		{"default command serves", has(runtime, `^CMD \["serve"\]$`)},
	} {
		if !tc.ok {
			t.Errorf("Dockerfile: %s: not so", tc.name)
		}
	}
	// time/tzdata is what lets a scratch image speak dates in members' time zones.
	src, err := os.ReadFile("../lookup/validate.go")
	if err != nil || !bytes.Contains(src, []byte(`"time/tzdata"`)) {
		t.Error("lookup no longer embeds time/tzdata; the scratch image has no zoneinfo")
	}
}

func TestCompose(t *testing.T) {
	names, required := binaryEnv(t)
	var compose struct {
		Services map[string]struct {
			Build *struct {
				Context    string `json:"context"`
				Dockerfile string `json:"dockerfile"`
			} `json:"build"`
			Image       string            `json:"image"`
			Command     []string          `json:"command"`
			Environment map[string]string `json:"environment"`
			Volumes     []string          `json:"volumes"`
			DependsOn   any               `json:"depends_on"`
		} `json:"services"`
	}
	b, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	// Compose's "<<" merge keys are plain YAML; sigs.k8s.io/yaml resolves them.
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatal(err)
	}
	var got []string
	for name := range compose.Services {
		got = append(got, name)
	}
	sort.Strings(got)
	if want := []string{"memberline", "migrate", "otel-collector", "postgres", "prometheus", "redis"}; !slices.Equal(got, want) {
		t.Fatalf("services %v, want %v", got, want)
	}
	for _, tc := range []struct {
		service, command string
		need             []string
	}{
		{"memberline", "serve", required},
		{"migrate", "migrate", []string{"DATABASE_URL"}},
	} {
		s := compose.Services[tc.service]
		if s.Build == nil || s.Build.Dockerfile != "deploy/Dockerfile" {
			t.Errorf("%s: build %+v, want deploy/Dockerfile", tc.service, s.Build)
		} else if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
			t.Errorf("%s: %v", tc.service, err)
		}
		if !slices.Equal(s.Command, []string{tc.command}) {
			t.Errorf("%s runs %v, want [%s]", tc.service, s.Command, tc.command)
		}
		for v := range s.Environment {
			if !readByBinary(names, v) {
				t.Errorf("%s: %s is not a variable the binary reads", tc.service, v)
			}
		}
		for _, v := range tc.need {
			if s.Environment[v] == "" {
				t.Errorf("%s: required %s is not set", tc.service, v)
			}
		}
	}
	for name, s := range compose.Services {
		for _, v := range s.Volumes {
			if src, _, ok := strings.Cut(v, ":"); ok && strings.HasPrefix(src, "./") {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			}
		}
	}
}

func TestPrometheusScrapesTheService(t *testing.T) {
	var prom struct {
		Global        map[string]string `json:"global"`
		ScrapeConfigs []struct {
			JobName       string `json:"job_name"`
			MetricsPath   string `json:"metrics_path,omitempty"`
			StaticConfigs []struct {
				Targets []string `json:"targets"`
			} `json:"static_configs"`
		} `json:"scrape_configs"`
	}
	b, err := os.ReadFile("prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := decodeStrict(b, &prom); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, sc := range prom.ScrapeConfigs {
		if sc.JobName == "memberline" && sc.MetricsPath == "/metrics" &&
			len(sc.StaticConfigs) == 1 && slices.Equal(sc.StaticConfigs[0].Targets, []string{"memberline:9464"}) {
			found = true
		}
	}
	if !found {
		t.Fatalf("no scrape job for memberline:9464/metrics (METRICS_ADDR) in %+v", prom.ScrapeConfigs)
	}
}

func TestCollectorPipelinesAreDefined(t *testing.T) {
	var col struct {
		Receivers  map[string]any `json:"receivers"`
		Processors map[string]any `json:"processors"`
		Exporters  map[string]any `json:"exporters"`
		Extensions map[string]any `json:"extensions"`
		Service    struct {
			Extensions []string `json:"extensions"`
			Pipelines  map[string]struct {
				Receivers  []string `json:"receivers"`
				Processors []string `json:"processors"`
				Exporters  []string `json:"exporters"`
			} `json:"pipelines"`
		} `json:"service"`
	}
	b, err := os.ReadFile("otel-collector.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := decodeStrict(b, &col); err != nil {
		t.Fatal(err)
	}
	if _, ok := col.Service.Pipelines["traces"]; !ok {
		t.Error("no traces pipeline")
	}
	if _, ok := col.Service.Pipelines["metrics"]; !ok {
		t.Error("no metrics pipeline")
	}
	defined := func(kind string, set map[string]any, used []string) {
		for _, u := range used {
			if _, ok := set[u]; !ok {
				t.Errorf("%s %q is used but not defined", kind, u)
			}
		}
	}
	defined("extension", col.Extensions, col.Service.Extensions)
	for _, p := range col.Service.Pipelines {
		defined("receiver", col.Receivers, p.Receivers)
		defined("processor", col.Processors, p.Processors)
		defined("exporter", col.Exporters, p.Exporters)
	}
}

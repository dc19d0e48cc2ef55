package deploy

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
	"go.yaml.in/yaml/v3"
)

// yamlDocs decodes every document of a (multi-document) YAML file.
func yamlDocs(t testing.TB, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

// decodeAs re-decodes a generic document into a typed struct.
func decodeAs(t testing.TB, doc map[string]any, out any) {
	t.Helper()
	data, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, out); err != nil {
		t.Fatal(err)
	}
}

// TestYAMLParses parses every YAML file under deploy/; Kubernetes manifests
// must each carry apiVersion, kind and metadata.name, and the kustomization
// must list every one of them.
func TestYAMLParses(t *testing.T) {
	var files []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 8 {
		t.Fatalf("found only %d YAML files: %v", len(files), files)
	}
	var manifests []string
	for _, f := range files {
		docs := yamlDocs(t, f)
		if len(docs) == 0 {
			t.Errorf("%s: no YAML document", f)
		}
		if filepath.Dir(f) != "kubernetes" {
			continue
		}
		for i, d := range docs {
			meta, _ := d["metadata"].(map[string]any)
			if d["apiVersion"] == nil || d["kind"] == nil || (d["kind"] != "Kustomization" && (meta == nil || meta["name"] == nil)) {
				t.Errorf("%s document %d: want apiVersion, kind and metadata.name", f, i+1)
			}
		}
		if filepath.Base(f) != "kustomization.yaml" {
			manifests = append(manifests, filepath.Base(f))
		}
	}
	var k struct{ Resources []string }
	decodeAs(t, yamlDocs(t, filepath.Join("kubernetes", "kustomization.yaml"))[0], &k)
	slices.Sort(k.Resources)
	slices.Sort(manifests)
	if !slices.Equal(k.Resources, manifests) {
		t.Errorf("kustomization resources %v, want every manifest %v", k.Resources, manifests)
	}
}

type container struct {
	Name  string
	Image string
	Args  []string
	Ports []struct {
		Name          string
		ContainerPort int `yaml:"containerPort"`
	}
	Resources struct {
		Requests, Limits map[string]string
	}
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		RunAsUser                *int  `yaml:"runAsUser"`
		Capabilities             struct {
			Drop []string
			Add  []string
		}
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string
		MountPath string `yaml:"mountPath"`
		SubPath   string `yaml:"subPath"`
	} `yaml:"volumeMounts"`
}

type probe struct {
	HTTPGet *struct {
		Path string
		Port string
	} `yaml:"httpGet"`
}

type deployment struct {
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		}
		Template struct {
			Metadata struct{ Labels map[string]string }
			Spec     struct {
				TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
				SecurityContext               struct {
					RunAsNonRoot *bool `yaml:"runAsNonRoot"`
				} `yaml:"securityContext"`
				Containers []struct {
					container      `yaml:",inline"`
					StartupProbe   *probe `yaml:"startupProbe"`
					ReadinessProbe *probe `yaml:"readinessProbe"`
					LivenessProbe  *probe `yaml:"livenessProbe"`
				}
				Volumes []struct {
					Name      string
					ConfigMap *struct{ Name string } `yaml:"configMap"`
				}
			}
		}
	}
}

// flagValue returns the value of --name=value or "--name value" in args.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
		if a == "--"+name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

func portOf(t testing.TB, addr string) int {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	p, err := strconv.Atoi(addr[i+1:])
	if i < 0 || err != nil {
		t.Fatalf("%q is not host:port", addr)
	}
	return p
}

// TestKubernetesManifests checks what makes the manifests work together:
// probes on the admin port, a grace period covering the drain, hardening,
// selectors that match, the HPA and PDB on the Deployment, the
// ServiceMonitor on the admin Service, and a ConfigMap config that compiles.
func TestKubernetesManifests(t *testing.T) {
	objs := kubernetesObjects(t)
	if t.Failed() {
		return
	}
	var dep deployment
	decodeAs(t, objs["Deployment"][0], &dep)
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	ports := checkContainer(t, &dep)
	checkShutdown(t, &dep)
	for k, v := range dep.Spec.Selector.MatchLabels {
		if dep.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("Deployment selector %s=%s does not match the pod template labels", k, v)
		}
	}
	checkConfigMap(t, &dep, objs["ConfigMap"][0])
	adminSvc := checkServices(t, &dep, ports, objs["Service"])
	checkServiceMonitor(t, objs["ServiceMonitor"][0], adminSvc, objs["Service"])
	checkHPA(t, objs["HorizontalPodAutoscaler"][0], objs["Deployment"][0])
	checkPDB(t, &dep, objs["PodDisruptionBudget"][0])
}

// kubernetesObjects reads kubernetes/*.yaml into objects by kind, failing
// on a kind missing or of another apiVersion.
func kubernetesObjects(t *testing.T) map[string][]map[string]any {
	t.Helper()
	objs := map[string][]map[string]any{}
	files, _ := filepath.Glob(filepath.Join("kubernetes", "*.yaml"))
	for _, f := range files {
		for _, d := range yamlDocs(t, f) {
			kind, _ := d["kind"].(string)
			objs[kind] = append(objs[kind], d)
		}
	}
	for kind, api := range map[string]string{
		"Deployment": "apps/v1", "Service": "v1", "ConfigMap": "v1", "PodDisruptionBudget": "policy/v1",
		"HorizontalPodAutoscaler": "autoscaling/v2", "ServiceMonitor": "monitoring.coreos.com/v1",
	} {
		if len(objs[kind]) == 0 {
			t.Errorf("no %s manifest", kind)
		}
		for _, o := range objs[kind] {
			if o["apiVersion"] != api {
				t.Errorf("%s: apiVersion %v, want %s", kind, o["apiVersion"], api)
			}
		}
	}
	return objs
}

// checkContainer checks the container's --admin and --listen against its
// ports, its probes, resources and hardening, and returns its ports by
// name.
func checkContainer(t *testing.T, dep *deployment) map[string]int {
	t.Helper()
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	admin, ok := flagValue(c.Args, "admin")
	if !ok || portOf(t, admin) != ports["admin"] {
		t.Errorf("--admin %q does not match containerPort admin %d", admin, ports["admin"])
	}
	if listen, ok := flagValue(c.Args, "listen"); !ok || portOf(t, listen) != ports["http"] {
		t.Errorf("--listen %q does not match containerPort http %d", listen, ports["http"])
	}
	for name, want := range map[string]struct {
		p    *probe
		path string
	}{"startup": {c.StartupProbe, "/readyz"}, "readiness": {c.ReadinessProbe, "/readyz"}, "liveness": {c.LivenessProbe, "/healthz"}} {
		if want.p == nil || want.p.HTTPGet == nil || want.p.HTTPGet.Path != want.path || want.p.HTTPGet.Port != "admin" {
			t.Errorf("%s probe: want GET %s on port admin", name, want.path)
		}
	}
	for _, r := range []string{"cpu", "memory"} {
		if c.Resources.Requests[r] == "" || c.Resources.Limits[r] == "" {
			t.Errorf("resources: want requests and limits for %s", r)
		}
	}
	sc := c.SecurityContext
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("securityContext.readOnlyRootFilesystem must be true")
	}
	if (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) && (pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot) {
		t.Error("runAsNonRoot must be true")
	}
	if sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Error("securityContext.runAsUser must be a non-root uid")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("securityContext.allowPrivilegeEscalation must be false")
	}
	if !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("capabilities: drop %v add %v, want drop [ALL] and nothing added", sc.Capabilities.Drop, sc.Capabilities.Add)
	}
	return ports
}

// checkShutdown checks the drain: a grace period covering --shutdown-delay
// and --shutdown-timeout.
func checkShutdown(t *testing.T, dep *deployment) {
	t.Helper()
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]
	// SIGTERM → readiness fails for --shutdown-delay → in-flight requests get
	// up to --shutdown-timeout; the kubelet must not SIGKILL before both.
	delay, timeout := 0*time.Second, 15*time.Second
	if v, ok := flagValue(c.Args, "shutdown-delay"); ok {
		delay, _ = time.ParseDuration(v)
	}
	if v, ok := flagValue(c.Args, "shutdown-timeout"); ok {
		timeout, _ = time.ParseDuration(v)
	}
	if delay < 5*time.Second {
		t.Errorf("--shutdown-delay %v: want at least 5s so endpoints are withdrawn before listeners close", delay)
	}
	if grace := time.Duration(pod.TerminationGracePeriodSeconds) * time.Second; grace <= delay+timeout {
		t.Errorf("terminationGracePeriodSeconds %v must exceed --shutdown-delay %v + --shutdown-timeout %v", grace, delay, timeout)
	}
}

// checkConfigMap checks that --config is a key of the ConfigMap cmDoc,
// mounted as a whole directory and watched, and that it compiles.
func checkConfigMap(t *testing.T, dep *deployment, cmDoc map[string]any) {
	t.Helper()
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]
	// The config the pods read: --config under the ConfigMap's mount.
	cfgPath, _ := flagValue(c.Args, "config")
	var cm struct {
		Metadata struct{ Name string }
		Data     map[string]string
	}
	decodeAs(t, cmDoc, &cm)
	mounted := false
	for _, vm := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == vm.Name && v.ConfigMap != nil && v.ConfigMap.Name == cm.Metadata.Name &&
				filepath.Dir(cfgPath) == filepath.Clean(vm.MountPath) && cm.Data[filepath.Base(cfgPath)] != "" {
				mounted = true
			}
		}
	}
	// An edited ConfigMap reaches a whole-directory mount (never a subPath
	// one), and --watch reloads it without a restart.
	for _, vm := range c.VolumeMounts {
		if vm.SubPath != "" {
			t.Errorf("volume mount %s uses subPath: ConfigMap updates never reach it", vm.Name)
		}
	}
	if w, ok := flagValue(c.Args, "watch"); !ok {
		t.Error("the Deployment runs without --watch: an edited ConfigMap would need a rollout")
	} else if d, err := time.ParseDuration(w); err != nil || d <= 0 {
		t.Errorf("--watch=%s: want a positive duration", w)
	}
	if !mounted {
		t.Errorf("--config %s is not a key of ConfigMap %s mounted at its directory", cfgPath, cm.Metadata.Name)
	} else {
		compileConfig(t, "ConfigMap "+cm.Metadata.Name, []byte(cm.Data[filepath.Base(cfgPath)]))
	}

}

// service is what the checks read of a Service.
type service struct {
	Metadata struct {
		Name   string
		Labels map[string]string
	}
	Spec struct {
		Selector map[string]string
		Ports    []struct {
			Name       string
			TargetPort string `yaml:"targetPort"`
		}
	}
}

// checkServices checks that each Service selects the pods and targets a
// container port, and returns the one that exposes the admin port.
func checkServices(t *testing.T, dep *deployment, ports map[string]int, services []map[string]any) *service {
	t.Helper()
	var adminSvc *service
	for _, o := range services {
		var s service
		decodeAs(t, o, &s)
		for k, v := range s.Spec.Selector {
			if dep.Spec.Template.Metadata.Labels[k] != v {
				t.Errorf("Service %s selector %s=%s matches no pod", s.Metadata.Name, k, v)
			}
		}
		for _, p := range s.Spec.Ports {
			if _, ok := ports[p.TargetPort]; !ok {
				t.Errorf("Service %s port %s: targetPort %q is no container port", s.Metadata.Name, p.Name, p.TargetPort)
			}
			if p.TargetPort == "admin" {
				adminSvc = &s
			}
		}
	}

	return adminSvc
}

// checkServiceMonitor checks that the ServiceMonitor smDoc scrapes
// /metrics on the admin Service and selects no other Service.
func checkServiceMonitor(t *testing.T, smDoc map[string]any, adminSvc *service, services []map[string]any) {
	t.Helper()
	var sm struct {
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			}
			Endpoints []struct{ Port, Path string }
		}
	}
	decodeAs(t, smDoc, &sm)
	if adminSvc == nil {
		t.Error("no Service exposes the admin port for the ServiceMonitor")
	} else {
		for k, v := range sm.Spec.Selector.MatchLabels {
			if adminSvc.Metadata.Labels[k] != v {
				t.Errorf("ServiceMonitor selector %s=%s does not select Service %s", k, v, adminSvc.Metadata.Name)
			}
		}
		for _, e := range sm.Spec.Endpoints {
			if e.Port != "admin" || e.Path != "/metrics" {
				t.Errorf("ServiceMonitor endpoint %s%s: want admin /metrics", e.Port, e.Path)
			}
		}
		// The public Service must not be scraped (it serves no /metrics).
		for _, o := range services {
			var s service
			decodeAs(t, o, &s)
			if s.Metadata.Name == adminSvc.Metadata.Name {
				continue
			}
			selected := true
			for k, v := range sm.Spec.Selector.MatchLabels {
				selected = selected && s.Metadata.Labels[k] == v
			}
			if selected {
				t.Errorf("ServiceMonitor also selects Service %s, which has no admin port", s.Metadata.Name)
			}
		}
	}

}

// checkHPA checks that the HorizontalPodAutoscaler hpaDoc scales the
// Deployment depDoc on CPU, from at least 2 replicas.
func checkHPA(t *testing.T, hpaDoc, depDoc map[string]any) {
	t.Helper()
	var hpa struct {
		Spec struct {
			ScaleTargetRef struct{ APIVersion, Kind, Name string } `yaml:"scaleTargetRef"`
			MinReplicas    int                                     `yaml:"minReplicas"`
			MaxReplicas    int                                     `yaml:"maxReplicas"`
			Metrics        []struct {
				Type     string
				Resource struct{ Name string }
			}
		}
	}
	decodeAs(t, hpaDoc, &hpa)
	depName := depDoc["metadata"].(map[string]any)["name"]
	if hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.ScaleTargetRef.Name != depName {
		t.Errorf("HPA targets %+v, want the Deployment %v", hpa.Spec.ScaleTargetRef, depName)
	}
	if hpa.Spec.MinReplicas < 2 || hpa.Spec.MaxReplicas < hpa.Spec.MinReplicas {
		t.Errorf("HPA replicas %d..%d: want at least 2", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	}
	if len(hpa.Spec.Metrics) == 0 || hpa.Spec.Metrics[0].Type != "Resource" || hpa.Spec.Metrics[0].Resource.Name != "cpu" {
		t.Errorf("HPA metrics %+v: want CPU", hpa.Spec.Metrics)
	}

}

// checkPDB checks that the PodDisruptionBudget pdbDoc selects the pods.
func checkPDB(t *testing.T, dep *deployment, pdbDoc map[string]any) {
	t.Helper()
	var pdb struct {
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			}
		}
	}
	decodeAs(t, pdbDoc, &pdb)
	if len(pdb.Spec.Selector.MatchLabels) == 0 {
		t.Error("PodDisruptionBudget selects nothing")
	}
	for k, v := range pdb.Spec.Selector.MatchLabels {
		if dep.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("PodDisruptionBudget selector %s=%s matches no pod", k, v)
		}
	}
}

// compileConfig validates a consentgate config the way serve and check do.
func compileConfig(t testing.TB, name string, data []byte) {
	t.Helper()
	cfg, err := config.Parse(data, name)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	set, err := rules.Compile(cfg)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	set.Close()
}

// TestExampleConfigs compiles every example config, and runs
// `consentgate check` on it as an operator would.
func TestExampleConfigs(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("examples", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no example config in examples/")
	}
	bin := consentgateBin(t)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		compileConfig(t, f, data)
		// The admin endpoints must never be public: an example installed
		// as is (the systemd recipe does) binds them to loopback.
		var addrs struct{ Admin string }
		if err := yaml.Unmarshal(data, &addrs); err != nil {
			t.Fatal(err)
		}
		if host, _, err := net.SplitHostPort(addrs.Admin); addrs.Admin != "" && (err != nil || !isLoopback(host)) {
			t.Errorf("%s: admin: %s is not a loopback address", f, addrs.Admin)
		}
		if out, err := exec.Command(bin, "check", "--config", f).CombinedOutput(); err != nil {
			t.Errorf("consentgate check --config %s: %v\n%s", f, err, out)
		}
	}
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

var dockerInstr = regexp.MustCompile(`(?m)^\s*([A-Z]+)\s+(.*)$`)

// TestDockerfile checks the image build by inspection (no Docker engine
// here): stages, a static trimmed build stamping the version, a non-root
// final stage, the ports and the entrypoint.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	type instr struct{ op, arg string }
	var ins []instr
	for _, m := range dockerInstr.FindAllStringSubmatch(text, -1) {
		ins = append(ins, instr{m[1], strings.TrimSpace(m[2])})
	}
	var froms []int
	for i, in := range ins {
		if in.op == "FROM" {
			froms = append(froms, i)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("%d FROM lines: want a multi-stage build", len(froms))
	}
	if !strings.Contains(ins[froms[0]].arg, "golang:") || !strings.Contains(ins[froms[0]].arg, " AS build") {
		t.Errorf("first stage %q: want golang:… AS build", ins[froms[0]].arg)
	}
	gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if goVer == nil || !strings.Contains(text, "ARG GO_VERSION="+string(goVer[1])+"\n") {
		t.Errorf("want ARG GO_VERSION=%s (go.mod's Go version)", goVer[1])
	}
	var build string
	for _, in := range ins[froms[0]:froms[len(froms)-1]] {
		if in.op == "RUN" && strings.Contains(in.arg, "go build") {
			build = in.arg
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-s -w", "-X " + versionSymbol + "=", "./cmd/consentgate"} {
		if !strings.Contains(build, want) {
			t.Errorf("go build step lacks %q: %s", want, build)
		}
	}
	final := ins[froms[len(froms)-1]:]
	base := final[0].arg
	if !strings.Contains(base, "distroless/static") && base != "scratch" {
		t.Errorf("final stage FROM %q: want distroless static or scratch", base)
	}
	got := map[string]string{}
	for _, in := range final[1:] {
		got[in.op] = in.arg // the last of each
	}
	user := strings.Split(got["USER"], ":")[0]
	if uid, err := strconv.Atoi(user); err != nil || uid == 0 {
		t.Errorf("final stage USER %q: want a numeric non-root uid (runAsNonRoot needs numeric)", got["USER"])
	}
	for _, p := range []string{"8080", "9090"} {
		if !slices.Contains(strings.Fields(got["EXPOSE"]), p) {
			t.Errorf("EXPOSE %q lacks %s", got["EXPOSE"], p)
		}
	}
	if !strings.HasPrefix(got["ENTRYPOINT"], "[") || !strings.Contains(got["ENTRYPOINT"], `"serve"]`) {
		t.Errorf("ENTRYPOINT %q: want exec form ending in \"serve\"", got["ENTRYPOINT"])
	}
	for _, in := range ins {
		if in.op != "COPY" || strings.Contains(in.arg, "--from=") {
			continue
		}
		f := strings.Fields(in.arg)
		for _, src := range f[:len(f)-1] {
			if strings.HasPrefix(src, "--") || src == "." {
				continue
			}
			if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
				t.Errorf("COPY %s: not in the build context (the repository root): %v", src, err)
			}
		}
	}
}

// serveFlags returns the flag names `consentgate serve -h` prints.
func serveFlags(t testing.TB) map[string]bool {
	t.Helper()
	out, _ := exec.Command(consentgateBin(t), "serve", "-h").CombinedOutput()
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z][a-z0-9-]*)`).FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = true
	}
	if !flags["listen"] || !flags["admin"] {
		t.Fatalf("serve -h lists no --listen/--admin:\n%s", out)
	}
	return flags
}

// TestDeployFlagsExist checks that every flag the Deployment and the systemd
// unit pass to serve exists.
func TestDeployFlagsExist(t *testing.T) {
	flags := serveFlags(t)
	var dep deployment
	for _, d := range yamlDocs(t, filepath.Join("kubernetes", "deployment.yaml")) {
		decodeAs(t, d, &dep)
	}
	args := dep.Spec.Template.Spec.Containers[0].Args
	unit, err := os.ReadFile(filepath.Join("systemd", "consentgate.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(unit), "\n") {
		if rest, ok := strings.CutPrefix(line, "ExecStart="); ok {
			args = append(args, strings.Fields(rest)...)
		}
	}
	n := 0
	for _, a := range args {
		if name, ok := strings.CutPrefix(a, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			n++
			if !flags[name] {
				t.Errorf("flag --%s is not a flag of consentgate serve", name)
			}
		}
	}
	if n < 4 {
		t.Errorf("found only %d flags to check", n)
	}
}

// TestSystemdUnit checks the hardening directives and runs
// `systemd-analyze verify` on the unit, pointed at the test binary.
func TestSystemdUnit(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("systemd", "consentgate.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(data)
	for _, want := range []string{
		"DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "ProtectHome=yes", "PrivateTmp=yes",
		"CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "ExecReload=/bin/kill -HUP $MAINPID", "SystemCallFilter=@system-service",
	} {
		if !strings.Contains(unit, "\n"+want+"\n") {
			t.Errorf("unit lacks %s", want)
		}
	}
	// The stop timeout must cover the drain: --shutdown-delay + --shutdown-timeout.
	execStart := regexp.MustCompile(`(?m)^ExecStart=(.*)$`).FindStringSubmatch(unit)
	stop := regexp.MustCompile(`(?m)^TimeoutStopSec=(\S+)$`).FindStringSubmatch(unit)
	if execStart == nil || stop == nil {
		t.Fatal("unit lacks ExecStart or TimeoutStopSec")
	}
	args := strings.Fields(execStart[1])
	delay, timeout := time.Duration(0), 15*time.Second
	if v, ok := flagValue(args, "shutdown-delay"); ok {
		delay, _ = time.ParseDuration(v)
	}
	if v, ok := flagValue(args, "shutdown-timeout"); ok {
		timeout, _ = time.ParseDuration(v)
	}
	if d, err := time.ParseDuration(stop[1]); err != nil || d <= delay+timeout {
		t.Errorf("TimeoutStopSec=%s must exceed --shutdown-delay %v + --shutdown-timeout %v", stop[1], delay, timeout)
	}

	// Directives are checked above; the unit is verified where
	// systemd-analyze is (always in CI: .ci/run installs systemd).
	analyze := needTool(t, "systemd-analyze", "apt-get install -y systemd (.ci/run does); directives checked, unit not verified")
	dir := t.TempDir()
	path := filepath.Join(dir, "consentgate.service")
	local := strings.ReplaceAll(unit, "/usr/local/bin/consentgate", consentgateBin(t))
	if err := os.WriteFile(path, []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runTool(t, "", analyze, "verify", path)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

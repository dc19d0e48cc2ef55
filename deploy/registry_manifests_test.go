package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRegistryComponent checks the optional registry component: the
// kustomization lists every file, the StatefulSet keeps its data (append
// only file on a volume, no eviction), the Service reaches its port, and
// the Deployment patch sets variables serve reads, from the Secret the
// StatefulSet reads its password from, on the proxy's container.
func TestRegistryComponent(t *testing.T) {
	dir := filepath.Join("kubernetes", "registry")
	checkKustomization(t, dir)
	labels, redisPort, secret := checkRegistryStatefulSet(t, dir)
	checkRegistryService(t, dir, labels, redisPort, secret)
	checkRegistryPatch(t, dir, secret)
}

// checkKustomization checks that dir's kustomization is a Component that
// lists every file in dir.
func checkKustomization(t *testing.T, dir string) {
	t.Helper()
	var k struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string
		Resources  []string
		Patches    []struct{ Path string }
	}
	decodeAs(t, yamlDocs(t, filepath.Join(dir, "kustomization.yaml"))[0], &k)
	if k.Kind != "Component" || k.APIVersion != "kustomize.config.k8s.io/v1alpha1" {
		t.Errorf("kustomization: %s %s, want a kustomize Component", k.APIVersion, k.Kind)
	}
	listed := append([]string{"kustomization.yaml"}, k.Resources...)
	for _, p := range k.Patches {
		listed = append(listed, p.Path)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		if !slices.Contains(listed, filepath.Base(f)) {
			t.Errorf("%s is not in the component's kustomization", f)
		}
	}

}

// checkRegistryStatefulSet checks that the registry keeps its data (append
// only, on a volume, no eviction), takes its password from a Secret and is
// hardened. It returns the pod labels, the container's redis port and the
// Secret's name.
func checkRegistryStatefulSet(t *testing.T, dir string) (labels map[string]string, redisPort int, secret string) {
	t.Helper()
	var sts struct {
		Metadata struct{ Name string }
		Spec     struct {
			Template struct {
				Metadata struct{ Labels map[string]string }
				Spec     struct {
					Containers []struct {
						container `yaml:",inline"`
						Env       []struct {
							Name      string
							ValueFrom *struct {
								SecretKeyRef struct{ Name, Key string } `yaml:"secretKeyRef"`
							} `yaml:"valueFrom"`
						}
					}
				}
			}
			VolumeClaimTemplates []struct{ Metadata struct{ Name string } } `yaml:"volumeClaimTemplates"`
		}
	}
	decodeAs(t, yamlDocs(t, filepath.Join(dir, "statefulset.yaml"))[0], &sts)
	c := sts.Spec.Template.Spec.Containers[0]
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"--appendonly yes", "--requirepass $(REGISTRY_PASSWORD)", "--maxmemory-policy noeviction"} {
		if !strings.Contains(args, want) {
			t.Errorf("registry args %q lack %q: opt-outs must survive a restart and memory pressure", args, want)
		}
	}
	if len(sts.Spec.VolumeClaimTemplates) == 0 || len(c.VolumeMounts) == 0 || c.VolumeMounts[0].Name != sts.Spec.VolumeClaimTemplates[0].Metadata.Name {
		t.Error("the registry's data is not on a persistent volume")
	}
	for _, e := range c.Env {
		if e.Name == "REGISTRY_PASSWORD" && e.ValueFrom != nil {
			secret = e.ValueFrom.SecretKeyRef.Name
		}
	}
	if secret == "" {
		t.Fatal("the registry's password does not come from a Secret")
	}
	if sc := c.SecurityContext; sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("registry container: want a read-only root and no privilege escalation")
	}
	for _, p := range c.Ports {
		if p.Name == "redis" {
			redisPort = p.ContainerPort
		}
	}

	return sts.Spec.Template.Metadata.Labels, redisPort, secret
}

// checkRegistryService checks that the Service reaches the registry pods'
// redis port, and that the kustomization's instructions name it and the
// Secret.
func checkRegistryService(t *testing.T, dir string, labels map[string]string, redisPort int, secret string) {
	t.Helper()
	var svc struct {
		Metadata struct{ Name string }
		Spec     struct {
			Selector map[string]string
			Ports    []struct {
				Port       int
				TargetPort string `yaml:"targetPort"`
			}
		}
	}
	decodeAs(t, yamlDocs(t, filepath.Join(dir, "service.yaml"))[0], &svc)
	for k, v := range svc.Spec.Selector {
		if labels[k] != v {
			t.Errorf("Service selector %s=%s matches no registry pod", k, v)
		}
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort != "redis" || redisPort != 6379 {
		t.Errorf("Service ports %+v, container port %d", svc.Spec.Ports, redisPort)
	}
	// The kustomization's instructions build the URL from the Service.
	kdata, _ := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if !strings.Contains(string(kdata), "@"+svc.Metadata.Name+":6379") || !strings.Contains(string(kdata), "secret generic "+secret) {
		t.Errorf("the kustomization's kubectl create secret line does not name Secret %s and Service %s", secret, svc.Metadata.Name)
	}

}

// checkRegistryPatch checks that the Deployment patch targets the proxy's
// container and sets the variables serve reads, from secret.
func checkRegistryPatch(t *testing.T, dir, secret string) {
	t.Helper()
	var patch struct {
		Metadata struct{ Name string }
		Spec     struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Name string
						Env  []struct {
							Name      string
							Value     string
							ValueFrom *struct {
								SecretKeyRef struct{ Name, Key string } `yaml:"secretKeyRef"`
							} `yaml:"valueFrom"`
						}
					}
				}
			}
		}
	}
	decodeAs(t, yamlDocs(t, filepath.Join(dir, "deployment-patch.yaml"))[0], &patch)
	var dep deployment
	decodeAs(t, yamlDocs(t, filepath.Join("kubernetes", "deployment.yaml"))[0], &dep)
	depMeta := yamlDocs(t, filepath.Join("kubernetes", "deployment.yaml"))[0]["metadata"].(map[string]any)
	if patch.Metadata.Name != depMeta["name"] || len(patch.Spec.Template.Spec.Containers) != 1 ||
		patch.Spec.Template.Spec.Containers[0].Name != dep.Spec.Template.Spec.Containers[0].Name {
		t.Fatalf("the patch does not target the consentgate Deployment's container")
	}
	// Every variable is one serve reads (its -h names it).
	out := serveHelp(t)
	got := map[string]bool{}
	for _, e := range patch.Spec.Template.Spec.Containers[0].Env {
		got[e.Name] = true
		if !strings.Contains(out, e.Name) {
			t.Errorf("the patch sets %s, which consentgate serve does not read", e.Name)
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef.Name != secret {
			t.Errorf("%s comes from Secret %s, want %s", e.Name, e.ValueFrom.SecretKeyRef.Name, secret)
		}
	}
	for _, want := range []string{"CONSENTGATE_REGISTRY", "CONSENTGATE_ACCOUNT_SECRET", "CONSENTGATE_ACCOUNT_COOKIE"} {
		if !got[want] {
			t.Errorf("the patch does not set %s", want)
		}
	}
}

// serveHelp is what `consentgate serve -h` prints.
func serveHelp(t testing.TB) string {
	t.Helper()
	out, _ := exec.Command(consentgateBin(t), "serve", "-h").CombinedOutput()
	return string(out)
}

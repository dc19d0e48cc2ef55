package rules

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSharedDataOnlyExpectedInCI: the tests that read the data beside the
// checkout (../shared) skip, saying why, when it is missing on a developer's
// machine, and fail when CI=true. They run here in a child process with
// the data pointed away.
func TestSharedDataOnlyExpectedInCI(t *testing.T) {
	if os.Getenv("CONSENTGATE_SHARED_CHILD") != "" {
		t.Skip("already the child")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	for _, ci := range []string{"", "true"} {
		cmd := exec.Command(exe, "-test.run=^(TestImportOpenCookieDatabase|TestSeedThirdPartiesInCatalogue|TestPagesCoverage)$", "-test.v")
		cmd.Env = append(os.Environ(), "CONSENTGATE_SHARED_CHILD=1", "CI="+ci,
			"CONSENTGATE_OCD="+missing, "CONSENTGATE_PAGES="+missing, "CONSENTGATE_SEED="+missing)
		out, err := cmd.CombinedOutput()
		skips := strings.Count(string(out), "--- SKIP")
		switch {
		case ci == "" && (err != nil || skips != 3 || strings.Count(string(out), ".ci/run") < 3):
			t.Errorf("CI unset, data missing: %v, %d skips; want 3 skips, each saying how to get the data:\n%s", err, skips, out)
		case ci == "true" && (err == nil || strings.Count(string(out), "--- FAIL") != 3):
			t.Errorf("CI=true, data missing: %v; want 3 failures:\n%s", err, out)
		}
	}
}

// TestCIRunSaysWhatIsMissing: .ci/run on a clone without ../shared says
// what is missing and how to get it before running anything, and stops
// when CI=true (it used to fail deep in the test run).
func TestCIRunSaysWhatIsMissing(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	script, err := os.ReadFile("../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(t.TempDir(), "clone")
	if err := os.MkdirAll(filepath.Join(repo, ".ci"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, ".ci", "run"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(repo, ".ci", "run"))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "CI=true"}
	out, err := cmd.CombinedOutput()
	for _, want := range []string{"open-cookie-database.csv", "jkwakman/Open-Cookie-Database", "pages", "seeds", "CI=false .ci/run"} {
		if !strings.Contains(string(out), want) {
			t.Errorf(".ci/run without ../shared does not mention %q:\n%s", want, out)
		}
	}
	if err == nil {
		t.Errorf(".ci/run with CI=true and no shared data succeeded:\n%s", out)
	}
}

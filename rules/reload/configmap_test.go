package reload

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFileWatcherConfigMap updates a config the way the kubelet updates a
// mounted ConfigMap: the file is a symlink into ..data, itself a symlink
// to a timestamped directory; an update writes a new directory and
// renames a new ..data over the old one in one step. The watcher follows
// the links, so the swap is seen by one poll, and a config that does not
// compile in the new directory keeps the last good set.
func TestFileWatcherConfigMap(t *testing.T) {
	mount := t.TempDir()
	n := 0
	publish := func(content []byte) {
		t.Helper()
		n++
		ts := filepath.Join(mount, "..2026_01_01_00_00_0"+string(rune('0'+n)))
		if err := os.Mkdir(ts, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(ts, "consentgate.yaml"), content)
		tmp := filepath.Join(mount, "..data_tmp")
		if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(mount, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	publish(configWithSite("a"))
	path := filepath.Join(mount, "consentgate.yaml")
	if err := os.Symlink(filepath.Join("..data", "consentgate.yaml"), path); err != nil {
		t.Fatal(err)
	}
	h := NewHolder(nil)
	if err := h.Reload(path); err != nil {
		t.Fatal(err)
	}
	w := &FileWatcher{Holder: h, Path: path}
	w.Start()
	if changed, err := w.Poll(); changed || err != nil {
		t.Fatalf("nothing published: changed %v, %v", changed, err)
	}
	publish(configWithSite("b"))
	if changed, err := w.Poll(); !changed || err != nil || h.Load().Sites()[0].Name != "b" {
		t.Fatalf("after the ConfigMap update: changed %v, %v, site %q", changed, err, h.Load().Sites()[0].Name)
	}
	publish([]byte("sites: [{name: c, hosts: []}]\n"))
	if changed, err := w.Poll(); changed || err == nil || h.Load().Sites()[0].Name != "b" {
		t.Fatalf("a bad ConfigMap: changed %v, %v, site %q; want the last good set", changed, err, h.Load().Sites()[0].Name)
	}
}

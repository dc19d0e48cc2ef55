package page

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"
)

func TestMarketing(t *testing.T) {
	p := Marketing(150 << 10)
	if len(p) < 150<<10 || len(p) > 160<<10 {
		t.Fatalf("Marketing(150 KiB) is %d bytes", len(p))
	}
	if !bytes.Equal(p, Marketing(150<<10)) {
		t.Fatal("Marketing is not deterministic")
	}
	for _, s := range []string{"googletagmanager.com/gtm.js", "gtag/js", "connect.facebook.net", "static.hotjar.com", "snap.licdn.com", "youtube.com/embed", `type="application/json"`, "<img ", "</html>"} {
		if !bytes.Contains(p, []byte(s)) {
			t.Errorf("the marketing page lacks %q", s)
		}
	}
}

func TestSmallAndAsset(t *testing.T) {
	if n := len(Small(1024)); n != 1024 {
		t.Errorf("Small(1024) is %d bytes", n)
	}
	if a := Asset(1000); len(a) != 1000 || !bytes.Equal(a, Asset(1000)) {
		t.Error("Asset is not n deterministic bytes")
	}
}

func TestGzip(t *testing.T) {
	p := Marketing(20 << 10)
	zr, err := gzip.NewReader(bytes.NewReader(Gzip(p)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, p) {
		t.Fatalf("gzip round trip: %v", err)
	}
}

func TestStream(t *testing.T) {
	var b bytes.Buffer
	if err := Stream(&b, 1<<20); err != nil {
		t.Fatal(err)
	}
	if b.Len() < 1<<20 || !bytes.HasSuffix(b.Bytes(), []byte("</html>\n")) {
		t.Fatalf("Stream wrote %d bytes", b.Len())
	}
}

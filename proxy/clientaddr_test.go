package proxy

import (
	"net"
	"net/netip"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8,::ffff:172.16.0.1,10.1.2.3/16,")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.168.1.7/32", "fd00::/8", "172.16.0.1/32", "10.1.0.0/16"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("prefix %d = %s, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0", "*"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted", bad)
		}
	}
	if p, err := ParseTrustedProxies(""); err != nil || len(p) != 0 {
		t.Errorf(`ParseTrustedProxies("") = %v, %v`, p, err)
	}
}

func TestClientAddr(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, peer string
		xff        []string // header lines
		all        bool     // TrustForwarded
		want       string
	}{
		{"untrusted peer: its headers are ignored", "198.51.100.9", []string{"203.0.113.7"}, false, "198.51.100.9"},
		{"trusted peer without XFF", "10.0.0.2", nil, false, "10.0.0.2"},
		{"one hop", "10.0.0.2", []string{"203.0.113.7"}, false, "203.0.113.7"},
		{"past every trusted hop", "10.0.0.2", []string{"203.0.113.7, 10.9.9.9 ,10.0.0.3"}, false, "203.0.113.7"},
		{"rightmost untrusted, not a forged leftmost", "10.0.0.2", []string{"1.1.1.1, 203.0.113.7"}, false, "203.0.113.7"},
		{"several header lines are one list", "10.0.0.2", []string{"1.1.1.1", "203.0.113.7, 10.0.0.5"}, false, "203.0.113.7"},
		{"every entry trusted: the leftmost", "10.0.0.2", []string{"10.1.1.1, 10.0.0.3"}, false, "10.1.1.1"},
		{"garbage stops the walk at the last trusted hop", "10.0.0.2", []string{"203.0.113.7, garbage, 10.0.0.3"}, false, "10.0.0.3"},
		{"empty entries skipped", "10.0.0.2", []string{",203.0.113.7,, "}, false, "203.0.113.7"},
		{"ports", "10.0.0.2", []string{"203.0.113.7:5040"}, false, "203.0.113.7"},
		{"IPv6 with port", "10.0.0.2", []string{"[2001:db8::7]:80, fd00::1"}, false, "2001:db8::7"},
		{"IPv4-mapped", "10.0.0.2", []string{"::ffff:203.0.113.7"}, false, "203.0.113.7"},
		{"IPv6 peer", "fd00::2", []string{"203.0.113.7"}, false, "203.0.113.7"},
		{"trust every peer", "198.51.100.9", []string{"203.0.113.7"}, true, "203.0.113.7"},
	} {
		s := &Server{opts: Options{TrustedProxies: trusted, TrustForwarded: tc.all}}
		var req fasthttp.Request
		for _, l := range tc.xff {
			req.Header.Add("X-Forwarded-For", l)
		}
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP(tc.peer), Port: 40000}, nil)
		if got := s.clientAddr(&ctx); got != netip.MustParseAddr(tc.want) {
			t.Errorf("%s: clientAddr = %s, want %s", tc.name, got, tc.want)
		}
	}
}

package proxy

import "testing"

func TestRefererPath(t *testing.T) {
	for _, tc := range []struct{ ref, host, want string }{
		{"https://shop.example/product?x=1", "shop.example", "/product?x=1"},
		{"https://shop.example:8443/a/b", "shop.example:8443", "/a/b"},
		{"https://SHOP.example", "shop.example", "/"},
		{"https:shop.example/x", "shop.example", "/x"},
		{"https://user@shop.example/p", "shop.example", "/p"},
		{"https://evil.test/https://shop.example/", "shop.example", ""},
		{"https://shop.example.evil.test/", "shop.example", ""},
		{"/relative", "shop.example", ""},
		{"", "shop.example", ""},
	} {
		if got := string(refererPath([]byte(tc.ref), []byte(tc.host))); got != tc.want {
			t.Errorf("refererPath(%q, %q) = %q, want %q", tc.ref, tc.host, got, tc.want)
		}
	}
}

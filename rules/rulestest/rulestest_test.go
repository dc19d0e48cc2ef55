package rulestest

import "testing"

func TestCompile(t *testing.T) {
	set := Compile(t, "upstream: http://127.0.0.1:1\nsites:\n  - name: www\n    hosts: [www.example.com]\n")
	defer set.Close()
	if s := set.Sites(); len(s) != 1 || s[0].Name != "www" {
		t.Errorf("Sites() = %+v, want the one site www", s)
	}
}

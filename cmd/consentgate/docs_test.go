package main

import (
	"flag"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestOperatorsFlagTable: the serve flag table of docs/operators.md lists
// every flag of serve, no other, with the flag's environment variable and,
// where the flag has one, its default. A flag added without its row (as
// --watch and --config-url were) fails here.
func TestOperatorsFlagTable(t *testing.T) {
	data, err := os.ReadFile("../../docs/operators.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	start := strings.Index(doc, "### `consentgate serve` flags")
	if start < 0 {
		t.Fatal("docs/operators.md has no \"### `consentgate serve` flags\" section")
	}
	section := doc[start:]
	if end := strings.Index(section[4:], "\n#"); end >= 0 {
		section = section[:end+4]
	}
	row := regexp.MustCompile("(?m)^\\| `--([a-z-]+)` \\| (?:`([A-Z_]+)`|—) \\| [^|]* \\| ([^|]*) \\|")
	type docRow struct{ env, def string }
	rows := map[string]docRow{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		rows[m[1]] = docRow{m[2], strings.Trim(strings.TrimSpace(m[3]), "`")}
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f serveFlags
	f.register(fs, "127.0.0.1:8080", "127.0.0.1:9090")
	n := 0
	fs.VisitAll(func(fl *flag.Flag) {
		n++
		r, ok := rows[fl.Name]
		if !ok {
			t.Errorf("docs/operators.md: no row for --%s (%s)", fl.Name, fl.Usage)
			return
		}
		delete(rows, fl.Name)
		if r.env != envNames[fl.Name] {
			t.Errorf("docs/operators.md: --%s environment %q, the binary reads %q", fl.Name, r.env, envNames[fl.Name])
		}
		switch fl.DefValue {
		case "", "0", "0s", "false":
			// The default is computed or absent; the table says what it means.
		default:
			if r.def != fl.DefValue {
				t.Errorf("docs/operators.md: --%s default %q, the binary's is %q", fl.Name, r.def, fl.DefValue)
			}
		}
	})
	for name := range rows {
		t.Errorf("docs/operators.md: a row for --%s, which serve does not have", name)
	}
	if n < 20 {
		t.Errorf("serve has %d flags: the table check would pass vacuously", n)
	}
}

// TestReadmeSaysHowToGetTheBinary: the README runs `consentgate serve`, so
// it says how to get a consentgate first, with this module's import path.
func TestReadmeSaysHowToGetTheBinary(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	path := strings.Fields(strings.SplitN(string(mod), "\n", 2)[0])[1]
	install := "go install " + path + "/cmd/consentgate@latest"
	r := string(readme)
	i, j := strings.Index(r, install), strings.Index(r, "\nconsentgate serve")
	if i < 0 || j < 0 || i > j {
		t.Errorf("README.md does not say %q before it first runs consentgate serve", install)
	}
}

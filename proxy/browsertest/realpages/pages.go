package realpages

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Page is one saved page.
type Page struct {
	// Name is the file name without ".html.gz"; the page is served at
	// /p/Name.
	Name string
	// Host is the host the page was saved from (from the directory's
	// README table, else the part of Name before its last '-'). The list
	// judgement reads it as the page's domain: "$third-party" and
	// "$domain=" options are decided against it.
	Host string
	// HTML is the page as saved.
	HTML []byte
	// Charset is what the page declares in a <meta> (metaCharset), or "":
	// the upstream serves "text/html; charset=" + Charset, or "text/html"
	// without one.
	Charset string
}

// DefaultPagesDir returns $CONSENTGATE_PAGES if set (as .ci/run and the
// other tests read it), else ../shared/data/pages from the repository root:
// the directory holding go.mod, found from the working directory up.
func DefaultPagesDir() (string, error) {
	if d := os.Getenv("CONSENTGATE_PAGES"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "data", "pages"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: give the pages directory")
		}
		dir = parent
	}
}

// maxPage bounds one decompressed page.
const maxPage = 32 << 20

// ReadPages reads every *.html.gz in dir, sorted by name. If dir has a
// README.md with a "| file | address |" table, each page's Host is taken
// from its address.
func ReadPages(dir string) ([]*Page, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.html.gz"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.html.gz pages in %s", dir)
	}
	sort.Strings(files)
	hosts, err := readAddresses(filepath.Join(dir, "README.md"))
	if err != nil {
		return nil, err
	}
	pages := make([]*Page, 0, len(files))
	for _, f := range files {
		p, err := readPage(f)
		if err != nil {
			return nil, err
		}
		if h := hosts[filepath.Base(f)]; h != "" {
			p.Host = h
		}
		pages = append(pages, p)
	}
	return pages, nil
}

func readPage(file string) (*Page, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("reading page %s: %w", file, err)
	}
	html, err := io.ReadAll(io.LimitReader(zr, maxPage+1))
	if err != nil {
		return nil, fmt.Errorf("reading page %s: %w", file, err)
	}
	if len(html) > maxPage {
		return nil, fmt.Errorf("reading page %s: larger than %d bytes", file, maxPage)
	}
	name := strings.TrimSuffix(filepath.Base(file), ".html.gz")
	host := name
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		host = name[:i]
	}
	return &Page{Name: name, Host: host, HTML: html, Charset: metaCharset(html)}, nil
}

// readAddresses reads the "| file | address |" rows of a README: file name
// → host of the address. A missing README is no error.
func readAddresses(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cells := strings.Split(sc.Text(), "|")
		if len(cells) < 4 {
			continue
		}
		name, addr := strings.TrimSpace(cells[1]), strings.TrimSpace(cells[2])
		if !strings.HasSuffix(name, ".html.gz") {
			continue
		}
		if u, err := url.Parse(addr); err == nil && u.Hostname() != "" {
			out[name] = strings.ToLower(u.Hostname())
		}
	}
	return out, sc.Err()
}

// metaCharsetRE finds <meta charset=X> and <meta http-equiv=Content-Type
// content="text/html; charset=X">.
var metaCharsetRE = regexp.MustCompile(`(?i)<meta[^>]*?charset\s*=\s*["']?\s*([a-z0-9_.:-]+)`)

// metaCharset returns the charset a page declares in a <meta> within its
// first 64 KiB, lower case, or "": the upstream serves it in the header,
// as the page's own server did. A declaration in the body is one Chromium
// ignores (after the first 1024 bytes it reads only the head), so a page
// that puts it there was labelled by its server, or its own visitors saw
// every accented letter garbled; served without it, the page would be
// decoded by a guess, and a rewrite that removes bytes before the <meta>
// would change the guess (autoracing.com.br, both pages: windows-1252
// without a signal, UTF-8 with Sec-GPC: 1, and 2.7 to 3.6 % more "text"
// in the garbled load).
func metaCharset(html []byte) string {
	head := html[:min(len(html), 64<<10)]
	m := metaCharsetRE.FindSubmatch(head)
	if m == nil {
		return ""
	}
	return string(bytes.ToLower(m[1]))
}

// contentType is the Content-Type the upstream serves the page with.
func (p *Page) contentType() string {
	if p.Charset == "" {
		return "text/html"
	}
	return "text/html; charset=" + p.Charset
}

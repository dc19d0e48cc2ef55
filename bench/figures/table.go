package main

import (
	"errors"
	"fmt"
	"strings"
)

// benchPage is the harness's own gzip page in BenchmarkGzipLevels; every
// other page is a saved one.
const benchPage = "bench-marketing-150k"

// gzipRow is one encoder of the table: on the harness's page, and summed
// over the saved pages.
type gzipRow struct {
	enc                 string
	benchOut, benchCPU  float64 // bytes, µs
	realIn, realOut     float64 // bytes
	realCPU             float64 // µs
	realPages, realWall float64
}

// gzipRows reads the GzipLevels results (medians), encoders in the order
// they first appear.
func gzipRows(rs []result) ([]gzipRow, error) {
	groups, vals := medians(rs, "GzipLevels", "page", "enc")
	var rows []gzipRow
	index := map[string]int{}
	for i, g := range groups {
		page, enc := g[0], g[1]
		j, ok := index[enc]
		if !ok {
			j = len(rows)
			index[enc] = j
			rows = append(rows, gzipRow{enc: enc})
		}
		v := vals[i]
		if page == benchPage {
			rows[j].benchOut, rows[j].benchCPU = v["gz-bytes"], v["cpu-ns/op"]/1e3
			continue
		}
		rows[j].realIn += v["html-bytes"]
		rows[j].realOut += v["gz-bytes"]
		rows[j].realCPU += v["cpu-ns/op"] / 1e3
		rows[j].realWall += v["ns/op"] / 1e3
		rows[j].realPages++
	}
	if len(rows) == 0 {
		return nil, errors.New("no BenchmarkGzipLevels results")
	}
	return rows, nil
}

// gzipTable renders the rows as markdown, each against base (an encoder
// name) where it is present.
func gzipTable(rows []gzipRow, base string) string {
	var ref *gzipRow
	for i := range rows {
		if rows[i].enc == base {
			ref = &rows[i]
		}
	}
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	n := rows[0].realPages
	p("| encoder | bench page: bytes | bench page: CPU µs | %.0f saved pages: bytes | of the HTML | CPU µs | MB/s of HTML per CPU s | bytes vs %s | CPU vs %s |\n", n, base, base)
	p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rows {
		vsB, vsC := "—", "—"
		if ref != nil && ref.realOut > 0 && ref.realCPU > 0 {
			vsB = fmt.Sprintf("%.2f×", r.realOut/ref.realOut)
			vsC = fmt.Sprintf("%.2f×", r.realCPU/ref.realCPU)
		}
		share, speed := 0.0, 0.0
		if r.realIn > 0 {
			share = 100 * r.realOut / r.realIn
		}
		if r.realCPU > 0 {
			speed = r.realIn / r.realCPU // bytes per µs = MB/s
		}
		p("| %s | %.0f | %.0f | %.0f | %.1f%% | %.0f | %.0f | %s | %s |\n", r.enc, r.benchOut, r.benchCPU, r.realOut, share, r.realCPU, speed, vsB, vsC)
	}
	return b.String()
}

// Command figures turns the output of the bench package's Go benchmarks
// into what bench/RESULTS.md shows: the chart of CPU per request by page
// size (BenchmarkPageCPU, as SVG) and the bytes-versus-CPU table of the
// gzip re-encode (BenchmarkGzipLevels, as markdown).
//
//	go test -run '^$' -bench PageCPU -benchtime 200x ./bench > pagecpu.txt
//	go run ./bench/figures -page-cpu pagecpu.txt -svg docs/images/cpu-by-page.svg
//
//	go test -run '^$' -bench GzipLevels -count 6 ./bench > gzip.txt
//	go run ./bench/figures -gzip-table gzip.txt
//
// With -count above 1 each cell is the median of its runs. The warm series
// of the chart comes from mode=warm results, which BenchmarkPageCPU gives
// only when the proxy has a response cache; without them the chart says
// so where the series would be.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "figures:", err)
		}
		os.Exit(1)
	}
}

type notes []string

func (n *notes) String() string     { return strings.Join(*n, "; ") }
func (n *notes) Set(s string) error { *n = append(*n, s); return nil }

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("figures", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pageIn := fs.String("page-cpu", "", "BenchmarkPageCPU output to chart")
	svgOut := fs.String("svg", "", "write the chart here (default stdout)")
	title := fs.String("title", "consentgate: CPU per request by page size, 97 saved news pages", "the chart's title")
	var ns notes
	fs.Var(&ns, "note", "a line of text under the chart (repeatable): the machine, the command")
	gzipIn := fs.String("gzip-table", "", "BenchmarkGzipLevels output to tabulate (markdown on stdout)")
	base := fs.String("base", "klauspost-1", "with -gzip-table: the encoder the ratios are against")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || (*pageIn == "") == (*gzipIn == "") {
		return errors.New("give one of -page-cpu FILE or -gzip-table FILE")
	}
	if *gzipIn != "" {
		rs, err := readResults(*gzipIn)
		if err != nil {
			return err
		}
		rows, err := gzipRows(rs)
		if err != nil {
			return fmt.Errorf("%s: %w", *gzipIn, err)
		}
		_, err = io.WriteString(stdout, gzipTable(rows, *base))
		return err
	}
	rs, err := readResults(*pageIn)
	if err != nil {
		return err
	}
	pts, err := pageCPU(rs)
	if err != nil {
		return fmt.Errorf("%s: %w", *pageIn, err)
	}
	svg := svgChart(pts, *title, ns)
	if *svgOut == "" {
		_, err = io.WriteString(stdout, svg)
		return err
	}
	return os.WriteFile(*svgOut, []byte(svg), 0o644)
}

func readResults(file string) ([]result, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rs, err := parseBench(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return rs, nil
}

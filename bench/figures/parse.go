package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// result is one line of `go test -bench` output.
type result struct {
	bench   string            // name without "Benchmark", the keys and the -GOMAXPROCS suffix
	keys    map[string]string // key=value parts of the name
	metrics map[string]float64
}

// parseBench reads the result lines of `go test -bench` output; anything
// else (goos:, PASS, logs) is skipped.
func parseBench(r io.Reader) ([]result, error) {
	var out []result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue // a log line that starts with a benchmark's name
		}
		if len(f)%2 != 0 {
			return nil, fmt.Errorf("line %d: a value without a unit: %q", line, sc.Text())
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		res := result{keys: map[string]string{}, metrics: map[string]float64{}}
		parts := strings.Split(name, "/")
		var plain []string
		for _, p := range parts {
			if k, v, ok := strings.Cut(p, "="); ok {
				res.keys[k] = v
			} else {
				plain = append(plain, p)
			}
		}
		res.bench = strings.Join(plain, "/")
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %q is not a number", line, f[i])
			}
			res.metrics[f[i+1]] = v
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

// median of v; v is sorted in place. 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// medians groups the results of bench by the values of keys and returns
// the median of each metric of each group, the groups in first-seen order.
func medians(rs []result, bench string, keys ...string) (groups [][]string, vals []map[string]float64) {
	index := map[string]int{}
	var all []map[string][]float64
	for _, r := range rs {
		if r.bench != bench {
			continue
		}
		g := make([]string, len(keys))
		for i, k := range keys {
			g[i] = r.keys[k]
		}
		id := strings.Join(g, "\x00")
		i, ok := index[id]
		if !ok {
			i = len(groups)
			index[id] = i
			groups = append(groups, g)
			all = append(all, map[string][]float64{})
		}
		for m, v := range r.metrics {
			all[i][m] = append(all[i][m], v)
		}
	}
	for _, a := range all {
		m := map[string]float64{}
		for k, v := range a {
			m[k] = median(v)
		}
		vals = append(vals, m)
	}
	return groups, vals
}

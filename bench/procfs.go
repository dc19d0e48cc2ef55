package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat; it
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// procStat is what the harness reads from /proc/PID/stat.
type procStat struct {
	ppid         int
	utime, stime uint64 // clock ticks
}

// parseStat parses the contents of /proc/PID/stat. The command name is in
// parentheses and may hold spaces and parentheses itself, so the fields are
// counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("stat: %d fields after the command name", len(f))
	}
	var st procStat
	var err error
	if st.ppid, err = strconv.Atoi(f[1]); err != nil {
		return st, fmt.Errorf("stat ppid: %v", err)
	}
	if st.utime, err = strconv.ParseUint(f[11], 10, 64); err != nil {
		return st, fmt.Errorf("stat utime: %v", err)
	}
	if st.stime, err = strconv.ParseUint(f[12], 10, 64); err != nil {
		return st, fmt.Errorf("stat stime: %v", err)
	}
	return st, nil
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(b)
}

// treeCPU returns the CPU seconds (user + system) used so far by pid and its
// live descendants (nginx's workers are children of its master).
func treeCPU(pid int) (float64, error) {
	root, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	ticks := root.utime + root.stime
	stats := allStats()
	for _, p := range descendants(pid, stats) {
		ticks += stats[p].utime + stats[p].stime
	}
	return float64(ticks) / clockTicks, nil
}

// allStats reads /proc/PID/stat of every process there is.
func allStats() map[int]procStat {
	ents, _ := filepath.Glob("/proc/[0-9]*/stat")
	stats := map[int]procStat{}
	for _, e := range ents {
		p, err := strconv.Atoi(filepath.Base(filepath.Dir(e)))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(e)
		if err != nil {
			continue
		}
		st, err := parseStat(b)
		if err != nil {
			continue
		}
		stats[p] = st
	}
	return stats
}

// descendants are the processes of stats below pid, breadth first.
func descendants(pid int, stats map[int]procStat) []int {
	children := map[int][]int{}
	for p, st := range stats {
		children[st.ppid] = append(children[st.ppid], p)
	}
	var out []int
	queue := append([]int(nil), children[pid]...)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		out = append(out, p)
		queue = append(queue, children[p]...)
	}
	return out
}

// treeRSS returns the sum of VmRSS of pid and its live descendants, in
// bytes (pages shared between them, such as nginx's master and worker
// share, counted once per process).
func treeRSS(pid int) (int64, error) {
	m, err := readStatus(pid)
	if err != nil {
		return 0, err
	}
	sum := m.rss
	for _, p := range descendants(pid, allStats()) {
		if m, err := readStatus(p); err == nil {
			sum += m.rss
		}
	}
	return sum, nil
}

// memStatus is the memory of a process from /proc/PID/status, in bytes.
type memStatus struct {
	rss, hwm int64 // VmRSS, VmHWM
}

// parseStatus reads VmRSS and VmHWM from the contents of /proc/PID/status.
func parseStatus(b []byte) (memStatus, error) {
	var m memStatus
	found := 0
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("status %s: unexpected %q", name, val)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("status %s: %v", name, err)
		}
		if name == "VmRSS" {
			m.rss = kb << 10
		} else {
			m.hwm = kb << 10
		}
		found++
	}
	if found != 2 {
		return m, fmt.Errorf("status: VmRSS or VmHWM missing")
	}
	return m, nil
}

func readStatus(pid int) (memStatus, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memStatus{}, err
	}
	return parseStatus(b)
}

package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

const mib = 1 << 20

// report renders the run as markdown: machine, command, table, targets,
// memory.
func report(c *config, e *env, targets []target, res map[string]map[string]cell, st *streamResult, idle *idleResult, memErrs []string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	b.WriteString(machineReport(c, e))

	p("## Throughput and CPU\n\n")
	p("CPU is user+system time of the proxy's process tree from /proc/PID/stat during the measured run; for the direct rows it is the origin's. Ratios are req/s over the direct and the nginx row of the same workload.\n\n")
	p("| workload | server | req/s | p50 ms | p99 ms | p99.9 ms | CPU s / 10k req | CPU µs / req | vs direct | vs nginx | errors |\n")
	p("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, w := range workloads {
		row := res[w.name]
		for _, t := range targets {
			r := row[t.name]
			if r.err != nil {
				p("| %s | %s | error: %s | | | | | | | | |\n", w.name, t.name, strings.ReplaceAll(r.err.Error(), "\n", " "))
				continue
			}
			p("| %s | %s | %.0f | %.2f | %.2f | %.2f | %.3f | %.1f | %s | %s | %d |\n", w.name, t.name, r.rps(),
				r.p50/1000, r.p99/1000, r.p999/1000, r.cpu/float64(max(r.requests, 1))*1e4, r.cpuPerReq(),
				ratio(r, row[tDirect]), ratio(r, row[tNginx]), r.errors)
		}
	}
	if n := e.sizes[wHTML]; n > 0 {
		p("\nThe rewritten 150 KB page is %d bytes (trackers removed); the opted-out gzip page is %d bytes re-encoded.\n", n, e.sizes[wGzip])
	}

	p("\n## Targets\n\n| target | measured | verdict |\n| --- | --- | --- |\n")
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**missed**"
	}
	for _, w := range workloads {
		if w.optout {
			continue
		}
		cg, bare := res[w.name][tCG], res[w.name][tBare]
		if cg.err == nil && bare.err == nil && bare.rps() > 0 {
			x := cg.rps() / bare.rps()
			p("| %s: consentgate ≥ 0.9× bare fasthttp proxy req/s | %.2f× (%.0f vs %.0f req/s; CPU %.1f vs %.1f µs/req) | %s |\n",
				w.name, x, cg.rps(), bare.rps(), cg.cpuPerReq(), bare.cpuPerReq(), verdict(x >= 0.9))
		}
	}
	for _, w := range workloads {
		cg, ng := res[w.name][tCG], res[w.name][tNginx]
		if cg.err == nil && ng.err == nil && ng.rps() > 0 {
			p("| %s: consentgate vs nginx proxy_pass (reported) | %.2f× req/s, %.2f× CPU/req | — |\n", w.name, cg.rps()/ng.rps(), cg.cpuPerReq()/ng.cpuPerReq())
		}
	}
	if out, pass := res[wHTML][tCG], res[wPass150][tCG]; out.requests > 0 && pass.requests > 0 && out.err == nil && pass.err == nil {
		x := out.rps() / pass.rps()
		p("| opted-out 150 KB HTML ≥ 0.7× pass-through req/s of the same page | %.2f× (%.0f vs %.0f req/s; CPU %.1f vs %.1f µs/req) | %s |\n",
			x, out.rps(), pass.rps(), out.cpuPerReq(), pass.cpuPerReq(), verdict(x >= 0.7))
	}
	for _, w := range workloads {
		reg, off := res[w.name][tCGReg], res[w.name][tCG]
		if reg.requests > 0 && off.requests > 0 && reg.err == nil && off.err == nil {
			x := reg.rps() / off.rps()
			how := "an account not opted out"
			if w.optout {
				how = "opted out by the registry, not Sec-GPC"
			}
			p("| %s, registry on (warm cache, %s) ≥ 0.95× registry off req/s | %.3f× (%.0f vs %.0f req/s; CPU %.1f vs %.1f µs/req) | %s |\n",
				w.name, how, x, reg.rps(), off.rps(), reg.cpuPerReq(), off.cpuPerReq(), verdict(x >= 0.95))
		}
		cg, cgr := res[w.name][tCG], res[w.name][tCGR]
		if cgr.requests > 0 && cg.err == nil && cgr.err == nil && cg.rps() > 0 {
			cost := 1 - cgr.rps()/cg.rps()
			p("| %s: receipts cost < 5%% of consentgate's req/s | %+.1f%% (%.0f vs %.0f req/s; CPU %.1f vs %.1f µs/req) | %s |\n",
				w.name, 100*cost, cgr.rps(), cg.rps(), cgr.cpuPerReq(), cg.cpuPerReq(), verdict(cost < 0.05))
		}
	}
	if gz := res[wGzip][tCG]; gz.requests > 0 && gz.err == nil {
		p("| opted-out gzip HTML < 1 ms CPU per page | %.0f µs | %s |\n", gz.cpuPerReq(), verdict(gz.cpuPerReq() < 1000))
	}
	if st != nil {
		ok := st.peakRSS < 64*mib && st.complete
		p("| %d MB streamed page < 64 MiB RSS | peak VmRSS %.1f MiB (VmHWM %.1f MiB, %.1f MiB before); %.1f MB received in %.1f s, %s | %s |\n",
			st.want/1e6, float64(st.peakRSS)/mib, float64(st.hwm)/mib, float64(st.baseRSS)/mib, float64(st.got)/1e6, st.seconds,
			completeness(st), verdict(ok))
	}
	if idle != nil {
		ok := idle.rss > 0 && idle.rss < 200*mib && idle.conns == c.idle
		per := 0.0
		if idle.conns > 0 {
			per = float64(idle.rss-idle.baseRSS) / float64(idle.conns) / 1024
		}
		p("| %d idle keep-alive connections < 200 MiB RSS | %.1f MiB with %d open (%.1f MiB before, %.1f KiB per connection; opened in %.1f s) | %s |\n",
			c.idle, float64(idle.rss)/mib, idle.conns, float64(idle.baseRSS)/mib, per, idle.seconds, verdict(ok))
	}
	for _, m := range memErrs {
		p("\nmemory test error: %s\n", m)
	}
	return b.String()
}

// machineReport is the machine, the tools, the load average and the
// command of the run.
func machineReport(c *config, e *env) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## Machine\n\n")
	p("- CPU: %d × %s (nproc %d)\n", runtime.NumCPU(), cpuModel(), runtime.NumCPU())
	p("- Go: %s\n", goVersion())
	p("- nginx: %s; wrk: %s\n", toolVersion(e.nginx, "-v"), toolVersion(e.wrk, "-v"))
	p("- load generator: %s; origin: %s\n", e.gen.name(), e.originKind)
	p("- load average before / after: %s / %s; open-file limit %d\n", e.loadBefore, loadAvg(), e.noFile)
	rounds := ""
	if c.rounds > 1 {
		rounds = fmt.Sprintf(", %d rounds in turn forwards and backwards, each target's median round reported", c.rounds)
	}
	p("- run: %s, %v per cell after %v warm-up%s, took %v\n\n", e.startedWall.Format("2006-01-02 15:04 MST"), c.duration, c.warmup, rounds, time.Since(e.startedWall).Round(time.Second))
	p("```sh\ngo run ./bench %s\n```\n\n", strings.Join(c.args, " "))
	return b.String()
}

func completeness(st *streamResult) string {
	switch {
	case st.complete:
		return "complete (" + st.status + ")"
	case st.status == "":
		return "no response"
	}
	return "**cut short** (" + st.status + ", no last chunk)"
}

func ratio(r, base cell) string {
	if base.err != nil || base.rps() == 0 || r.err != nil {
		return "—"
	}
	return fmt.Sprintf("%.2f×", r.rps()/base.rps())
}

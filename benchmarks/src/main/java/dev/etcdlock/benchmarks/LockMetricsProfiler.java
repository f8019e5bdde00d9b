package dev.etcdlock.benchmarks;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

/**
 * Per operation of each iteration: CPU time of this JVM (the client side: every thread, harness included) and of
 * etcd (its {@code process_cpu_seconds_total}, 10 ms resolution), the gRPC calls etcd handled and the watch events it
 * sent; plus whatever the benchmark reported through {@link Metrics}. {@link BenchMain} always adds it; from the
 * plain JMH command line: {@code -prof dev.etcdlock.benchmarks.LockMetricsProfiler}.
 */
public final class LockMetricsProfiler implements InternalProfiler {
    private static final List<String> RPCS = List.of("Txn", "Range", "Put", "DeleteRange", "Lock", "Unlock",
            "LeaseGrant", "LeaseRevoke");

    private final List<String> endpoints = Endpoints.configured();
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private Map<Long, Long> threadCpuBefore = Map.of();
    private long cpuBefore;
    private EtcdMetrics etcdBefore;

    @Override
    public String getDescription() {
        return "etcd-lock benchmark metrics: client and etcd CPU per op, etcd RPCs per op, benchmark-reported values";
    }

    @Override
    public void beforeIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams) {
        Metrics.drain(); // anything reported before this iteration belongs to none
        etcdBefore = endpoints.isEmpty() ? null : EtcdMetrics.scrape(endpoints);
        threadCpuBefore = threadCpu();
        cpuBefore = processCpuNanos();
    }

    /** CPU time of every live Java thread, by id. */
    private Map<Long, Long> threadCpu() {
        Map<Long, Long> cpu = new HashMap<>();
        if (threads.isThreadCpuTimeSupported() && threads.isThreadCpuTimeEnabled()) {
            for (long id : threads.getAllThreadIds()) {
                long t = threads.getThreadCpuTime(id);
                if (t >= 0) {
                    cpu.put(id, t);
                }
            }
        }
        return cpu;
    }

    /**
     * CPU per operation of the Java threads, grouped by name with digits folded ({@code grpc-default-worker-ELG-N-N});
     * the groups above 2% of the process, plus {@code cpu.threads.other} and {@code cpu.threads.vm} (the process CPU
     * no Java thread accounts for: JIT compilers, GC, JVM internals).
     */
    private List<Result> threadBreakdown(long processCpu, long ops) {
        Map<Long, Long> after = threadCpu();
        Map<String, Long> byGroup = new TreeMap<>();
        long javaTotal = 0;
        for (Map.Entry<Long, Long> e : after.entrySet()) {
            long delta = e.getValue() - threadCpuBefore.getOrDefault(e.getKey(), 0L);
            ThreadInfo info = threads.getThreadInfo(e.getKey());
            if (info == null || delta <= 0) {
                continue;
            }
            String group = info.getThreadName().replaceAll("[0-9]+", "N").replaceAll("[^A-Za-z0-9_.-]", "_");
            byGroup.merge(group, delta, Long::sum);
            javaTotal += delta;
        }
        List<Result> out = new ArrayList<>();
        long other = 0;
        for (Map.Entry<String, Long> e : byGroup.entrySet()) {
            if (e.getValue() >= 0.02 * processCpu) {
                out.add(new ScalarResult("cpu.threads." + e.getKey(), e.getValue() / 1e3 / ops, "us/op",
                        AggregationPolicy.AVG));
            } else {
                other += e.getValue();
            }
        }
        out.add(new ScalarResult("cpu.threads.other", other / 1e3 / ops, "us/op", AggregationPolicy.AVG));
        out.add(new ScalarResult("cpu.threads.vm", Math.max(0, processCpu - javaTotal) / 1e3 / ops, "us/op",
                AggregationPolicy.AVG));
        return out;
    }

    @Override
    public Collection<? extends Result> afterIteration(BenchmarkParams benchmarkParams,
            IterationParams iterationParams, IterationResult result) {
        long cpu = processCpuNanos() - cpuBefore;
        EtcdMetrics etcdAfter = etcdBefore == null ? null : EtcdMetrics.scrape(endpoints);
        List<Result> out = new ArrayList<>(Metrics.drain());
        long ops = result.getMetadata() == null ? 0 : result.getMetadata().getAllOps();
        boolean timed = benchmarkParams.getMode() != Mode.SingleShotTime;
        if (ops > 0 && timed) {
            out.add(new ScalarResult("cpu.client", cpu / 1e3 / ops, "us/op", AggregationPolicy.AVG));
            out.addAll(threadBreakdown(cpu, ops));
            if (etcdAfter != null) {
                out.add(new ScalarResult("cpu.etcd", (etcdAfter.cpuSeconds() - etcdBefore.cpuSeconds()) * 1e6 / ops,
                        "us/op", AggregationPolicy.AVG));
                for (String rpc : RPCS) {
                    double n = etcdAfter.handled(rpc) - etcdBefore.handled(rpc);
                    if (n > 0) {
                        out.add(new ScalarResult("etcd.rpc." + rpc, n / ops, "calls/op", AggregationPolicy.AVG));
                    }
                }
                double events = etcdAfter.watchEventsSent() - etcdBefore.watchEventsSent();
                out.add(new ScalarResult("etcd.watchEvents", events / ops, "events/op", AggregationPolicy.AVG));
            }
        }
        return out;
    }

    private static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return 0;
    }
}

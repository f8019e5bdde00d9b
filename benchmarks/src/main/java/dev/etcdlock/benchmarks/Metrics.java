package dev.etcdlock.benchmarks;

import java.util.ArrayList;
import java.util.List;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.ScalarResult;

/**
 * Secondary results that a benchmark computes itself (fairness, handoff percentiles, retained heap, stream counts).
 * A benchmark reports them at the end of an iteration (in its {@code @TearDown(Level.Iteration)} or
 * {@code Level.Invocation}); {@link LockMetricsProfiler}, which runs in the same forked JVM right after the
 * iteration, hands them to JMH. Unlike {@code @AuxCounters}, which JMH sums over iterations, these are averaged
 * ({@link AggregationPolicy#AVG}) or kept as the worst value ({@code MIN}/{@code MAX}) across iterations.
 */
public final class Metrics {
    private static final List<ScalarResult> PENDING = new ArrayList<>();

    private Metrics() {
    }

    /** A value averaged over iterations. */
    public static void avg(String label, double value, String unit) {
        add(new ScalarResult(label, value, unit, AggregationPolicy.AVG));
    }

    /** A value whose smallest iteration value is kept. */
    public static void min(String label, double value, String unit) {
        add(new ScalarResult(label, value, unit, AggregationPolicy.MIN));
    }

    /** A value whose largest iteration value is kept. */
    public static void max(String label, double value, String unit) {
        add(new ScalarResult(label, value, unit, AggregationPolicy.MAX));
    }

    private static synchronized void add(ScalarResult result) {
        PENDING.add(result);
    }

    static synchronized List<ScalarResult> drain() {
        List<ScalarResult> out = new ArrayList<>(PENDING);
        PENDING.clear();
        return out;
    }
}

package dev.etcdlock.benchmarks;

import dev.etcdlock.internal.local.LocalEtcdCluster;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatFactory;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * The jar's entry point: {@code java -jar benchmarks.jar [--quick] [--results DIR] [JMH args...]}.
 *
 * <p>Runs the benchmarks of {@link LockBenchmarks}, {@link RecipeBenchmarks}, {@link ElectionBenchmarks} and
 * {@link ObservabilityBenchmarks} group
 * by group (one group per benchmark method, each with its own iteration settings, which any {@code -wi/-w/-i/-r/-f}
 * given overrides), always with {@link LockMetricsProfiler}; writes all results into one JMH JSON file,
 * {@code DIR/<timestamp>.json} and {@code DIR/latest.json}; then prints the summary table ({@link Report}) and draws
 * {@code DIR/contended.svg} ({@link Chart}). JMH's own listing options ({@code -l}, {@code -lp}, {@code -lprof},
 * {@code -h}) work as usual.
 *
 * <p>etcd: {@code ETCD_ENDPOINTS} or {@code -Detcd.endpoints}; when neither is set, one throwaway etcd member is
 * started on loopback with its data on {@code /dev/shm} for the run (the {@code etcd} binary on the PATH).
 */
public final class BenchMain {

    /** A group's defaults; {@code modes} empty means the benchmark's own {@code @BenchmarkMode}. */
    record Iterations(int warmupIterations, TimeValue warmupTime, int measurementIterations,
            TimeValue measurementTime, int forks, List<Mode> modes) implements Serializable {
        static Iterations of(int wi, int wSeconds, int i, int rSeconds) {
            return new Iterations(wi, TimeValue.seconds(wSeconds), i, TimeValue.seconds(rSeconds), 1, List.of());
        }

        Iterations modes(Mode... modes) {
            return new Iterations(warmupIterations, warmupTime, measurementIterations, measurementTime, forks,
                    List.of(modes));
        }
    }

    /**
     * Benchmark method → iterations, in run order. On 2 cores shared with etcd, a forked JVM needs 15-20 s before
     * C2 has compiled its gRPC paths (at ~1,000 operations a second the tier thresholds are reached slowly, and the
     * one C2 thread competes with etcd and the benchmark for the cores); until then the JIT takes a large share of
     * the client's CPU ({@code cpu.threads.vm}). The full run warms up for 20 s. Quick mode cannot afford that
     * for 24 forks in 5 minutes: it warms for 3-5 s, so its numbers are under-warmed (lower throughput, higher
     * client CPU), and it runs {@code floor} and {@code uncontended} in SampleTime mode only (cycles/s are then
     * 1 / mean time, the same number for one thread in a closed loop).
     */
    static Map<String, Iterations> groups(boolean quick) {
        Map<String, Iterations> g = new LinkedHashMap<>();
        if (quick) {
            g.put("floor", Iterations.of(5, 1, 2, 2).modes(Mode.SampleTime));
            g.put("floorHandoff", Iterations.of(5, 1, 2, 2));
            g.put("uncontended", Iterations.of(5, 1, 2, 2).modes(Mode.SampleTime));
            g.put("contended", Iterations.of(4, 1, 2, 2));
            g.put("independent", Iterations.of(3, 1, 2, 2));
            g.put("holdMany", Iterations.of(0, 1, 1, 1));
            g.put("recipes", Iterations.of(3, 1, 2, 2));
            g.put("electionCycle", Iterations.of(5, 1, 2, 2).modes(Mode.SampleTime));
            g.put("electionFailover", Iterations.of(3, 1, 2, 2));
            g.put("observedCycle", Iterations.of(4, 1, 3, 2));
            g.put("rotatingObservers", Iterations.of(6, 2, 9, 2));
            g.put("eventOffCost", Iterations.of(3, 1, 3, 1));
        } else {
            g.put("floor", Iterations.of(10, 2, 5, 3));
            g.put("floorHandoff", Iterations.of(10, 2, 5, 3));
            g.put("uncontended", Iterations.of(10, 2, 5, 3));
            g.put("contended", Iterations.of(10, 2, 5, 3));
            g.put("independent", Iterations.of(10, 2, 5, 3));
            g.put("holdMany", Iterations.of(2, 1, 3, 1));
            g.put("recipes", Iterations.of(10, 2, 5, 3));
            g.put("electionCycle", Iterations.of(10, 2, 5, 3));
            g.put("electionFailover", Iterations.of(5, 2, 5, 3));
            g.put("observedCycle", Iterations.of(10, 2, 5, 3));
            g.put("rotatingObservers", Iterations.of(12, 2, 15, 3));
            g.put("eventOffCost", Iterations.of(5, 1, 5, 1));
        }
        return g;
    }

    /**
     * The benchmark's full name: {@code recipes} is {@link RecipeBenchmarks}'s, {@code election*} are
     * {@link ElectionBenchmarks}', {@code observedCycle}, {@code rotatingObservers} and {@code eventOffCost}
     * {@link ObservabilityBenchmarks}',
     * the rest {@link LockBenchmarks}'.
     */
    static String benchmark(String group) {
        Class<?> owner = group.equals("recipes") ? RecipeBenchmarks.class
                : group.startsWith("election") ? ElectionBenchmarks.class
                : group.equals("observedCycle") || group.equals("rotatingObservers")
                        || group.equals("eventOffCost") ? ObservabilityBenchmarks.class
                : LockBenchmarks.class;
        return owner.getName() + "." + group;
    }

    public static void main(String[] args) throws Exception {
        boolean quick = false;
        Path resultsDir = Path.of("results");
        List<String> jmhArgs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--results" -> resultsDir = Path.of(args[++i]);
                default -> jmhArgs.add(args[i]);
            }
        }
        CommandLineOptions user;
        try {
            user = new CommandLineOptions(jmhArgs.toArray(String[]::new));
        } catch (CommandLineOptionException e) {
            System.err.println("bad JMH option: " + e.getMessage());
            System.exit(2);
            return;
        }
        if (user.shouldHelp() || user.shouldList() || user.shouldListWithParams() || user.shouldListProfilers()
                || user.shouldListResultFormats()) {
            org.openjdk.jmh.Main.main(jmhArgs.toArray(String[]::new));
            return;
        }

        LocalEtcdCluster cluster = null;
        List<String> endpoints = Endpoints.configured();
        if (endpoints.isEmpty()) {
            System.out.println("# no ETCD_ENDPOINTS: starting a throwaway etcd (data on /dev/shm)");
            cluster = LocalEtcdCluster.start(1);
            endpoints = cluster.clientEndpoints();
        }
        String joined = String.join(",", endpoints);
        System.setProperty(Endpoints.PROPERTY, joined); // for -f 0 runs and the profiler in this JVM
        String machine = describeMachine(endpoints);
        System.out.println("# etcd: " + joined + "; " + machine + (quick ? "; quick" : ""));

        List<RunResult> results = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        try {
            for (Map.Entry<String, Iterations> group : groups(quick).entrySet()) {
                String name = benchmark(group.getKey());
                if (!user.getIncludes().isEmpty()
                        && user.getIncludes().stream().noneMatch(r -> Pattern.compile(r).matcher(name).find())) {
                    continue;
                }
                GroupOptions options = new GroupOptions(user, List.of("^" + Pattern.quote(name) + "$"),
                        group.getValue(), List.of("-D" + Endpoints.PROPERTY + "=" + joined));
                try {
                    results.addAll(new Runner(options).run());
                } catch (RunnerException e) {
                    failed.add(group.getKey());
                    System.err.println("# " + group.getKey() + " failed: " + e.getMessage());
                }
            }
        } finally {
            if (cluster != null) {
                cluster.close();
            }
        }
        if (results.isEmpty()) {
            System.err.println("# no results");
            System.exit(1);
        }

        Files.createDirectories(resultsDir);
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path file = resultsDir.resolve(stamp + ".json");
        try (PrintStream out = new PrintStream(Files.newOutputStream(file), true, StandardCharsets.UTF_8)) {
            ResultFormatFactory.getInstance(ResultFormatType.JSON, out).writeOut(results);
        }
        Files.copy(file, resultsDir.resolve("latest.json"), StandardCopyOption.REPLACE_EXISTING);
        System.out.println();
        System.out.println("# results: " + file + " (and " + resultsDir.resolve("latest.json") + ")");
        System.out.println();
        System.out.println("Measured " + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm"))
                + " on " + machine + (quick ? ", --quick" : "") + ":");
        System.out.println();
        Report.print(file, System.out);
        try {
            Chart.write(file, resultsDir.resolve("contended.svg"), machine);
            System.out.println();
            System.out.println("# chart: " + resultsDir.resolve("contended.svg"));
        } catch (IOException | RuntimeException e) {
            System.err.println("# no chart: " + e);
        }
        if (!failed.isEmpty()) {
            System.err.println("# failed groups: " + failed);
            System.exit(1);
        }
    }

    /** Cores, etcd version, JDK: what the README says a table was measured on. */
    static String describeMachine(List<String> endpoints) {
        String etcd;
        try (dev.etcdlock.EtcdLockClient client = dev.etcdlock.EtcdLockClient.connect(endpoints.toArray(String[]::new))) {
            etcd = "etcd " + client.serverVersion();
        } catch (RuntimeException e) {
            etcd = "etcd (version unknown: " + e.getMessage() + ")";
        }
        boolean tmpfs = endpoints.stream().allMatch(e -> e.contains("127.0.0.1") || e.contains("localhost"));
        String library = System.getenv("BENCH_LIBRARY_VERSION");
        String load = "";
        try {
            load = ", load average " + Files.readString(Path.of("/proc/loadavg")).split(" ")[0] + " at start";
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return Runtime.getRuntime().availableProcessors() + " cores, " + etcd + (tmpfs ? " on loopback" : "")
                + ", JDK " + Runtime.version().feature() + (library == null ? "" : ", etcd-lock " + library) + load;
    }

    private BenchMain() {
    }

}

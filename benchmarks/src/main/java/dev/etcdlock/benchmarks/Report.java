package dev.etcdlock.benchmarks;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * The summary table of a JMH JSON result file, in Markdown: scenario, ours, jetcd, floor, ours/jetcd, ours/floor.
 * {@code java -cp benchmarks.jar dev.etcdlock.benchmarks.Report results/latest.json}
 */
public final class Report {
    /** One line of the table; {@code ratios} false for counts, where a ratio means nothing. */
    record Row(String scenario, String unit, double ours, double jetcd, double floor, boolean ratios) {
    }

    public static void main(String[] args) throws IOException {
        print(Path.of(args.length > 0 ? args[0] : "results/latest.json"), System.out);
    }

    static void print(Path json, PrintStream out) throws IOException {
        List<Row> rows = rows(Results.load(json));
        out.println("| scenario | unit | ours | jetcd | floor | ours/jetcd | ours/floor |");
        out.println("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
        for (Row r : rows) {
            out.println("| " + r.scenario() + " | " + r.unit() + " | " + num(r.ours()) + " | " + num(r.jetcd())
                    + " | " + num(r.floor()) + " | " + (r.ratios() ? ratio(r.ours(), r.jetcd()) : "")
                    + " | " + (r.ratios() ? ratio(r.ours(), r.floor()) : "") + " |");
        }
        printRecipes(Results.load(json), out);
        printObservability(Results.load(json), out);
    }

    /** {@link ObservabilityBenchmarks}: the cycle with each observer next to none, and the event call alone. */
    static void printObservability(Results res, PrintStream out) {
        List<String> lines = new ArrayList<>();
        Results.Entry none = res.find("observedCycle", "thrpt", "observer", "none");
        for (String observer : new String[] {"none", "jfr", "listener"}) {
            Results.Entry e = res.find("observedCycle", "thrpt", "observer", observer);
            if (e != null) {
                lines.add("| lock+unlock, observer " + observer + " | cycles/s | " + num(e.perSecond()) + " | "
                        + (none == null ? "" : ratio(e.perSecond(), none.perSecond())) + " | "
                        + num(e.secondary("cpu.client")) + " | " + num(e.secondary("gc.alloc.rate.norm")) + " |");
            }
        }
        Results.Entry rotating = res.find("rotatingObservers", "thrpt");
        if (rotating != null) {
            double[] means = rotationMeans(rotating);
            for (int i = 0; i < means.length; i++) {
                lines.add("| lock+unlock, rotating, observer "
                        + ObservabilityBenchmarks.RotatingState.ROTATION.get(i) + " | cycles/s | " + num(means[i])
                        + " | " + ratio(means[i], means[0]) + " | | |");
            }
        }
        for (String jfr : new String[] {"off", "on"}) {
            Results.Entry e = res.find("eventOffCost", "avgt", "jfr", jfr);
            if (e != null) {
                lines.add("| JfrEvents.lockAcquired, JFR " + jfr + " | ns/call | "
                        + num(e.primary().get("score").getAsDouble()) + " | | | "
                        + num(e.secondary("gc.alloc.rate.norm")) + " |");
            }
        }
        if (lines.isEmpty()) {
            return;
        }
        out.println();
        out.println("| observability | unit | score | vs none | client CPU µs/cycle | allocation B/op |");
        out.println("| --- | --- | ---: | ---: | ---: | ---: |");
        lines.forEach(out::println);
    }

    /** {@link RecipeBenchmarks}, each recipe next to the mutex at the same number of contenders. */
    static void printRecipes(Results res, PrintStream out) {
        List<String> lines = new ArrayList<>();
        for (String c : new String[] {"1", "8"}) {
            Results.Entry mutex = res.find("recipes", "thrpt", "recipe", "mutex", "contenders", c);
            for (String recipe : new String[] {"mutex", "semaphore", "rwReadMostly"}) {
                Results.Entry e = res.find("recipes", "thrpt", "recipe", recipe, "contenders", c);
                if (e == null) {
                    continue;
                }
                double rate = e.perSecond();
                lines.add("| " + recipe + " | " + c + " | " + num(rate) + " | "
                        + (mutex == null ? "" : ratio(rate, mutex.perSecond())) + " | "
                        + num(e.secondary("cpu.etcd")) + " | " + num(e.secondary("cpu.client")) + " | "
                        + num(e.secondary("fairness.worstMinOverMean")) + " |");
            }
        }
        if (lines.isEmpty()) {
            return;
        }
        out.println();
        out.println("| recipe | contenders | acquisitions/s | vs mutex | etcd CPU µs/acq | client CPU µs/acq "
                + "| fairness min/mean |");
        out.println("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        lines.forEach(out::println);
    }

    /** Mean of the measured iterations of each observer of {@code rotatingObservers}, in rotation order. */
    static double[] rotationMeans(Results.Entry e) {
        int observers = ObservabilityBenchmarks.RotatingState.ROTATION.size();
        double[] sum = new double[observers];
        int[] count = new int[observers];
        for (com.google.gson.JsonElement fork : e.primary().getAsJsonArray("rawData")) {
            com.google.gson.JsonArray iterations = fork.getAsJsonArray();
            for (int i = 0; i < iterations.size(); i++) {
                sum[i % observers] += iterations.get(i).getAsDouble();
                count[i % observers]++;
            }
        }
        double[] means = new double[observers];
        for (int i = 0; i < observers; i++) {
            means[i] = count[i] == 0 ? Double.NaN : sum[i] / count[i];
        }
        return means;
    }

    static List<Row> rows(Results res) {
        List<Row> rows = new ArrayList<>();
        String[] ours = {"impl", "etcdlock"};
        String[] jetcd = {"impl", "jetcd"};

        // uncontended, next to the raw cycle. Cycles/s from Throughput mode, or 1 / mean of SampleTime mode when
        // only that ran (--quick): for one thread in a closed loop the two are the same number.
        Results.Entry floorS = res.find("floor", "sample");
        Results.Entry floorT = or(res.find("floor", "thrpt"), floorS);
        Results.Entry oursS = res.find("uncontended", "sample", ours);
        Results.Entry jetcdS = res.find("uncontended", "sample", jetcd);
        Results.Entry oursT = or(res.find("uncontended", "thrpt", ours), oursS);
        Results.Entry jetcdT = or(res.find("uncontended", "thrpt", jetcd), jetcdS);
        add(rows, "uncontended lock+unlock", "cycles/s", oursT, jetcdT, floorT, Report::cyclesPerSecond, true);
        add(rows, "uncontended p50", "µs", oursS, jetcdS, floorS, e -> e.percentileMicros("50.0"), true);
        add(rows, "uncontended p99", "µs", oursS, jetcdS, floorS, e -> e.percentileMicros("99.0"), true);
        perOp(rows, "uncontended", "cycle", oursT, jetcdT, floorT);

        // contended, next to the delete ping-pong
        Results.Entry pingPong = res.find("floorHandoff", "thrpt");
        for (String c : new String[] {"2", "8", "32"}) {
            Results.Entry o = res.find("contended", "thrpt", "impl", "etcdlock", "contenders", c);
            Results.Entry j = res.find("contended", "thrpt", "impl", "jetcd", "contenders", c);
            if (o == null && j == null) {
                continue;
            }
            add(rows, "contended " + c, "acquisitions/s", o, j, pingPong, Results.Entry::perSecond, true);
            add(rows, "contended " + c + " handoff p50", "µs", o, j, null, e -> e.secondary("handoff.p50"), true);
            add(rows, "contended " + c + " handoff p99", "µs", o, j, null, e -> e.secondary("handoff.p99"), true);
            add(rows, "contended " + c + " fairness min/mean", "ratio", o, j, null,
                    e -> e.secondary("fairness.worstMinOverMean"), true);
            add(rows, "contended " + c + " exclusion violations", "#", o, j, null,
                    e -> e.secondary("exclusion.violations"), false);
            perOp(rows, "contended " + c, "acquisition", o, j, null);
        }

        for (String n : new String[] {"1", "8", "64"}) {
            add(rows, "independent " + n + " threads", "cycles/s",
                    res.find("independent", "thrpt", "impl", "etcdlock", "locks", n),
                    res.find("independent", "thrpt", "impl", "jetcd", "locks", n), null,
                    Results.Entry::perSecond, true);
        }

        for (String p : new String[] {"1", "64"}) {
            Results.Entry o = res.find("holdMany", "ss", "impl", "etcdlock", "parallelism", p);
            Results.Entry j = res.find("holdMany", "ss", "impl", "jetcd", "parallelism", p);
            if (o == null && j == null) {
                continue;
            }
            String label = "holdMany " + (p.equals("1") ? "sequential" : p + "-way parallel");
            add(rows, label + " acquire 10,000", "locks/s", o, j, null, Results.Entry::ratePerSecondFromTime, true);
            add(rows, label + " release 10,000", "ms", o, j, null, e -> e.secondary("holdMany.releaseMs"), true);
            add(rows, label + " retained heap per held lock", "bytes", o, j, null,
                    e -> e.secondary("holdMany.retainedBytesPerLock"), true);
            add(rows, label + " heap left per released name", "bytes", o, j, null,
                    e -> e.secondary("holdMany.leftBytesPerReleasedName"), false);
            add(rows, label + " Watch streams opened", "#", o, j, null, e -> e.secondary("streams.watch"), false);
            add(rows, label + " LeaseKeepAlive streams opened", "#", o, j, null,
                    e -> e.secondary("streams.keepAlive"), false);
        }
        return rows;
    }

    private static Results.Entry or(Results.Entry a, Results.Entry b) {
        return a != null ? a : b;
    }

    private static double cyclesPerSecond(Results.Entry e) {
        return e.mode().equals("thrpt") ? e.perSecond() : e.ratePerSecondFromTime();
    }

    private static void perOp(List<Row> rows, String scenario, String op, Results.Entry o, Results.Entry j,
            Results.Entry floor) {
        add(rows, scenario + " client CPU", "µs/" + op, o, j, floor, e -> e.secondary("cpu.client"), true);
        add(rows, scenario + " client CPU, Java threads only", "µs/" + op, o, j, floor,
                e -> e.secondary("cpu.client") - e.secondary("cpu.threads.vm"), true);
        add(rows, scenario + " etcd CPU", "µs/" + op, o, j, floor, e -> e.secondary("cpu.etcd"), true);
        Results.Entry any = o != null ? o : j;
        if (any != null && !Double.isNaN(any.secondary("gc.alloc.rate.norm"))) {
            add(rows, scenario + " allocation", "B/" + op, o, j, floor, e -> e.secondary("gc.alloc.rate.norm"), true);
        }
    }

    private static void add(List<Row> rows, String scenario, String unit, Results.Entry ours, Results.Entry jetcd,
            Results.Entry floor, ToDoubleFunction<Results.Entry> value, boolean ratios) {
        if (ours == null && jetcd == null && floor == null) {
            return;
        }
        rows.add(new Row(scenario, unit, of(ours, value), of(jetcd, value), of(floor, value), ratios));
    }

    private static double of(Results.Entry e, ToDoubleFunction<Results.Entry> value) {
        return e == null ? Double.NaN : value.applyAsDouble(e);
    }

    static String num(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "—";
        }
        double a = Math.abs(v);
        if (a >= 100 || v == Math.rint(v)) {
            return String.format(Locale.ROOT, "%,.0f", v);
        }
        if (a >= 10) {
            return String.format(Locale.ROOT, "%.1f", v);
        }
        return String.format(Locale.ROOT, "%.2f", v);
    }

    static String ratio(double a, double b) {
        if (Double.isNaN(a) || Double.isNaN(b) || b == 0) {
            return "";
        }
        double r = a / b;
        return String.format(Locale.ROOT, r >= 10 ? "%.0f×" : "%.2f×", r);
    }

    private Report() {
    }
}

package dev.etcdlock.benchmarks;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.ProfilerConfig;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;
import org.openjdk.jmh.runner.options.WarmupMode;
import org.openjdk.jmh.util.Optional;

/**
 * The user's JMH options for one group of benchmarks: the group's own includes, the group's iteration settings
 * where the user gave none, {@link LockMetricsProfiler} and JMH's {@code gc} profiler added to the user's profilers,
 * the etcd endpoints passed to the forks, and no result file (BenchMain writes one file for all groups).
 */
final class GroupOptions implements Options {
    private static final long serialVersionUID = 1L;

    private final Options user;
    private final List<String> includes;
    private final BenchMain.Iterations iterations;
    private final List<String> jvmArgsAppend;

    GroupOptions(Options user, List<String> includes, BenchMain.Iterations iterations, List<String> jvmArgsAppend) {
        this.user = user;
        this.includes = includes;
        this.iterations = iterations;
        this.jvmArgsAppend = jvmArgsAppend;
    }

    private static <T> Optional<T> or(Optional<T> given, T fallback) {
        return given.hasValue() ? given : Optional.of(fallback);
    }

    @Override
    public List<String> getIncludes() {
        return includes;
    }

    @Override
    public List<String> getExcludes() {
        return user.getExcludes();
    }

    @Override
    public Optional<String> getOutput() {
        return user.getOutput();
    }

    @Override
    public Optional<ResultFormatType> getResultFormat() {
        return Optional.none();
    }

    @Override
    public Optional<String> getResult() {
        return Optional.none();
    }

    @Override
    public Optional<Boolean> shouldDoGC() {
        return user.shouldDoGC();
    }

    @Override
    public List<ProfilerConfig> getProfilers() {
        List<ProfilerConfig> profilers = new ArrayList<>(user.getProfilers());
        profilers.add(new ProfilerConfig(LockMetricsProfiler.class.getName(), ""));
        if (profilers.stream().noneMatch(p -> p.getKlass().equals("gc")
                || p.getKlass().equals(org.openjdk.jmh.profile.GCProfiler.class.getName()))) {
            profilers.add(new ProfilerConfig("gc", "")); // allocation per operation: cheap, always wanted
        }
        return profilers;
    }

    @Override
    public Optional<VerboseMode> verbosity() {
        return user.verbosity();
    }

    @Override
    public Optional<Boolean> shouldFailOnError() {
        return or(user.shouldFailOnError(), true);
    }

    @Override
    public Optional<Integer> getThreads() {
        return user.getThreads();
    }

    @Override
    public Optional<int[]> getThreadGroups() {
        return user.getThreadGroups();
    }

    @Override
    public Optional<Boolean> shouldSyncIterations() {
        return user.shouldSyncIterations();
    }

    @Override
    public Optional<Integer> getWarmupIterations() {
        return or(user.getWarmupIterations(), iterations.warmupIterations());
    }

    @Override
    public Optional<TimeValue> getWarmupTime() {
        return or(user.getWarmupTime(), iterations.warmupTime());
    }

    @Override
    public Optional<Integer> getWarmupBatchSize() {
        return user.getWarmupBatchSize();
    }

    @Override
    public Optional<WarmupMode> getWarmupMode() {
        return user.getWarmupMode();
    }

    @Override
    public List<String> getWarmupIncludes() {
        return user.getWarmupIncludes();
    }

    @Override
    public Optional<Integer> getMeasurementIterations() {
        return or(user.getMeasurementIterations(), iterations.measurementIterations());
    }

    @Override
    public Optional<TimeValue> getMeasurementTime() {
        return or(user.getMeasurementTime(), iterations.measurementTime());
    }

    @Override
    public Optional<Integer> getMeasurementBatchSize() {
        return user.getMeasurementBatchSize();
    }

    @Override
    public Collection<Mode> getBenchModes() {
        return user.getBenchModes().isEmpty() ? iterations.modes() : user.getBenchModes();
    }

    @Override
    public Optional<TimeUnit> getTimeUnit() {
        return user.getTimeUnit();
    }

    @Override
    public Optional<Integer> getOperationsPerInvocation() {
        return user.getOperationsPerInvocation();
    }

    @Override
    public Optional<Integer> getForkCount() {
        return or(user.getForkCount(), iterations.forks());
    }

    @Override
    public Optional<Integer> getWarmupForkCount() {
        return user.getWarmupForkCount();
    }

    @Override
    public Optional<String> getJvm() {
        return user.getJvm();
    }

    @Override
    public Optional<Collection<String>> getJvmArgs() {
        return user.getJvmArgs();
    }

    @Override
    public Optional<Collection<String>> getJvmArgsAppend() {
        List<String> args = new ArrayList<>();
        if (user.getJvmArgsAppend().hasValue()) {
            args.addAll(user.getJvmArgsAppend().get());
        }
        args.addAll(jvmArgsAppend);
        return Optional.of(args);
    }

    @Override
    public Optional<Collection<String>> getJvmArgsPrepend() {
        return user.getJvmArgsPrepend();
    }

    @Override
    public Optional<Collection<String>> getParameter(String name) {
        return user.getParameter(name);
    }

    @Override
    public Optional<TimeValue> getTimeout() {
        return user.getTimeout();
    }
}

package dev.etcdlock.internal.local;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the etcd server binary used by {@link LocalEtcdCluster}: {@code $ETCD_BIN}, the PATH, the usual places,
 * the versions {@code .ci/etcd-versions} fetched; failing those it installs Debian's etcd packages when that is
 * possible without asking anyone (Debian/Ubuntu, running as root).
 */
public final class EtcdBinary {

    private static final System.Logger LOG = System.getLogger(EtcdBinary.class.getName());

    static final String ENV_BIN = "ETCD_BIN";

    private static final List<Path> WELL_KNOWN = List.of(Path.of("/usr/bin/etcd"), Path.of("/usr/local/bin/etcd"));
    private static final Pattern VERSION = Pattern.compile("etcd Version:\\s*(\\S+)");
    private static final long APT_TIMEOUT_MINUTES = 15;
    private static final int APT_TAIL_LINES = 40;

    static final String HOW_TO_INSTALL = "Install etcd in one of these ways: "
            + "(1) on Debian/Ubuntu: apt-get install etcd-server etcd-client; "
            + "(2) download a release from https://github.com/etcd-io/etcd/releases, unpack it and set "
            + ENV_BIN + "=/path/to/etcd; "
            + "(3) to use an etcd cluster that is already running, set ETCD_ENDPOINTS=http://host:2379[,...].";

    private EtcdBinary() {
    }

    /**
     * Where etcd is: {@code $ETCD_BIN}, then {@code etcd} on the PATH, then /usr/bin/etcd and
     * /usr/local/bin/etcd, then the newest one {@code .ci/etcd-versions} unpacked.
     *
     * @throws IllegalStateException if ETCD_BIN is set but does not name an executable file, because
     *                               silently falling back to another etcd would hide the mistake
     */
    public static Optional<Path> locate() {
        String fromEnv = System.getenv(ENV_BIN);
        if (fromEnv != null && !fromEnv.isBlank()) {
            Path bin = Path.of(fromEnv.trim());
            if (!isExecutableFile(bin)) {
                throw new IllegalStateException(ENV_BIN + "=" + fromEnv + " is not an executable file. "
                        + "Point it at the etcd server binary, or unset it to use etcd from the PATH.");
            }
            return Optional.of(bin.toAbsolutePath());
        }
        return onPath().or(() -> WELL_KNOWN.stream().filter(EtcdBinary::isExecutableFile).findFirst())
                .or(EtcdBinary::fetched);
    }

    /**
     * The newest etcd that the project's {@code .ci/etcd-versions} unpacked into its cache
     * ({@code $ETCD_VERSIONS_CACHE}, else {@code ~/.cache/etcd-lock/etcd/<version>/usr/bin/etcd}).
     */
    private static Optional<Path> fetched() {
        String env = System.getenv("ETCD_VERSIONS_CACHE");
        Path cache = env != null && !env.isBlank() ? Path.of(env)
                : Path.of(System.getProperty("user.home"), ".cache", "etcd-lock", "etcd");
        try (var dirs = Files.list(cache)) {
            return dirs.filter(d -> d.getFileName().toString().matches("\\d+\\.\\d+\\.\\d+"))
                    .max(java.util.Comparator.comparing(EtcdBinary::versionKey))
                    .map(d -> d.resolve("usr/bin/etcd")).filter(EtcdBinary::isExecutableFile);
        } catch (IOException | UncheckedIOException e) {
            return Optional.empty();
        }
    }

    private static String versionKey(Path dir) {
        StringBuilder key = new StringBuilder();
        for (String part : dir.getFileName().toString().split("\\.")) {
            key.append(String.format("%06d", Integer.parseInt(part)));
        }
        return key.toString();
    }

    /**
     * Like {@link #locate()}, but installs etcd with apt-get when it is missing and this is a Debian-like
     * system on which we are root.
     *
     * @throws IllegalStateException with instructions when etcd cannot be found or installed
     */
    public static Path require() {
        Optional<Path> found = locate();
        if (found.isPresent()) {
            return found.get();
        }
        if (!canInstallWithApt()) {
            throw new IllegalStateException("etcd was not found (" + ENV_BIN + " unset, no etcd on PATH, "
                    + "none in " + WELL_KNOWN + "). " + HOW_TO_INSTALL);
        }
        LOG.log(System.Logger.Level.INFO,
                "etcd not found; installing Debian packages etcd-server etcd-client with apt-get");
        runApt(List.of("apt-get", "update"));
        runApt(List.of("apt-get", "install", "-y", "etcd-server", "etcd-client"));
        return locate().orElseThrow(() -> new IllegalStateException(
                "apt-get installed etcd-server, but no etcd binary was found afterwards. " + HOW_TO_INSTALL));
    }

    private static final java.util.concurrent.ConcurrentHashMap<Path, String> VERSIONS =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** {@link #version(Path)}, asked once per binary in this JVM. */
    public static String cachedVersion(Path bin) {
        return VERSIONS.computeIfAbsent(bin.toAbsolutePath(), EtcdBinary::version);
    }

    /** The version etcd reports for itself, e.g. {@code 3.4.23}. */
    public static String version(Path bin) {
        List<String> output = new ArrayList<>();
        int exit = run(List.of(bin.toString(), "--version"), output, 30, TimeUnit.SECONDS);
        for (String line : output) {
            Matcher m = VERSION.matcher(line);
            if (m.find()) {
                return m.group(1);
            }
        }
        throw new IllegalStateException(bin + " --version exited with " + exit
                + " and printed no 'etcd Version:' line; is it really the etcd server binary? Output: "
                + String.join("\n", output));
    }

    private static Optional<Path> onPath() {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty()) {
                Path candidate = Path.of(dir, "etcd");
                if (isExecutableFile(candidate)) {
                    return Optional.of(candidate.toAbsolutePath());
                }
            }
        }
        return Optional.empty();
    }

    private static boolean isExecutableFile(Path p) {
        return Files.isRegularFile(p) && Files.isExecutable(p);
    }

    private static boolean canInstallWithApt() {
        return Files.exists(Path.of("/usr/bin/apt-get"))
                && Files.exists(Path.of("/etc/debian_version"))
                && isRoot();
    }

    private static boolean isRoot() {
        List<String> output = new ArrayList<>();
        try {
            int exit = run(List.of("id", "-u"), output, 10, TimeUnit.SECONDS);
            return exit == 0 && !output.isEmpty() && output.get(0).trim().equals("0");
        } catch (RuntimeException e) {
            // Without a working `id` we cannot tell, and installing packages as non-root would fail anyway.
            return false;
        }
    }

    private static void runApt(List<String> command) {
        // Output goes to the logger rather than inherited stdout: under Maven Surefire the forked JVM's stdout
        // is its channel to Maven, and raw bytes written there corrupt it.
        List<String> output = new ArrayList<>();
        int exit = run(command, output, APT_TIMEOUT_MINUTES, TimeUnit.MINUTES);
        if (exit != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed with exit code " + exit
                    + ". Last output:\n" + String.join("\n", output) + "\n" + HOW_TO_INSTALL);
        }
    }

    /**
     * Runs a short command, collecting its last output lines (stdout and stderr together) into
     * {@code tail}, and returns its exit code.
     */
    private static int run(List<String> command, List<String> tail, long timeout, TimeUnit unit) {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
        Process process;
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("could not run " + String.join(" ", command), e);
        }
        Deque<String> lines = new ArrayDeque<>();
        Thread reader = new Thread(() -> drain(process, lines, command.get(0)), "etcd-binary-output");
        reader.setDaemon(true);
        reader.start();
        try {
            if (!process.waitFor(timeout, unit)) {
                process.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " did not finish within "
                        + timeout + " " + unit.toString().toLowerCase() + "; it was killed.");
            }
            reader.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + String.join(" ", command), e);
        }
        synchronized (lines) {
            tail.addAll(lines);
        }
        return process.exitValue();
    }

    private static void drain(Process process, Deque<String> lines, String program) {
        try (BufferedReader r = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                LOG.log(System.Logger.Level.DEBUG, "{0}: {1}", program, line);
                synchronized (lines) {
                    lines.addLast(line);
                    if (lines.size() > APT_TAIL_LINES) {
                        lines.removeFirst();
                    }
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "stopped reading output of " + program, e);
        }
    }
}

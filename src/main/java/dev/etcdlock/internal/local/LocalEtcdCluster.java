package dev.etcdlock.internal.local;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Real etcd server processes on 127.0.0.1, for tests, the demo CLI and benchmarks.
 *
 * <p>Every process started here is killed by {@link #close()}, or by a JVM shutdown hook if close is never
 * reached. Fault injection ({@link #kill}, {@link #stop}, {@link #restart}, {@link #pause},
 * {@link #resume}) is meant to be driven from one thread at a time.
 */
public final class LocalEtcdCluster implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(LocalEtcdCluster.class.getName());

    private static final String LOOPBACK = "127.0.0.1";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration HEALTH_BUDGET = Duration.ofSeconds(10);
    private static final Duration HEALTH_RETRY_DELAY = Duration.ofMillis(200);
    private static final Duration HTTP_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration EXIT_TIMEOUT = Duration.ofSeconds(10);
    private static final int START_ATTEMPTS = 3;
    private static final int TAIL_LINES_KEPT = 200;
    private static final int TAIL_LINES_SHOWN = 40;
    private static final String HEALTH_TRUE = "\"health\":\"true\"";
    private static final String LEADER_METRIC = "etcd_server_is_leader 1";
    private static final String BASE_DIR_PREFIX = "etcd-lock-";
    /** Names the JVM that owns a base dir, so that a later JVM can clean up after one that was SIGKILLed. */
    private static final String OWNER_FILE = "owner";

    /**
     * Log lines that etcd prints once it serves clients. etcd 3.5+ (and 3.4 with --logger=capnslog) prints
     * the first; etcd 3.4 with --logger=zap never does and prints only "serving client traffic insecurely"
     * (or "securely") after the server is ready.
     */
    private static final List<String> READY_MARKERS =
            List.of("ready to serve client requests", "serving client traffic");

    private final Path etcdBin;
    /** The command line's spelling for this binary's version (3.6 renamed flags, 3.4 needs --logger=zap). */
    private final EtcdFlags flags;
    private final Path baseDir;
    private final List<String> extraArgs;
    private final Tls tls; // null: plain http
    private final String clusterToken;
    private final List<Member> members;
    private final HttpClient http;
    private final Thread shutdownHook;

    /** Every process ever launched, including replaced ones, so that close() can account for all of them. */
    private final List<Process> launched = new CopyOnWriteArrayList<>();
    private final Object lifecycleLock = new Object();
    private boolean closed; // guarded by lifecycleLock

    private LocalEtcdCluster(Path etcdBin, int size, List<String> extraArgs, Tls tls) throws IOException {
        this.etcdBin = etcdBin;
        this.flags = EtcdFlags.forVersion(EtcdBinary.cachedVersion(etcdBin));
        this.extraArgs = List.copyOf(extraArgs);
        this.tls = tls;
        this.clusterToken = "etcd-lock-" + UUID.randomUUID();
        this.baseDir = Files.createTempDirectory(tempRoot(), BASE_DIR_PREFIX);
        Files.writeString(baseDir.resolve(OWNER_FILE), describeOwner(ProcessHandle.current()));
        this.members = createMembers(size, baseDir, tls != null);
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(1))
                .build();
        this.shutdownHook = new Thread(this::cleanUpOnJvmExit, "etcd-lock-local-cluster-cleanup");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** Starts {@code members} etcd members (1 for a single server, 3 for a cluster) and waits until all serve. */
    public static LocalEtcdCluster start(int members) {
        return start(members, List.of());
    }

    /**
     * Like {@link #start(int)}, with {@code extraArgs} appended to every member's command line, e.g.
     * {@code --auto-compaction-retention=1}.
     *
     * @throws IllegalStateException if etcd is missing, exits, or is not ready within 30 s; the message
     *                               carries the end of the member's log
     */
    public static LocalEtcdCluster start(int members, List<String> extraArgs) {
        return start(members, extraArgs, null);
    }

    /**
     * Client TLS for the members: the certificate and key they serve on {@code https://} client URLs and, for
     * mutual TLS, the CA whose client certificates they require ({@code --trusted-ca-file}, {@code
     * --client-cert-auth}). Peers talk plain http to each other, and /metrics and /health are served over plain
     * http on a port of their own ({@code --listen-metrics-urls}), so that readiness checks need no certificates.
     *
     * @param clientCa null: clients need no certificate
     */
    public record Tls(Path cert, Path key, Path clientCa) {
        public Tls {
            Objects.requireNonNull(cert, "cert");
            Objects.requireNonNull(key, "key");
        }

        /** Serves TLS; clients need no certificate. */
        public static Tls server(Path cert, Path key) {
            return new Tls(cert, key, null);
        }

        /** Serves TLS and requires client certificates signed by {@code clientCa}. */
        public static Tls mutual(Path cert, Path key, Path clientCa) {
            return new Tls(cert, key, Objects.requireNonNull(clientCa, "clientCa"));
        }
    }

    /**
     * Like {@link #start(int, List)}, serving clients over TLS when {@code tls} is not null: the client endpoints
     * are then {@code https://}.
     *
     * @throws IllegalStateException if etcd is missing, exits (a bad certificate or key file is a reason to), or is
     *                               not ready within 30 s; the message carries the end of the member's log
     */
    public static LocalEtcdCluster start(int members, List<String> extraArgs, Tls tls) {
        if (members < 1) {
            throw new IllegalArgumentException("an etcd cluster needs at least 1 member, got " + members);
        }
        Objects.requireNonNull(extraArgs, "extraArgs");
        Path bin = EtcdBinary.require();
        reapOrphans();
        for (int attempt = 1; ; attempt++) {
            LocalEtcdCluster cluster = create(bin, members, extraArgs, tls);
            long t0 = System.nanoTime();
            try {
                cluster.startAllMembers();
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                LOG.log(System.Logger.Level.INFO, () -> "started " + cluster + " in " + ms + " ms");
                return cluster;
            } catch (MemberExitedException e) {
                cluster.closeQuietly(e);
                if (!e.portInUse() || attempt == START_ATTEMPTS) {
                    throw e;
                }
                // The ports were free when we picked them, but another process took one before etcd bound it.
                LOG.log(System.Logger.Level.INFO, () -> "a port was taken before etcd could bind it ("
                        + e.memberName + "); retrying with new ports");
            } catch (RuntimeException | Error e) {
                cluster.closeQuietly(e);
                throw e;
            }
        }
    }

    public List<String> clientEndpoints() {
        return members.stream().map(Member::clientUrl).collect(Collectors.toUnmodifiableList());
    }

    public String clientEndpoint(int member) {
        return member(member).clientUrl();
    }

    public int size() {
        return members.size();
    }

    /** The version the members' etcd binary reports, such as {@code 3.5.30}. */
    public String version() {
        return EtcdBinary.cachedVersion(etcdBin);
    }

    /** PID of the member's current (or last) process. */
    public long pid(int member) {
        return member(member).process().pid();
    }

    /** The member's /metrics, over plain http also when clients use TLS. */
    public URI metricsUri(int member) {
        return member(member).uri("/metrics");
    }

    /** Whether clients talk TLS to the members ({@code https://} endpoints). */
    public boolean isTls() {
        return tls != null;
    }

    public Path dataDir(int member) {
        return member(member).dataDir;
    }

    /** The member's combined stdout/stderr; deleted by {@link #close()} together with the data dirs. */
    public Path logFile(int member) {
        return member(member).logFile;
    }

    public boolean isRunning(int member) {
        Process p = member(member).process;
        return p != null && p.isAlive();
    }

    /** SIGKILL, like a crash or power loss; returns once the process is gone. */
    public synchronized void kill(int member) {
        Member m = member(member);
        Process p = m.process();
        p.destroyForcibly();
        awaitExit(m, p);
        m.paused = false;
    }

    /** SIGTERM, a graceful shutdown (a leader hands over leadership first); SIGKILL if it takes over 10 s. */
    public synchronized void stop(int member) {
        Member m = member(member);
        Process p = m.process();
        if (!p.isAlive()) {
            return;
        }
        if (m.paused) {
            // A stopped process cannot act on SIGTERM until it is continued.
            resume(member);
        }
        p.destroy();
        if (!waitForExit(p, EXIT_TIMEOUT)) {
            LOG.log(System.Logger.Level.WARNING, () -> m.name + " ignored SIGTERM for "
                    + EXIT_TIMEOUT.toSeconds() + " s; killing it");
            p.destroyForcibly();
        }
        awaitExit(m, p);
    }

    /**
     * Starts the member again with its name, ports and data dir, and waits until it serves. A member that
     * is still running is stopped first.
     */
    public synchronized void restart(int member) {
        restartAll(List.of(member));
    }

    /**
     * Starts the given members again together and waits until they serve: after the whole cluster went down, one
     * member alone cannot serve (no quorum), so they must come back at the same time. Running members among them
     * are stopped first.
     */
    public synchronized void restartAll(List<Integer> memberIndexes) {
        List<Member> restarting = memberIndexes.stream().map(this::member).toList();
        for (int i : memberIndexes) {
            if (isRunning(i)) {
                stop(i);
            }
        }
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        Map<Member, CompletableFuture<Void>> ready = new LinkedHashMap<>();
        for (Member m : restarting) {
            ready.put(m, launch(m, deadline));
        }
        try {
            awaitReady(ready);
        } catch (RuntimeException e) {
            restarting.forEach(m -> m.process().destroyForcibly());
            throw e;
        }
        LOG.log(System.Logger.Level.INFO, () -> "restarted " + restarting.stream()
                .map(m -> m.name + " as pid " + m.process().pid()).collect(Collectors.joining(", ")));
    }

    /** SIGSTOP: the member freezes with its sockets open, like a long GC pause or a hung VM. */
    public synchronized void pause(int member) {
        Member m = member(member);
        signal(m, requireAlive(m), "STOP");
        m.paused = true;
    }

    /** SIGCONT after {@link #pause(int)}. */
    public synchronized void resume(int member) {
        Member m = member(member);
        signal(m, requireAlive(m), "CONT");
        m.paused = false;
    }

    /**
     * Index of the member whose /metrics reports {@code etcd_server_is_leader 1}, or -1 if no running,
     * unpaused member does (e.g. during an election).
     */
    public int leaderIndex() {
        List<CompletableFuture<Boolean>> answers = new ArrayList<>();
        for (Member m : members) {
            Process p = m.process;
            answers.add(p != null && p.isAlive() && !m.paused
                    ? get(m.uri("/metrics")).thenApply(LocalEtcdCluster::reportsLeader).exceptionally(e -> false)
                    : CompletableFuture.completedFuture(false));
        }
        for (int i = 0; i < answers.size(); i++) {
            if (answers.get(i).join()) {
                return i;
            }
        }
        return -1;
    }

    /** Kills every process this cluster started, waits for them to exit and deletes the data dirs. Idempotent. */
    @Override
    public void close() {
        synchronized (lifecycleLock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shutdownInProgress) {
            // The hook is running or about to run; it does the same cleanup and tolerates running twice.
        }
        List<String> problems = new ArrayList<>(killAll());
        problems.addAll(deleteBaseDir());
        if (!problems.isEmpty()) {
            throw new IllegalStateException("closing " + this + " left something behind: "
                    + String.join("; ", problems));
        }
    }

    @Override
    public String toString() {
        return members.stream().map(Member::describe)
                .collect(Collectors.joining(", ", "LocalEtcdCluster[", "]"));
    }

    // ---- starting ----

    private static LocalEtcdCluster create(Path bin, int size, List<String> extraArgs, Tls tls) {
        try {
            return new LocalEtcdCluster(bin, size, extraArgs, tls);
        } catch (IOException e) {
            throw new UncheckedIOException("could not prepare data directories for etcd under " + tempRoot()
                    + "; check that it is writable", e);
        }
    }

    /** tmpfs makes etcd's fsyncs free, which keeps tests fast and spares slow CI disks from leader loss. */
    private static Path tempRoot() {
        Path shm = Path.of("/dev/shm");
        if (Files.isDirectory(shm) && Files.isWritable(shm)) {
            return shm;
        }
        return Path.of(System.getProperty("java.io.tmpdir"));
    }

    /**
     * Kills etcd processes and deletes data dirs left behind by JVMs that died without running shutdown
     * hooks (SIGKILL, e.g. a CI timeout). An idle etcd rarely logs, so a broken output pipe does not end it.
     */
    private static void reapOrphans() {
        try (Stream<Path> dirs = Files.list(tempRoot())) {
            dirs.filter(d -> d.getFileName().toString().startsWith(BASE_DIR_PREFIX))
                    .filter(LocalEtcdCluster::isOrphaned)
                    .forEach(LocalEtcdCluster::reap);
        } catch (IOException | UncheckedIOException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "could not look for orphaned etcd data dirs: " + e);
        }
    }

    /** Dirs without an owner file may belong to a JVM that is just starting, so they are left alone. */
    private static boolean isOrphaned(Path dir) {
        Path owner = dir.resolve(OWNER_FILE);
        try {
            String recorded = Files.readString(owner).trim();
            long pid = Long.parseLong(recorded.split(" ")[0]);
            return ProcessHandle.of(pid)
                    .filter(ph -> !isZombie(ph.pid()))
                    .map(LocalEtcdCluster::describeOwner)
                    .map(d -> !d.equals(recorded))
                    .orElse(true);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** A JVM killed moments ago can linger as a zombie until reaped, and still looks alive to ProcessHandle. */
    private static boolean isZombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            int afterName = stat.lastIndexOf(')');
            return afterName > 0 && stat.length() > afterName + 2 && stat.charAt(afterName + 2) == 'Z';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The start time guards against the owner's PID having been reused by an unrelated process. */
    private static String describeOwner(ProcessHandle owner) {
        return owner.pid() + " " + owner.info().startInstant().map(i -> Long.toString(i.toEpochMilli())).orElse("?");
    }

    private static void reap(Path dir) {
        String dirPrefix = dir.toString() + "/";
        List<ProcessHandle> leftovers = ProcessHandle.allProcesses()
                .filter(ph -> ph.info().arguments()
                        .map(args -> Arrays.stream(args).anyMatch(a -> a.startsWith(dirPrefix)))
                        .orElse(false))
                .collect(Collectors.toList());
        leftovers.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle ph : leftovers) {
            try {
                ph.onExit().get(EXIT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException e) {
                LOG.log(System.Logger.Level.WARNING, () -> "orphaned etcd pid " + ph.pid() + " did not exit: " + e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        List<String> problems = deleteRecursively(dir);
        LOG.log(System.Logger.Level.INFO, () -> "cleaned up after a JVM that died without closing its etcd: killed "
                + leftovers.size() + " process(es), deleted " + dir + (problems.isEmpty() ? "" : "; " + problems));
    }

    private static List<Member> createMembers(int size, Path baseDir, boolean tls) throws IOException {
        int perMember = tls ? 3 : 2; // with TLS, a plain http port for /metrics and /health
        int[] ports = freeLoopbackPorts(perMember * size);
        List<Member> list = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            int first = perMember * i;
            list.add(new Member(i, ports[first], ports[first + 1], tls ? ports[first + 2] : 0, baseDir));
        }
        return List.copyOf(list);
    }

    /** All sockets are held open together so that the kernel cannot hand out the same port twice. */
    private static int[] freeLoopbackPorts(int count) throws IOException {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            int[] ports = new int[count];
            for (int i = 0; i < count; i++) {
                ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(LOOPBACK));
                sockets.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket s : sockets) {
                s.close();
            }
        }
    }

    private void startAllMembers() {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        // All members are launched before waiting: a member of a multi-member cluster is only ready once a
        // quorum of its peers is up.
        Map<Member, CompletableFuture<Void>> ready = new LinkedHashMap<>();
        for (Member m : members) {
            ready.put(m, launch(m, deadline));
        }
        awaitReady(ready);
    }

    /** Starts the member's process and returns a future that completes once it serves healthy requests. */
    private CompletableFuture<Void> launch(Member m, long deadlineNanos) {
        Writer log = openLog(m);
        CompletableFuture<Void> logSaysReady = new CompletableFuture<>();
        Process p;
        synchronized (lifecycleLock) {
            if (closed) {
                closeQuietly(log);
                throw new IllegalStateException("this LocalEtcdCluster is closed; start a new one");
            }
            try {
                p = processBuilder(m).start();
            } catch (IOException e) {
                closeQuietly(log);
                throw new UncheckedIOException("could not start " + etcdBin + " for member " + m.name
                        + "; check that it is an executable etcd binary (or set ETCD_BIN)", e);
            }
            launched.add(p);
            m.process = p;
        }
        Thread reader = new Thread(() -> pumpOutput(m, p, log, logSaysReady), "etcd-" + m.name + "-output");
        reader.setDaemon(true);
        reader.start();
        return logSaysReady.thenCompose(v -> confirmHealthy(m, p, deadlineNanos));
    }

    private ProcessBuilder processBuilder(Member m) {
        List<String> cmd = new ArrayList<>(List.of(
                etcdBin.toString(),
                "--name", m.name,
                "--data-dir", m.dataDir.toString(),
                "--listen-client-urls", m.clientUrl(),
                "--advertise-client-urls", m.clientUrl(),
                "--listen-peer-urls", m.peerUrl(),
                "--initial-advertise-peer-urls", m.peerUrl(),
                "--initial-cluster", initialCluster(),
                "--initial-cluster-token", clusterToken,
                // With an existing data dir (restart) etcd ignores the initial-cluster flags.
                "--initial-cluster-state", "new"));
        cmd.addAll(flags.logging());
        if (tls != null) {
            // etcd ignores these on http:// client URLs, which is why clientUrl() is https:// in this mode
            cmd.addAll(List.of("--cert-file", tls.cert().toString(), "--key-file", tls.key().toString(),
                    "--listen-metrics-urls", m.metricsUrl()));
            if (tls.clientCa() != null) {
                cmd.addAll(List.of("--trusted-ca-file", tls.clientCa().toString(), "--client-cert-auth"));
            }
        }
        cmd.addAll(flags.translate(extraArgs));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        // etcd reads ETCD_<FLAG> variables as flags; the developer's shell (or our own ETCD_ENDPOINTS and
        // ETCD_BIN) must not change how test members run. ETCD_UNSUPPORTED_ARCH is needed on e.g. arm64.
        pb.environment().keySet().removeIf(k -> (k.startsWith("ETCD_") || k.startsWith("ETCDCTL_"))
                && !k.equals("ETCD_UNSUPPORTED_ARCH"));
        return pb;
    }

    private String initialCluster() {
        return members.stream().map(m -> m.name + "=" + m.peerUrl()).collect(Collectors.joining(","));
    }

    private static Writer openLog(Member m) {
        try {
            return Files.newBufferedWriter(m.logFile, StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("could not open etcd log file " + m.logFile, e);
        }
    }

    /**
     * Copies the member's output to its log file and tail, and reports readiness. Reading continues for the
     * process's whole life: a member whose pipe is not drained blocks as soon as the pipe buffer fills. A
     * pipe also means that if this JVM is SIGKILLed, etcd dies of SIGPIPE on its next log write (see
     * {@link #reapOrphans()} for idle ones).
     */
    private static void pumpOutput(Member m, Process p, Writer log, CompletableFuture<Void> logSaysReady) {
        Writer fileLog = log;
        try (BufferedReader in = new BufferedReader(
                new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                m.tail.add(line);
                fileLog = appendToLog(m, fileLog, line);
                if (!logSaysReady.isDone() && isReadyLine(line)) {
                    logSaysReady.complete(null);
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "stopped reading output of " + m.name + ": " + e);
        } finally {
            closeQuietly(fileLog);
            // End of output means the process is exiting; the tail is complete by the time it has exited.
            p.onExit().thenRun(() -> logSaysReady.completeExceptionally(
                    new MemberExitedException(m, p.exitValue(), "before it was ready")));
        }
    }

    /** Returns the writer to use for the next line: null once the log file failed, so that draining goes on. */
    private static Writer appendToLog(Member m, Writer log, String line) {
        if (log == null) {
            return null;
        }
        try {
            log.write(line);
            log.write('\n');
            log.flush();
            return log;
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, () -> "could not write " + m.logFile + "; keeping only the "
                    + "in-memory tail of " + m.name + "'s log: " + e);
            closeQuietly(log);
            return null;
        }
    }

    private static boolean isReadyLine(String line) {
        return READY_MARKERS.stream().anyMatch(line::contains);
    }

    /**
     * Confirms readiness with /health. It can briefly answer false right after the log line, e.g. while a
     * restarted member catches up with the leader, so a few retries are allowed within a bounded time.
     */
    private CompletableFuture<Void> confirmHealthy(Member m, Process p, long deadlineNanos) {
        long budgetEnd = Math.min(deadlineNanos, System.nanoTime() + HEALTH_BUDGET.toNanos());
        return confirmHealthyUntil(m, p, budgetEnd);
    }

    private CompletableFuture<Void> confirmHealthyUntil(Member m, Process p, long budgetEnd) {
        return get(m.uri("/health"))
                .handle((body, error) -> error == null ? body : "no answer (" + rootCause(error) + ")")
                .thenCompose(answer -> {
                    if (answer.contains(HEALTH_TRUE)) {
                        return CompletableFuture.completedFuture(null);
                    }
                    if (!p.isAlive()) {
                        return CompletableFuture.failedFuture(
                                new MemberExitedException(m, p.exitValue(), "while its /health was checked"));
                    }
                    if (System.nanoTime() > budgetEnd) {
                        return CompletableFuture.failedFuture(new IllegalStateException(m.name
                                + " logged that it is ready, but " + m.uri("/health")
                                + " did not answer " + HEALTH_TRUE + " in time; last answer: " + answer
                                + m.tailForMessage()));
                    }
                    Executor later = CompletableFuture.delayedExecutor(
                            HEALTH_RETRY_DELAY.toMillis(), TimeUnit.MILLISECONDS);
                    return CompletableFuture.runAsync(() -> { }, later)
                            .thenCompose(v -> confirmHealthyUntil(m, p, budgetEnd));
                });
    }

    private void awaitReady(Map<Member, CompletableFuture<Void>> ready) {
        try {
            allOrFirstFailure(ready.values()).get(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            String late = ready.entrySet().stream().filter(en -> !en.getValue().isDone())
                    .map(en -> en.getKey().name + " (pid " + en.getKey().process().pid() + ")"
                            + en.getKey().tailForMessage())
                    .collect(Collectors.joining("\n"));
            throw new IllegalStateException("etcd did not become ready within " + START_TIMEOUT.toSeconds()
                    + " s. On a very slow machine pass a longer --election-timeout in extraArgs; otherwise the "
                    + "log shows what etcd waits for. Not ready:\n" + late);
        } catch (ExecutionException e) {
            throw asRuntime(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for etcd to start", e);
        }
    }

    /** Unlike allOf, fails as soon as any member fails, so a crashed member does not cost the whole timeout. */
    private static CompletableFuture<Void> allOrFirstFailure(Collection<CompletableFuture<Void>> futures) {
        CompletableFuture<Void> result = new CompletableFuture<>();
        for (CompletableFuture<Void> f : futures) {
            f.whenComplete((v, e) -> {
                if (e != null) {
                    result.completeExceptionally(e);
                }
            });
        }
        CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0])).thenRun(() -> result.complete(null));
        return result;
    }

    // ---- HTTP ----

    private CompletableFuture<String> get(URI uri) {
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(HTTP_TIMEOUT).GET().build();
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofString()).thenApply(HttpResponse::body);
    }

    private static boolean reportsLeader(String metrics) {
        return metrics.lines().anyMatch(l -> l.trim().equals(LEADER_METRIC));
    }

    // ---- signals and exits ----

    private static void signal(Member m, Process target, String signal) {
        ProcessBuilder pb = new ProcessBuilder("kill", "-" + signal, Long.toString(target.pid()))
                .redirectErrorStream(true);
        try {
            Process kill = pb.start();
            String output = new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IllegalStateException("kill -" + signal + " " + target.pid() + " (" + m.name
                        + ") failed: " + output);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not run `kill -" + signal + "` for " + m.name
                    + "; the `kill` command must be on the PATH", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while signalling " + m.name, e);
        }
    }

    private static Process requireAlive(Member m) {
        Process p = m.process();
        if (!p.isAlive()) {
            throw new IllegalStateException(m.name + " is not running (exit code " + p.exitValue()
                    + "); restart it first");
        }
        return p;
    }

    private static boolean waitForExit(Process p, Duration timeout) {
        try {
            return p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !p.isAlive();
        }
    }

    private static void awaitExit(Member m, Process p) {
        if (!waitForExit(p, EXIT_TIMEOUT)) {
            throw new IllegalStateException(m.name + " (pid " + p.pid() + ") did not exit within "
                    + EXIT_TIMEOUT.toSeconds() + " s after SIGKILL");
        }
    }

    // ---- cleanup ----

    private void cleanUpOnJvmExit() {
        synchronized (lifecycleLock) {
            closed = true;
        }
        killAll().forEach(p -> System.err.println("etcd-lock: " + p));
        deleteBaseDir().forEach(p -> System.err.println("etcd-lock: " + p));
    }

    /** Returns what could not be cleaned up, never throws: cleanup must go on for the other members. */
    private List<String> killAll() {
        List<String> problems = new ArrayList<>();
        for (Member m : members) {
            Process p = m.process;
            if (m.paused && p != null && p.isAlive()) {
                // SIGKILL works on a stopped process too; continuing it means nothing stays frozen even if
                // the kill below cannot be delivered.
                try {
                    signal(m, p, "CONT");
                } catch (RuntimeException e) {
                    problems.add("could not resume " + m.name + ": " + e.getMessage());
                }
                m.paused = false;
            }
        }
        launched.stream().filter(Process::isAlive).forEach(Process::destroyForcibly);
        for (Process p : launched) {
            if (!waitForExit(p, EXIT_TIMEOUT)) {
                problems.add("etcd pid " + p.pid() + " is still alive after SIGKILL");
            }
        }
        return problems;
    }

    private List<String> deleteBaseDir() {
        return deleteRecursively(baseDir);
    }

    private static List<String> deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
                Files.deleteIfExists(p);
            }
            return List.of();
        } catch (IOException | UncheckedIOException e) {
            return List.of("could not delete " + dir + " (" + e + "); delete it by hand");
        }
    }

    private void closeQuietly(Throwable primary) {
        try {
            close();
        } catch (RuntimeException e) {
            primary.addSuppressed(e);
        }
    }

    private static void closeQuietly(Writer w) {
        if (w == null) {
            return;
        }
        try {
            w.close();
        } catch (IOException ignored) {
            // Only the log file is lost; nothing to recover.
        }
    }

    private Member member(int index) {
        if (index < 0 || index >= members.size()) {
            throw new IndexOutOfBoundsException("member " + index + " does not exist; this cluster has members 0.."
                    + (members.size() - 1));
        }
        return members.get(index);
    }

    private static RuntimeException asRuntime(Throwable t) {
        Throwable cause = t;
        while (cause instanceof CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (cause instanceof RuntimeException) {
            return (RuntimeException) cause;
        }
        if (cause instanceof Error) {
            throw (Error) cause;
        }
        return new IllegalStateException("etcd failed to start: " + cause, cause);
    }

    private static String rootCause(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null) {
            c = c.getCause();
        }
        return c.toString();
    }

    // ---- members ----

    private static final class Member {
        final String name;
        final int clientPort;
        final int peerPort;
        /** 0: /metrics and /health are on the (plain http) client port. */
        final int metricsPort;
        final Path dataDir;
        final Path logFile;
        final LogTail tail = new LogTail(TAIL_LINES_KEPT);
        volatile Process process;
        volatile boolean paused;

        Member(int index, int clientPort, int peerPort, int metricsPort, Path baseDir) {
            this.name = "m" + index;
            this.clientPort = clientPort;
            this.peerPort = peerPort;
            this.metricsPort = metricsPort;
            this.dataDir = baseDir.resolve(name);
            this.logFile = baseDir.resolve(name + ".log");
        }

        String clientUrl() {
            return (metricsPort == 0 ? "http://" : "https://") + LOOPBACK + ":" + clientPort;
        }

        String metricsUrl() {
            return "http://" + LOOPBACK + ":" + metricsPort;
        }

        String peerUrl() {
            return "http://" + LOOPBACK + ":" + peerPort;
        }

        /** /metrics, /health: on the client URL, or with TLS on the plain http metrics URL. */
        URI uri(String path) {
            return URI.create((metricsPort == 0 ? clientUrl() : metricsUrl()) + path);
        }

        Process process() {
            Process p = process;
            if (p == null) {
                throw new IllegalStateException(name + " has not been started");
            }
            return p;
        }

        String describe() {
            Process p = process;
            String state = p == null ? "not started" : p.isAlive() ? (paused ? "paused" : "running") : "exited";
            return name + " " + clientUrl() + (p == null ? "" : " pid " + p.pid()) + " " + state;
        }

        String tailForMessage() {
            // No log file path here: close() deletes it, and a failed start closes the cluster.
            return "\nLast log lines of " + name + ":\n" + tail.last(TAIL_LINES_SHOWN);
        }
    }

    /** The last lines of a member's output, so that failure messages can show why etcd did not start. */
    private static final class LogTail {
        private final int capacity;
        private final Deque<String> lines = new ArrayDeque<>();

        LogTail(int capacity) {
            this.capacity = capacity;
        }

        synchronized void add(String line) {
            lines.addLast(line);
            if (lines.size() > capacity) {
                lines.removeFirst();
            }
        }

        synchronized String last(int n) {
            return lines.stream().skip(Math.max(0, lines.size() - n)).collect(Collectors.joining("\n"));
        }

        synchronized boolean contains(String text) {
            return lines.stream().anyMatch(l -> l.contains(text));
        }
    }

    /** The member's process ended while we waited for it to serve. */
    private static final class MemberExitedException extends IllegalStateException {
        private static final long serialVersionUID = 1L;
        final String memberName;
        private final boolean portInUse;

        MemberExitedException(Member m, int exitCode, String when) {
            super("etcd member " + m.name + " exited with code " + exitCode + " " + when + "."
                    + (m.tail.contains("address already in use")
                    ? " One of its ports (client " + m.clientPort + ", peer " + m.peerPort
                            + (m.metricsPort == 0 ? "" : ", metrics " + m.metricsPort) + ") was in use."
                    : " See its log for the reason (a bad flag in extraArgs is a common one).")
                    + m.tailForMessage());
            this.memberName = m.name;
            this.portInUse = m.tail.contains("address already in use");
        }

        boolean portInUse() {
            return portInUse;
        }
    }
}

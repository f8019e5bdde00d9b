package dev.etcdlock;

import dev.etcdlock.internal.local.EtcdBinary;
import dev.etcdlock.internal.local.LocalEtcdCluster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;

/**
 * The etcd that integration tests run against. Where it comes from, first match wins:
 * <ol>
 *   <li>{@code ETCD_ENDPOINTS} (comma separated): an existing cluster, shared by all tests, so tests must use
 *       unique keys; {@link #close()} leaves it alone;</li>
 *   <li>the system property {@code etcd.image} (e.g. {@code -Detcd.image=gcr.io/etcd-development/etcd:v3.6.5}):
 *       that image through Testcontainers, single member only (tests that need more, or local processes, are
 *       skipped); it fails when no Docker engine answers;</li>
 *   <li>a local etcd binary ({@link EtcdBinary#locate()}): fresh processes on 127.0.0.1;</li>
 *   <li>for {@link #single()} only, a Testcontainers etcd when a Docker engine answers;</li>
 *   <li>etcd installed with apt-get ({@link EtcdBinary#require()}), else a failure saying how to get etcd.</li>
 * </ol>
 * Fault injection ({@link #local()}) needs local processes; elsewhere such tests are skipped.
 */
public final class EtcdTestCluster implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(EtcdTestCluster.class.getName());
    private static final String ENV_ENDPOINTS = "ETCD_ENDPOINTS";
    private static final String PROPERTY_IMAGE = "etcd.image";

    private enum Backing {
        EXTERNAL("external etcd from " + ENV_ENDPOINTS),
        LOCAL("local etcd processes"),
        CONTAINER("Testcontainers etcd");

        final String description;

        Backing(String description) {
            this.description = description;
        }
    }

    private final Backing backing;
    private final List<String> endpoints;
    private final LocalEtcdCluster local;
    /** A DockerEtcd, typed as AutoCloseable so that this class never loads Testcontainers by itself. */
    private final AutoCloseable container;
    private boolean closed;

    private EtcdTestCluster(Backing backing, List<String> endpoints, LocalEtcdCluster local, AutoCloseable container) {
        this.backing = backing;
        this.endpoints = List.copyOf(endpoints);
        this.local = local;
        this.container = container;
        LOG.log(System.Logger.Level.INFO, () -> "etcd for tests: " + this);
    }

    /** One etcd member. */
    public static EtcdTestCluster single() {
        return single(List.of());
    }

    /**
     * One etcd member started with extra etcd flags (e.g. {@code --auto-compaction-retention=1}). Skips the
     * test when the flags cannot be applied because ETCD_ENDPOINTS names an existing cluster.
     */
    public static EtcdTestCluster single(List<String> etcdFlags) {
        return create(1, etcdFlags);
    }

    /** Three etcd members (with ETCD_ENDPOINTS: whatever that cluster has). */
    public static EtcdTestCluster cluster3() {
        return cluster3(List.of());
    }

    /** Three etcd members started with extra etcd flags; see {@link #single(List)}. */
    public static EtcdTestCluster cluster3(List<String> etcdFlags) {
        return create(3, etcdFlags);
    }

    /**
     * One local etcd member that serves clients over TLS ({@code https://} endpoints) with the given certificates.
     * Skips the test when ETCD_ENDPOINTS names an existing cluster: it cannot be given the test's certificates.
     */
    public static EtcdTestCluster singleTls(LocalEtcdCluster.Tls tls, List<String> etcdFlags) {
        Assumptions.assumeTrue(externalEndpoints().isEmpty(), () -> "this test needs an etcd that serves the test's "
                + "own TLS certificates, which the existing cluster in " + ENV_ENDPOINTS + " does not");
        LocalEtcdCluster cluster = LocalEtcdCluster.start(1, etcdFlags, tls);
        return new EtcdTestCluster(Backing.LOCAL, cluster.clientEndpoints(), cluster, null);
    }

    /**
     * Index of {@code cluster}'s leader, waiting up to {@code timeout} for one to be elected.
     *
     * @throws IllegalStateException when no member reports being leader by then
     */
    public static int awaitLeader(LocalEtcdCluster cluster, java.time.Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            int leader = cluster.leaderIndex();
            if (leader >= 0) {
                return leader;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("no leader within " + timeout.toMillis() + " ms: " + cluster);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for a leader", e);
            }
        }
    }

    public List<String> clientEndpoints() {
        return endpoints;
    }

    /** Whether {@link #local()} is available, i.e. faults can be injected. */
    public boolean isLocal() {
        return backing == Backing.LOCAL;
    }

    /**
     * The local processes, for fault injection (kill, pause, restart ...). Aborts (skips) the calling test
     * when etcd is an external cluster or a container, where those faults cannot be injected.
     */
    public LocalEtcdCluster local() {
        if (backing != Backing.LOCAL) {
            Assumptions.abort("this test injects faults into etcd processes, which needs local etcd processes, "
                    + "but etcd here is " + backing.description + ". Unset " + ENV_ENDPOINTS
                    + " and install etcd (apt-get install etcd-server, or set ETCD_BIN) to run it.");
        }
        return local;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (local != null) {
            local.close();
        }
        if (container != null) {
            try {
                container.close();
            } catch (Exception e) {
                throw new IllegalStateException("could not stop the etcd container: " + e, e);
            }
        }
    }

    @Override
    public String toString() {
        String detail = local != null ? "etcd " + local.version() + ", " + local : String.join(",", endpoints);
        return "EtcdTestCluster[" + backing.description + ": " + detail + "]";
    }

    private static EtcdTestCluster create(int members, List<String> etcdFlags) {
        Optional<List<String>> external = externalEndpoints();
        String image = System.getProperty(PROPERTY_IMAGE, "").strip();
        if (external.isEmpty() && !image.isEmpty()) {
            Assumptions.assumeTrue(members == 1, () -> "this test needs " + members + " etcd members; with "
                    + PROPERTY_IMAGE + "=" + image + " only single-member tests run");
            if (!dockerAnswers()) {
                throw new IllegalStateException(PROPERTY_IMAGE + "=" + image + " asks for etcd in Docker, but no "
                        + "Docker engine answers (DOCKER_HOST, /var/run/docker.sock); unset it to use local etcd");
            }
            DockerEtcd etcd = DockerEtcd.start(image, etcdFlags);
            return new EtcdTestCluster(Backing.CONTAINER, List.of(etcd.endpoint()), null, etcd);
        }
        if (external.isPresent()) {
            Assumptions.assumeTrue(etcdFlags.isEmpty(), () -> "this test needs etcd started with " + etcdFlags
                    + ", which cannot be applied to the existing cluster in " + ENV_ENDPOINTS);
            return new EtcdTestCluster(Backing.EXTERNAL, external.get(), null, null);
        }
        if (EtcdBinary.locate().isPresent()) {
            return startLocal(members, etcdFlags);
        }
        if (members == 1 && dockerAnswers()) {
            DockerEtcd etcd = DockerEtcd.start(DockerEtcd.IMAGE, etcdFlags);
            return new EtcdTestCluster(Backing.CONTAINER, List.of(etcd.endpoint()), null, etcd);
        }
        // LocalEtcdCluster.start calls EtcdBinary.require(): installs etcd with apt-get where it can, otherwise
        // fails with instructions.
        return startLocal(members, etcdFlags);
    }

    private static EtcdTestCluster startLocal(int members, List<String> etcdFlags) {
        LocalEtcdCluster cluster = LocalEtcdCluster.start(members, etcdFlags);
        return new EtcdTestCluster(Backing.LOCAL, cluster.clientEndpoints(), cluster, null);
    }

    private static Optional<List<String>> externalEndpoints() {
        String value = System.getenv(ENV_ENDPOINTS);
        if (value == null || value.isBlank()) {
            return Optional.empty();
        }
        List<String> endpoints = Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .collect(Collectors.toList());
        return endpoints.isEmpty() ? Optional.empty() : Optional.of(endpoints);
    }

    /**
     * Asking Testcontainers directly can take many seconds when there is no engine, so it is only asked
     * when something suggests that one is configured.
     */
    private static boolean dockerAnswers() {
        if (!dockerLikelyConfigured()) {
            return false;
        }
        try {
            return DockerEtcd.isDockerAvailable();
        } catch (RuntimeException | LinkageError e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "Testcontainers could not reach Docker: " + e);
            return false;
        }
    }

    private static boolean dockerLikelyConfigured() {
        String dockerHost = System.getenv("DOCKER_HOST");
        if (dockerHost != null && !dockerHost.isBlank()) {
            return true;
        }
        Path home = Path.of(System.getProperty("user.home"));
        String runtimeDir = System.getenv("XDG_RUNTIME_DIR");
        List<Path> sockets = runtimeDir == null
                ? List.of(Path.of("/var/run/docker.sock"), home.resolve(".docker/run/docker.sock"))
                : List.of(Path.of("/var/run/docker.sock"), home.resolve(".docker/run/docker.sock"),
                        Path.of(runtimeDir, "docker.sock"));
        return sockets.stream().anyMatch(Files::exists)
                || testcontainersPropertiesNameDockerHost(home.resolve(".testcontainers.properties"));
    }

    private static boolean testcontainersPropertiesNameDockerHost(Path file) {
        if (!Files.isRegularFile(file)) {
            return false;
        }
        Properties props = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            props.load(in);
        } catch (IOException e) {
            return false;
        }
        return props.getProperty("docker.host") != null;
    }
}

package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Java's {@link Mutex} and {@code etcdctl lock} on the same name exclude each other, both ways: same key layout
 * ({@code name/<lease hex>}), same queue order (create revision).
 */
class EtcdctlInteropTest {
    private static EtcdTestCluster etcd;
    private static EtcdLockClient client;
    private static String endpoints;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        Assumptions.assumeTrue(etcdctlAvailable(), "etcdctl is not on the PATH");
        etcd = EtcdTestCluster.single();
        endpoints = String.join(",", etcd.clientEndpoints());
        client = EtcdLockClient.connect(endpoints);
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (etcd != null) {
            etcd.close();
        }
    }

    /** (a) Java holds the lock: etcdctl lock queues behind it and runs its command only after Java's unlock. */
    @Test
    void etcdctlWaitsForJavaHolder() throws Exception {
        String name = "/interop/java-first";
        Path ranAt = dir.resolve("ran-at");
        try (Session session = client.newSession(Duration.ofSeconds(10))) {
            LockHandle lock = session.mutex(name).lock(Duration.ofSeconds(5));
            Process etcdctl = etcdctl("lock", name, "--", "sh", "-c", "date +%s%N > \"$0\"", ranAt.toString());
            try {
                // etcdctl has queued its own key behind ours, and waits.
                awaitTrue(() -> EtcdKeys.count(etcd.clientEndpoints(), name + "/") == 2 || !etcdctl.isAlive(),
                        Duration.ofSeconds(10));
                assertFalse(etcdctl.waitFor(300, TimeUnit.MILLISECONDS),
                        () -> "etcdctl ended while Java held the lock: " + output(etcdctl));
                assertTrue(lock.isHeld());
                assertFalse(Files.exists(ranAt), "etcdctl ran its command while Java held the lock");

                Instant releasedAt = Instant.now();
                lock.unlock();
                assertTrue(etcdctl.waitFor(10, TimeUnit.SECONDS), "etcdctl did not finish after the unlock");
                assertEquals(0, etcdctl.exitValue(), () -> output(etcdctl));
                long ranAtNanos = Long.parseLong(Files.readString(ranAt).strip());
                long releasedAtNanos = releasedAt.getEpochSecond() * 1_000_000_000L + releasedAt.getNano();
                System.out.printf("etcdctl's command ran %.1f ms after Java's unlock%n",
                        (ranAtNanos - releasedAtNanos) / 1e6);
                assertTrue(ranAtNanos >= releasedAtNanos, "etcdctl's command ran " + (releasedAtNanos - ranAtNanos)
                        + " ns before Java released the lock");
            } finally {
                stop(etcdctl);
            }
        }
        assertEquals(0, EtcdKeys.count(etcd.clientEndpoints(), name + "/"));
    }

    /**
     * (b) etcdctl holds the lock: Java times out; after etcdctl is killed (SIGKILL: no unlock, its lease lives on
     * until its TTL), Java gets the lock once etcd expires that lease.
     */
    @Test
    void javaWaitsForEtcdctlHolderUntilItsLeaseExpires() throws Exception {
        String name = "/interop/etcdctl-first";
        Process etcdctl = etcdctl("lock", "--ttl", "2", name);
        try (Session session = client.newSession(Duration.ofSeconds(10))) {
            String key = firstLine(etcdctl);
            assertTrue(key.startsWith(name + "/"), key);
            Mutex mutex = session.mutex(name);

            long t0 = System.nanoTime();
            assertThrows(LockTimeoutException.class, () -> mutex.lock(Duration.ofMillis(500)));
            long waitedMs = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(waitedMs >= 450 && waitedMs < 2000, "lock(500 ms) took " + waitedMs + " ms");
            assertEquals(1, EtcdKeys.count(etcd.clientEndpoints(), name + "/"), "only etcdctl's key is left");

            etcdctl.destroyForcibly();
            assertTrue(etcdctl.waitFor(5, TimeUnit.SECONDS));
            long killed = System.nanoTime();
            try (LockHandle lock = mutex.lock(Duration.ofSeconds(10))) {
                long afterKillMs = (System.nanoTime() - killed) / 1_000_000;
                System.out.println("Java acquired " + afterKillMs + " ms after etcdctl (--ttl 2) was killed");
                // etcdctl refreshed its 2 s lease every ~0.7 s; etcd checks expiry every 0.5 s.
                assertTrue(afterKillMs > 500, "acquired " + afterKillMs + " ms after the kill: the lease should "
                        + "have kept etcdctl's lock until it expired");
                assertTrue(afterKillMs < 4000, "acquired only " + afterKillMs + " ms after the kill (TTL 2 s)");
                assertTrue(lock.fencingToken() > 0);
            }
        } finally {
            stop(etcdctl);
        }
        assertEquals(0, EtcdKeys.count(etcd.clientEndpoints(), name + "/"));
    }

    /** etcdctl unlocks on SIGTERM (it traps it), so Java gets the lock at once, not after the TTL. */
    @Test
    void javaGetsTheLockAtOnceWhenEtcdctlIsTerminated() throws Exception {
        String name = "/interop/etcdctl-sigterm";
        Process etcdctl = etcdctl("lock", "--ttl", "30", name);
        try (Session session = client.newSession(Duration.ofSeconds(10))) {
            firstLine(etcdctl);
            Mutex mutex = session.mutex(name);
            assertTrue(mutex.tryLock().isEmpty(), "etcdctl holds the lock");
            etcdctl.destroy();
            long t0 = System.nanoTime();
            try (LockHandle lock = mutex.lock(Duration.ofSeconds(5))) {
                long ms = (System.nanoTime() - t0) / 1_000_000;
                System.out.println("Java acquired " + ms + " ms after SIGTERM to etcdctl");
                assertTrue(ms < 2000, "acquired " + ms + " ms after SIGTERM to etcdctl (TTL 30 s)");
                assertTrue(lock.isHeld());
            }
            assertTrue(etcdctl.waitFor(5, TimeUnit.SECONDS));
        } finally {
            stop(etcdctl);
        }
        assertEquals(0, EtcdKeys.count(etcd.clientEndpoints(), name + "/"));
    }

    /** Starts etcdctl; its stderr goes to a file of the test's temp dir, its stdout is read by the test. */
    private Process etcdctl(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("etcdctl", "--endpoints=" + endpoints));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(Files.createTempFile(dir, "etcdctl", ".err").toFile());
        pb.environment().put("ETCDCTL_API", "3");
        return pb.start();
    }

    /** The first line etcdctl prints: with {@code lock <name>} and no command, the key it holds. */
    private String firstLine(Process p) throws Exception {
        BufferedReader reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try {
                return reader.readLine();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        String first = line.get(10, TimeUnit.SECONDS);
        assertTrue(first != null, () -> "etcdctl printed nothing: " + output(p));
        return first;
    }

    private String output(Process p) {
        StringBuilder text = new StringBuilder(p.isAlive() ? "(still running)" : "exit " + p.exitValue());
        try (var files = Files.list(dir)) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".err")).toList()) {
                text.append("\n").append(f.getFileName()).append(": ").append(Files.readString(f));
            }
        } catch (IOException e) {
            text.append(" ").append(e);
        }
        return text.toString();
    }

    private static void stop(Process p) throws InterruptedException {
        if (p.isAlive()) {
            p.destroyForcibly();
        }
        p.waitFor(10, TimeUnit.SECONDS);
    }

    static boolean etcdctlAvailable() {
        try {
            Process p = new ProcessBuilder("etcdctl", "version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private static void awaitTrue(BooleanSupplier condition, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "condition not met within " + timeout);
            Thread.sleep(20);
        }
    }
}

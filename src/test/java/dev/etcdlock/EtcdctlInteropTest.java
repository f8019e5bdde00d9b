package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Java's {@link Mutex} and {@code etcdctl lock} on the same name exclude each other, both ways: same key layout
 * ({@code name/<lease hex>}), same queue order (create revision).
 */
@EnabledIf(value = "dev.etcdlock.Etcdctl#available", disabledReason = "etcdctl is not on the PATH")
class EtcdctlInteropTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single().withClient();

    @TempDir
    Path dir;

    /** (a) Java holds the lock: etcdctl lock queues behind it and runs its command only after Java's unlock. */
    @Test
    void etcdctlWaitsForJavaHolder() throws Exception {
        String name = "/interop/java-first";
        Path ranAt = dir.resolve("ran-at");
        try (Session session = etcd.client().newSession(Duration.ofSeconds(10))) {
            LockHandle lock = session.mutex(name).lock(Duration.ofSeconds(5));
            Etcdctl.Running etcdctl = etcdctl("lock", name, "--", "sh", "-c", "date +%s%N > \"$0\"",
                    ranAt.toString());
            try {
                // etcdctl has queued its own key behind ours, and waits.
                Await.until(() -> EtcdKeys.count(etcd.clientEndpoints(), name + "/") == 2
                        || !etcdctl.process().isAlive(), Duration.ofSeconds(10));
                assertFalse(etcdctl.process().waitFor(300, TimeUnit.MILLISECONDS),
                        () -> "etcdctl ended while Java held the lock: " + etcdctl);
                assertTrue(lock.isHeld());
                assertFalse(Files.exists(ranAt), "etcdctl ran its command while Java held the lock");

                Instant releasedAt = Instant.now();
                lock.unlock();
                assertTrue(etcdctl.process().waitFor(10, TimeUnit.SECONDS),
                        "etcdctl did not finish after the unlock");
                assertEquals(0, etcdctl.process().exitValue(), etcdctl::toString);
                long ranAtNanos = Long.parseLong(Files.readString(ranAt).strip());
                long releasedAtNanos = releasedAt.getEpochSecond() * 1_000_000_000L + releasedAt.getNano();
                System.out.printf("etcdctl's command ran %.1f ms after Java's unlock%n",
                        (ranAtNanos - releasedAtNanos) / 1e6);
                assertTrue(ranAtNanos >= releasedAtNanos, "etcdctl's command ran " + (releasedAtNanos - ranAtNanos)
                        + " ns before Java released the lock");
            } finally {
                etcdctl.kill();
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
        Etcdctl.Running etcdctl = etcdctl("lock", "--ttl", "2", name);
        try (Session session = etcd.client().newSession(Duration.ofSeconds(10))) {
            String key = etcdctl.line();
            assertTrue(key.startsWith(name + "/"), key);
            Mutex mutex = session.mutex(name);

            long t0 = System.nanoTime();
            assertThrows(LockTimeoutException.class, () -> mutex.lock(Duration.ofMillis(500)));
            long waitedMs = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(waitedMs >= 450 && waitedMs < 2000, "lock(500 ms) took " + waitedMs + " ms");
            assertEquals(1, EtcdKeys.count(etcd.clientEndpoints(), name + "/"), "only etcdctl's key is left");

            etcdctl.process().destroyForcibly();
            assertTrue(etcdctl.process().waitFor(5, TimeUnit.SECONDS));
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
            etcdctl.kill();
        }
        assertEquals(0, EtcdKeys.count(etcd.clientEndpoints(), name + "/"));
    }

    /** etcdctl unlocks on SIGTERM (it traps it), so Java gets the lock at once, not after the TTL. */
    @Test
    void javaGetsTheLockAtOnceWhenEtcdctlIsTerminated() throws Exception {
        String name = "/interop/etcdctl-sigterm";
        Etcdctl.Running etcdctl = etcdctl("lock", "--ttl", "30", name);
        try (Session session = etcd.client().newSession(Duration.ofSeconds(10))) {
            etcdctl.line();
            Mutex mutex = session.mutex(name);
            assertTrue(mutex.tryLock().isEmpty(), "etcdctl holds the lock");
            etcdctl.process().destroy();
            long t0 = System.nanoTime();
            try (LockHandle lock = mutex.lock(Duration.ofSeconds(5))) {
                long ms = (System.nanoTime() - t0) / 1_000_000;
                System.out.println("Java acquired " + ms + " ms after SIGTERM to etcdctl");
                assertTrue(ms < 2000, "acquired " + ms + " ms after SIGTERM to etcdctl (TTL 30 s)");
                assertTrue(lock.isHeld());
            }
            assertTrue(etcdctl.process().waitFor(5, TimeUnit.SECONDS));
        } finally {
            etcdctl.kill();
        }
        assertEquals(0, EtcdKeys.count(etcd.clientEndpoints(), name + "/"));
    }

    private static Etcdctl.Running etcdctl(String... args) throws IOException {
        return Etcdctl.start(etcd.endpoints(), args);
    }
}

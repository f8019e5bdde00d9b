package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Bad input and misuse, as listed in the README's table: each gets a clear exception, and nothing is left behind.
 */
class BadInputTest extends OneEtcdOneClient {

    private static <T extends Throwable> T assertMessage(Class<T> type, String expected,
            org.junit.jupiter.api.function.Executable call) {
        T e = assertThrows(type, call);
        assertTrue(e.getMessage().contains(expected), () -> "message '" + e.getMessage() + "' lacks '" + expected + "'");
        return e;
    }

    @Test
    void hugeNamesAreRefusedBeforeAnythingIsSent() {
        try (Session s = client.newSession()) {
            String huge = "/huge/" + "x".repeat(2 << 20);
            assertMessage(IllegalArgumentException.class, "the limit is 65536", () -> s.mutex(huge));
            String longest = "/huge/" + "x".repeat(Mutex.MAX_NAME_BYTES - 6);
            try (LockHandle lock = s.mutex(longest).lock(Duration.ofSeconds(5))) {
                assertTrue(lock.isHeld(), "a name at the limit works");
            }
        }
        assertEquals(0, keys("/huge"));
    }

    @Test
    void httpsToAPlainEtcdFailsAtConnectSayingWhy() {
        String endpoint = etcd.clientEndpoints().get(0).replace("http://", "https://");
        long start = System.nanoTime();
        EtcdUnavailableException e = assertThrows(EtcdUnavailableException.class,
                () -> EtcdLockClient.builder().endpoints(endpoint).connectTimeout(Duration.ofSeconds(2)).build());
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) < 3_000);
        assertTrue(e.getMessage().contains("could not reach any etcd endpoint"), e.getMessage());
        assertTrue(e.getMessage().toLowerCase(java.util.Locale.ROOT).contains("ssl")
                || e.getMessage().toLowerCase(java.util.Locale.ROOT).contains("tls"), e.getMessage());
    }

    @Test
    void aWaitOutlivesAnEtcdThatStopsOnlyAsLongAsTheLeaseIsProvablyAlive() throws Exception {
        try (EtcdTestCluster own = EtcdTestCluster.single();
                EtcdLockClient c = EtcdLockClient.builder().endpoints(own.clientEndpoints())
                        .requestTimeout(Duration.ofSeconds(2)).build();
                Session holder = c.newSession(Duration.ofSeconds(3));
                Session waiter = c.newSession(Duration.ofSeconds(3))) {
            holder.mutex("/stopped/lock").lock();
            CompletableFuture<LockHandle> waiting = waiter.mutex("/stopped/lock").lockAsync();
            Thread.sleep(200);
            own.local().kill(0);
            long killedAt = System.nanoTime();
            Exception e = assertThrows(Exception.class, () -> waiting.get(10, TimeUnit.SECONDS));
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
            assertInstanceOf(LeaseLostException.class, e.getCause());
            assertTrue(tookMs <= 3_500, "no later than the TTL: " + tookMs + " ms");
            assertFalse(waiter.isValid());
        }
    }

    @Test
    void anUninterruptibleLockKeepsTheInterruptFlag() throws Exception {
        try (Session s = client.newSession()) {
            Mutex mutex = s.mutex("/bad/uninterruptible");
            CompletableFuture<Boolean> flag = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                Thread.currentThread().interrupt();
                try (LockHandle lock = mutex.lock()) {
                    flag.complete(Thread.currentThread().isInterrupted());
                } catch (RuntimeException e) {
                    flag.completeExceptionally(e);
                }
            });
            t.start();
            assertTrue(flag.get(5, TimeUnit.SECONDS), "lock() acquired and kept the interrupt flag");
        }
        assertEquals(0, keys("/bad/uninterruptible"));
    }

    @Test
    void nullArgumentsAreRefusedByName() {
        assertMessage(NullPointerException.class, "name", () -> client.newSession().mutex(null));
        assertMessage(NullPointerException.class, "timeout", () -> client.newSession().mutex("/n").lock(null));
        assertMessage(IllegalArgumentException.class, "lease TTL must be positive", () -> client.newSession(null));
    }
}

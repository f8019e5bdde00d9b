package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class EtcdLockClientTest {
    @RegisterExtension
    static final SharedEtcd etcd = SharedEtcd.single();

    @Test
    void connectsAndReportsTheServerVersion() {
        try (EtcdLockClient client = EtcdLockClient.connect(etcd.endpoints())) {
            assertTrue(client.serverVersion().matches("3\\.\\d+\\.\\d+"), client.serverVersion());
            assertFalse(client.isClosed());
            client.close();
            assertTrue(client.isClosed());
            assertTrue(client.toString().contains("closed"));
        }
    }

    @Test
    void badInputFailsFastWithAClearMessage() {
        assertMessage(IllegalArgumentException.class, "no etcd endpoints", () -> EtcdLockClient.builder().build());
        assertMessage(IllegalArgumentException.class, "no etcd endpoints", () -> EtcdLockClient.connect());
        assertMessage(IllegalArgumentException.class, "bad etcd endpoint 'http//127.0.0.1:2379'",
                () -> EtcdLockClient.connect("http//127.0.0.1:2379"));
        assertMessage(IllegalArgumentException.class, "no port", () -> EtcdLockClient.connect("http://127.0.0.1"));
        assertMessage(IllegalArgumentException.class, "unknown host 'no-such-host.invalid'",
                () -> EtcdLockClient.connect("http://no-such-host.invalid:2379"));
        assertMessage(IllegalArgumentException.class, "connectTimeout must be positive",
                () -> EtcdLockClient.builder().connectTimeout(Duration.ZERO));
        assertMessage(IllegalArgumentException.class, "requestTimeout must be positive",
                () -> EtcdLockClient.builder().requestTimeout(Duration.ofSeconds(-1)));
    }

    @Test
    void unreachableEndpointsFailWithinTheConnectTimeout() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort(); // nothing listens there once closed
        }
        long start = System.nanoTime();
        EtcdUnavailableException e = assertThrows(EtcdUnavailableException.class,
                () -> EtcdLockClient.builder().endpoints("http://127.0.0.1:" + closedPort)
                        .connectTimeout(Duration.ofSeconds(1)).build());
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(tookMs < 2_000, "took " + tookMs + " ms with a 1 s connect timeout");
        assertTrue(e.getMessage().contains("could not reach any etcd endpoint of [http://127.0.0.1:" + closedPort),
                e.getMessage());
        assertFalse(e.isOutcomeUnknown());
    }

    @Test
    void oneLiveMemberAmongDeadOnesIsEnough() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        List<String> endpoints = new ArrayList<>();
        endpoints.add("http://127.0.0.1:" + closedPort);
        endpoints.addAll(etcd.clientEndpoints());
        try (EtcdLockClient client = EtcdLockClient.builder().endpoints(endpoints).build()) {
            assertEquals(endpoints, client.endpoints());
        }
    }

    /**
     * The design: a client runs on gRPC's Netty event loops (one fixed pool per JVM), gRPC's shared timer and
     * executor, and the one etcd-lock timer thread of the JVM; it starts no thread of its own. So once the shared
     * pools are up, more clients add no thread at all. Each client here takes a lock, so that its keep-alive and
     * watch streams and its timers are in use too.
     */
    @Test
    void clientsAddNoThreadsOfTheirOwn() throws Exception {
        // channels register on the event loops in turn: this many start every one of them in the first batch
        int batch = 2 * Runtime.getRuntime().availableProcessors() + 1;
        List<EtcdLockClient> clients = new ArrayList<>();
        try {
            openAndLock(clients, batch);
            Set<Thread> warm = Thread.getAllStackTraces().keySet();
            openAndLock(clients, batch);
            // the common pool is the JVM's, bounded by its parallelism: where callbacks to the application run
            List<String> added = Thread.getAllStackTraces().keySet().stream().filter(t -> !warm.contains(t))
                    .map(Thread::getName).filter(n -> !n.startsWith("ForkJoinPool.commonPool")).sorted().toList();
            long timers = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().equals("etcd-lock-timer")).count();
            System.out.println(batch + " more clients added threads " + added + "; timer threads: " + timers);
            assertEquals(List.of(), added, batch + " more clients, " + clients.size() + " in all");
            assertEquals(1, timers, "one etcd-lock timer thread for the JVM");
        } finally {
            clients.forEach(EtcdLockClient::close);
        }
    }

    private void openAndLock(List<EtcdLockClient> clients, int count) {
        for (int i = 0; i < count; i++) {
            EtcdLockClient client = EtcdLockClient.connect(etcd.endpoints());
            clients.add(client);
            try (Session session = client.newSession()) {
                session.mutex("/client-test/threads").lock(Duration.ofSeconds(5)).unlock();
            }
        }
    }

    private static void assertMessage(Class<? extends Throwable> type, String expected,
            org.junit.jupiter.api.function.Executable call) {
        Throwable e = assertThrows(type, call);
        assertTrue(e.getMessage().contains(expected), () -> "message '" + e.getMessage() + "' lacks '" + expected + "'");
    }
}

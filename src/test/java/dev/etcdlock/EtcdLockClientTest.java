package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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

    @Test
    void clientsAddNoThreadsOfTheirOwn() {
        // gRPC's Netty event loops and our timer are shared by every client in the JVM; warm them up first
        try (EtcdLockClient warm = EtcdLockClient.connect(etcd.clientEndpoints().get(0))) {
            int before = Thread.activeCount();
            List<EtcdLockClient> clients = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                clients.add(EtcdLockClient.connect(etcd.clientEndpoints().get(0)));
            }
            int added = Thread.activeCount() - before;
            clients.forEach(EtcdLockClient::close);
            System.out.println("threads added by 8 clients after the first: " + added);
            // Netty starts its event loops (2 x cores, shared) lazily, as channels register on them
            assertTrue(added <= 2 * Runtime.getRuntime().availableProcessors(), "8 clients added " + added
                    + " threads");
        }
    }

    private static void assertMessage(Class<? extends Throwable> type, String expected,
            org.junit.jupiter.api.function.Executable call) {
        Throwable e = assertThrows(type, call);
        assertTrue(e.getMessage().contains(expected), () -> "message '" + e.getMessage() + "' lacks '" + expected + "'");
    }
}

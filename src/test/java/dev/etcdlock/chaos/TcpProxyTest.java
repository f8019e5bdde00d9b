package dev.etcdlock.chaos;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.Await;
import dev.etcdlock.EtcdKeys;
import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.LockHandle;
import dev.etcdlock.Session;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link TcpProxy} against a local echo server, and an etcd client through it. */
class TcpProxyTest {
    private EchoServer echo;

    @BeforeEach
    void startEcho() throws IOException {
        echo = new EchoServer();
    }

    @AfterEach
    void stopEcho() {
        echo.close();
    }

    @Test
    void passForwardsBothWaysAndCountsConnections() throws Exception {
        try (TcpProxy proxy = TcpProxy.start("127.0.0.1", echo.port());
                Socket a = connect(proxy);
                Socket b = connect(proxy)) {
            assertEquals("http://127.0.0.1:" + proxy.port(), proxy.endpoint());
            assertEquals("hello", exchange(a, "hello"));
            assertEquals("world", exchange(b, "world"));
            byte[] big = randomBytes(1 << 20);
            a.getOutputStream().write(big);
            assertArrayEquals(big, readExactly(a, big.length, 5_000));
            assertEquals(2, proxy.connectionsAccepted());
            assertEquals(2, proxy.openConnections());
        }
    }

    @Test
    void dropResetsCurrentConnectionsAndServesNewOnes() throws Exception {
        try (TcpProxy proxy = TcpProxy.start("127.0.0.1", echo.port())) {
            Socket old = connect(proxy);
            assertEquals("x", exchange(old, "x"));
            proxy.drop();
            assertEquals(0, proxy.openConnections());
            assertThrows(IOException.class, () -> {
                old.setSoTimeout(2_000);
                InputStream in = old.getInputStream();
                for (int i = 0; i < 2; i++) { // a write may land before the RST is seen; the read after fails
                    old.getOutputStream().write(1);
                    if (in.read() < 0) {
                        throw new IOException("EOF instead of a reset");
                    }
                }
            }, "the old connection was reset");
            old.close();
            Await.until(() -> echo.open() == 0, Duration.ofSeconds(5),
                    () -> "timed out waiting: the target side was reset too");
            try (Socket fresh = connect(proxy)) {
                assertEquals("again", exchange(fresh, "again"));
            }
        }
    }

    @Test
    void hangHoldsBytesBothWaysAndPassReleasesThemInOrder() throws Exception {
        echo.greeting = "greetings\n".getBytes(StandardCharsets.UTF_8);
        try (TcpProxy proxy = TcpProxy.start("127.0.0.1", echo.port());
                Socket before = connect(proxy)) {
            assertArrayEquals(echo.greeting, readExactly(before, echo.greeting.length, 5_000));
            proxy.hang();
            byte[] payload = randomBytes(300_000);
            CompletableFuture<Void> written = CompletableFuture.runAsync(() -> {
                try {
                    before.getOutputStream().write(payload);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            // a new connection is accepted, but the target's greeting is held like everything else
            Socket during = connect(proxy);
            before.setSoTimeout(500);
            during.setSoTimeout(500);
            assertThrows(SocketTimeoutException.class, () -> before.getInputStream().read());
            assertThrows(SocketTimeoutException.class, () -> during.getInputStream().read());
            Thread.sleep(300);
            assertEquals(0, echo.received(), "nothing reached the target during the hang");
            assertEquals(2, proxy.openConnections(), "no socket closed by the hang");

            proxy.pass();
            written.get(5, TimeUnit.SECONDS);
            assertArrayEquals(payload, readExactly(before, payload.length, 5_000), "every byte, in order");
            assertArrayEquals(echo.greeting, readExactly(during, echo.greeting.length, 5_000));
            assertEquals("after", exchange(during, "after"));
            during.close();
        }
    }

    @Test
    void delayHoldsEachChunkForTheDelayWithoutCappingThroughput() throws Exception {
        try (TcpProxy proxy = TcpProxy.start("127.0.0.1", echo.port());
                Socket s = connect(proxy)) {
            proxy.delay(Duration.ofMillis(200));
            long t0 = System.nanoTime();
            assertEquals("ping", exchange(s, "ping"));
            long roundTripMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(roundTripMs >= 400 && roundTripMs < 1_000, "200 ms each way: " + roundTripMs + " ms");

            // 20 small writes 20 ms apart: all in flight together, so about 400 ms + 20 x 20 ms, not 20 x 400 ms
            t0 = System.nanoTime();
            StringBuilder expected = new StringBuilder();
            for (int i = 0; i < 20; i++) {
                String part = "chunk-" + i + ";";
                expected.append(part);
                s.getOutputStream().write(part.getBytes(StandardCharsets.UTF_8));
                Thread.sleep(20);
            }
            byte[] back = readExactly(s, expected.length(), 5_000);
            long allMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertEquals(expected.toString(), new String(back, StandardCharsets.UTF_8), "order kept");
            // the last chunk leaves at 19 x 20 ms and comes back 400 ms later
            assertTrue(allMs >= 750 && allMs < 2_500, "20 chunks with a 2 x 200 ms delay took " + allMs + " ms");

            proxy.pass();
            t0 = System.nanoTime();
            assertEquals("fast", exchange(s, "fast"));
            assertTrue(System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(150), "pass() ends the delay");
        }
    }

    @Test
    void refuseResetsCurrentAndNewConnectionsUntilPass() throws Exception {
        try (TcpProxy proxy = TcpProxy.start(URI.create("http://127.0.0.1:" + echo.port()))) {
            Socket old = connect(proxy);
            assertEquals("x", exchange(old, "x"));
            proxy.refuse();
            assertEquals(0, proxy.openConnections());
            assertThrows(IOException.class, () -> {
                // the reset may come before connect() returns, or on the first read
                try (Socket refused = connect(proxy)) {
                    refused.setSoTimeout(2_000);
                    if (refused.getInputStream().read() < 0) {
                        throw new IOException("EOF");
                    }
                }
            });
            old.close();
            assertEquals(0, proxy.openConnections());
            assertEquals(2, proxy.connectionsAccepted());
            proxy.pass();
            try (Socket again = connect(proxy)) {
                assertEquals("back", exchange(again, "back"));
            }
        }
    }

    @Test
    void closeEndsEveryThreadAndConnection() throws Exception {
        TcpProxy proxy = TcpProxy.start("127.0.0.1", echo.port());
        String prefix = "tcp-proxy-" + proxy.port() + "-";
        Socket a = connect(proxy);
        Socket b = connect(proxy);
        exchange(a, "a");
        exchange(b, "b");
        proxy.hang(); // writers are waiting: close must wake them too
        a.getOutputStream().write(1);
        assertEquals(9, proxyThreads(prefix), "an acceptor and four threads per connection");
        proxy.close();
        proxy.close(); // idempotent
        assertEquals(0, proxyThreads(prefix), "no thread left after close()");
        assertEquals(0, proxy.openConnections());
        Await.until(() -> echo.open() == 0, Duration.ofSeconds(5), () -> "timed out waiting: target side closed");
        assertThrows(IOException.class, () -> {
            Socket late = new Socket();
            late.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), proxy.port()), 1_000);
            late.close();
        }, "nothing listens any more");
        a.close();
        b.close();
    }

    @Test
    void aTargetThatIsDownResetsTheClient() throws Exception {
        int nothingThere;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            nothingThere = s.getLocalPort();
        }
        try (TcpProxy proxy = TcpProxy.start("127.0.0.1", nothingThere)) {
            assertThrows(IOException.class, () -> {
                // the reset may come before connect() returns, or on the first read
                try (Socket s = connect(proxy)) {
                    s.setSoTimeout(3_000);
                    if (s.getInputStream().read() < 0) {
                        throw new IOException("EOF");
                    }
                }
            });
            assertEquals(0, proxy.openConnections());
        }
    }

    /** The library through the proxy: locks work, survive a drop, feel a delay, wait out a short hang. */
    @Test
    void etcdLockClientWorksThroughTheProxy() throws Exception {
        String name = "/chaos/proxy-lock";
        try (EtcdTestCluster etcd = EtcdTestCluster.single();
                TcpProxy proxy = TcpProxy.start(URI.create(etcd.clientEndpoints().get(0)));
                EtcdLockClient client = EtcdLockClient.connect(proxy.endpoint());
                Session session = client.newSession(Duration.ofSeconds(10))) {
            try (LockHandle lock = session.mutex(name).lock(Duration.ofSeconds(5))) {
                assertTrue(lock.isHeld());
            }
            long leaseBefore = session.leaseId();

            proxy.drop();
            try (LockHandle lock = session.mutex(name).lock(Duration.ofSeconds(5))) {
                assertTrue(lock.isHeld(), "locks work again after the connection was reset");
            }
            assertTrue(proxy.connectionsAccepted() >= 2, "the client reconnected through the proxy");

            proxy.delay(Duration.ofMillis(100));
            long t0 = System.nanoTime();
            Optional<LockHandle> delayed = session.mutex(name).tryLock();
            long tryLockMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(delayed.isPresent());
            delayed.get().unlock();
            assertTrue(tryLockMs >= 200, "one round trip pays 100 ms each way: " + tryLockMs + " ms");

            proxy.hang();
            CompletableFuture<Optional<LockHandle>> during = CompletableFuture.supplyAsync(
                    () -> session.mutex(name).tryLock());
            Thread.sleep(1_500);
            assertFalse(during.isDone(), "nothing gets through a hang");
            proxy.pass();
            Optional<LockHandle> afterHang = during.get(5, TimeUnit.SECONDS);
            assertTrue(afterHang.isPresent(), "the held request went through once the hang ended");
            afterHang.get().unlock();

            assertEquals(leaseBefore, session.leaseId());
            assertTrue(session.isValid(), "the session lived through drop, delay and hang");
            assertEquals(0, EtcdKeys.count(etcd.clientEndpoints(), name + "/"));
        }
    }

    // ---- helpers ----

    private static Socket connect(TcpProxy proxy) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), proxy.port()), 2_000);
        s.setTcpNoDelay(true);
        return s;
    }

    private static String exchange(Socket s, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        s.getOutputStream().write(bytes);
        return new String(readExactly(s, bytes.length, 5_000), StandardCharsets.UTF_8);
    }

    private static byte[] readExactly(Socket s, int n, int timeoutMs) throws IOException {
        s.setSoTimeout(timeoutMs);
        byte[] buffer = new byte[n];
        InputStream in = s.getInputStream();
        int at = 0;
        while (at < n) {
            int r = in.read(buffer, at, n - at);
            if (r < 0) {
                throw new IOException("EOF after " + at + " of " + n + " bytes");
            }
            at += r;
        }
        return buffer;
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    private static long proxyThreads(String prefix) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith(prefix) && t.isAlive()).count();
    }

    /** Echoes what it reads; counts bytes received and open connections; may greet each new connection. */
    private static final class EchoServer implements AutoCloseable {
        private final ServerSocket server;
        private final Thread acceptor;
        private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
        private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
        private final AtomicLong received = new AtomicLong();
        volatile byte[] greeting;

        EchoServer() throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            acceptor = new Thread(this::acceptLoop, "echo-accept");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int port() {
            return server.getLocalPort();
        }

        long received() {
            return received.get();
        }

        int open() {
            return sockets.size();
        }

        private void acceptLoop() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    sockets.add(s);
                    Thread t = new Thread(() -> serve(s), "echo-conn");
                    t.setDaemon(true);
                    threads.add(t);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s) {
            try (s) {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                byte[] hello = greeting;
                if (hello != null) {
                    out.write(hello);
                }
                byte[] buffer = new byte[8192];
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    received.addAndGet(n);
                    out.write(buffer, 0, n);
                }
            } catch (IOException e) {
                // reset by the proxy: what the tests do to it
            } finally {
                sockets.remove(s);
            }
        }

        @Override
        public void close() {
            try {
                server.close();
                for (Socket s : sockets) {
                    s.close();
                }
                acceptor.join(5_000);
                for (Thread t : threads) {
                    t.join(5_000);
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}

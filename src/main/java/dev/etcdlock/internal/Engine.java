package dev.etcdlock.internal;

import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.lease.LeaseManager;
import dev.etcdlock.internal.transport.Credentials;
import dev.etcdlock.internal.transport.Endpoint;
import dev.etcdlock.internal.transport.ServerInfo;
import dev.etcdlock.internal.transport.TlsFiles;
import dev.etcdlock.internal.transport.Transport;
import dev.etcdlock.internal.watch.WatchMultiplexer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What one client owns: its serial context, the channel, and the KV, lease and watch engines on top of it. The
 * recipes use these; nothing here is public API.
 *
 * <p>Threads: none of its own. Work runs in the client's {@link SerialContext} on gRPC's Netty event loops and the
 * callers' threads; delays come from one timer thread shared by every client in the JVM.
 */
public final class Engine implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Engine.class.getName());

    private final SerialContext executor;
    private final Transport transport;
    private final Kv kv;
    private final LeaseManager leases;
    private final WatchMultiplexer watches;
    private final ServerInfo server;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Engine(Settings settings) {
        List<Endpoint> endpoints = Endpoint.parseAll(settings.endpoints());
        executor = new SerialContext();
        try {
            transport = new Transport(endpoints, executor, settings.requestTimeout(), settings.credentials(),
                    settings.tls());
        } catch (RuntimeException e) {
            executor.shutdown();
            throw e;
        }
        try {
            server = transport.connect(settings.connectTimeout());
        } catch (RuntimeException e) {
            transport.close();
            executor.shutdown();
            throw e;
        }
        kv = new Kv(transport);
        leases = new LeaseManager(transport, Ticker.system());
        watches = new WatchMultiplexer(transport, settings.watchLinger(), Ticker.system());
    }

    /**
     * Opens the channel and checks that a member answers within the connect timeout.
     *
     * @throws IllegalArgumentException for malformed endpoints, unknown hosts, or TLS files that are bad or given
     *                                  for http:// endpoints
     * @throws dev.etcdlock.EtcdUnavailableException when no member answers in time, or the TLS handshake fails
     */
    public static Engine connect(Settings settings) {
        return new Engine(settings);
    }

    /**
     * Client settings; {@code credentials} null when etcd runs without authentication, {@code tls} null for
     * plaintext or for TLS verified against the JVM's trusted CAs.
     */
    public record Settings(List<String> endpoints, Duration connectTimeout, Duration requestTimeout,
            Duration watchLinger, Credentials credentials, TlsFiles tls) {

        public static Settings of(List<String> endpoints) {
            return new Settings(endpoints, Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofMinutes(2), null,
                    null);
        }

        public Settings withConnectTimeout(Duration timeout) {
            return new Settings(endpoints, timeout, requestTimeout, watchLinger, credentials, tls);
        }

        public Settings withRequestTimeout(Duration timeout) {
            return new Settings(endpoints, connectTimeout, timeout, watchLinger, credentials, tls);
        }

        public Settings withWatchLinger(Duration linger) {
            return new Settings(endpoints, connectTimeout, requestTimeout, linger, credentials, tls);
        }

        public Settings withCredentials(Credentials credentials) {
            return new Settings(endpoints, connectTimeout, requestTimeout, watchLinger, credentials, tls);
        }

        public Settings withTls(TlsFiles tls) {
            return new Settings(endpoints, connectTimeout, requestTimeout, watchLinger, credentials, tls);
        }
    }

    public Transport transport() {
        return transport;
    }

    public Kv kv() {
        return kv;
    }

    public LeaseManager leases() {
        return leases;
    }

    public WatchMultiplexer watches() {
        return watches;
    }

    /** What etcd said of itself at connect time: its version and leader. */
    public ServerInfo server() {
        return server;
    }

    public boolean isClosed() {
        return closed.get();
    }

    /**
     * Revokes the leases this client granted (so its locks are released at once rather than after their TTL), ends
     * all watches and streams, and stops the serial context. Idempotent; bounded by about the request timeout.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (executor.inContext()) {
            // called from a callback: the context must keep running to revoke, so close from another thread
            Thread closer = new Thread(this::shutDown, "etcd-lock-close");
            closer.setDaemon(true);
            closer.start();
        } else {
            shutDown();
        }
    }

    private void shutDown() {
        try {
            leases.close(Duration.ofSeconds(2)).get(3, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            LOG.log(System.Logger.Level.WARNING, "closing: lease revocation did not finish in time");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "closing: revoking this client's leases failed (" + e
                    + "); etcd releases their locks when their TTL runs out");
        } finally {
            watches.close();
            transport.close();
            executor.shutdown();
            try {
                transport.awaitTermination(Duration.ofSeconds(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}

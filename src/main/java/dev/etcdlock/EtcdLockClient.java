package dev.etcdlock;

import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.events.LockEvents;
import dev.etcdlock.internal.lease.Lease;
import dev.etcdlock.internal.lease.LeaseManager;
import dev.etcdlock.internal.lock.LockQueue;
import dev.etcdlock.internal.lock.SessionLocks;
import dev.etcdlock.internal.transport.EtcdErrors;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * A connection to an etcd cluster, shared by every session and lock made from it. Open one per application and
 * close it on shutdown; it is thread-safe.
 *
 * <p>One client holds one gRPC channel to all given members (calls go round-robin to those that are up, and move
 * to another member when one fails), one lease keep-alive stream for all its leases, one watch stream for all its
 * waiters, and no thread of its own (its work runs on gRPC's shared Netty threads and one shared timer).
 *
 * <pre>{@code
 * try (EtcdLockClient client = EtcdLockClient.connect("http://127.0.0.1:2379")) {
 *     ...
 * }
 * }</pre>
 */
public final class EtcdLockClient implements AutoCloseable {
    private final Engine engine;
    private final LockQueue lockQueue;
    private final List<String> endpoints;
    private final LockEvents events;

    private EtcdLockClient(Engine engine, List<String> endpoints, LockListener listener) {
        this.engine = engine;
        this.lockQueue = new LockQueue(engine);
        this.endpoints = endpoints;
        this.events = LockEvents.of(listener, "the etcd-lock client of " + endpoints);
    }

    /**
     * Connects with default settings to the given members ({@code http://host:port}, or comma separated lists).
     *
     * @throws IllegalArgumentException when no endpoint is given, one is malformed or its host is unknown
     * @throws EtcdUnavailableException when no member answers within 5 seconds
     */
    public static EtcdLockClient connect(String... endpoints) {
        return builder().endpoints(endpoints).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Opens a session with the default TTL of 60 s (as Go's concurrency package).
     *
     * @throws EtcdUnavailableException when etcd cannot grant the lease
     * @throws ClientClosedException when the client is closed
     */
    public Session newSession() {
        return newSession(Duration.ofSeconds(60));
    }

    /**
     * Opens a session whose lease has the given TTL (whole seconds, rounded up). A crashed holder's locks are freed
     * that long after its last keep-alive; a longer TTL survives longer etcd outages without losing the locks.
     *
     * @throws IllegalArgumentException when the TTL is not positive or beyond etcd's maximum
     * @throws EtcdUnavailableException when etcd cannot grant the lease
     */
    public Session newSession(Duration ttl) {
        LeaseManager.ttlSecondsOf(ttl);
        checkOpen();
        return openSession(engine.leases().grant(ttl), "granting a session lease");
    }

    /**
     * Takes over keeping an existing lease alive (granted by another process or an earlier client) and opens a
     * session on it, so locks taken through it use that lease's key under each name.
     *
     * @throws LeaseLostException when etcd does not know the lease (expired or revoked)
     * @throws EtcdUnavailableException when etcd cannot be reached
     */
    public Session attachSession(long leaseId) {
        checkOpen();
        return openSession(engine.leases().adopt(leaseId), "attaching lease " + Long.toHexString(leaseId));
    }

    private Session openSession(CompletableFuture<Lease> lease, String what) {
        try {
            return new Session(engine, new SessionLocks(lockQueue, lease.join(), events));
        } catch (RuntimeException e) {
            throw EtcdErrors.toException(e, what, true);
        }
    }

    private void checkOpen() {
        if (engine.isClosed()) {
            throw new ClientClosedException("the etcd-lock client is closed; create a new one");
        }
    }

    /** A transaction of writes guarded by held locks ({@link Txn#ifHeld(LockHandle)}). */
    public Txn txn() {
        checkOpen();
        return new Txn(engine.kv());
    }

    /** The endpoints this client was built with, as given. */
    public List<String> endpoints() {
        return endpoints;
    }

    /** The etcd version of the member that answered first when connecting, such as {@code 3.4.23}. */
    public String serverVersion() {
        return engine.connectedStatus().getVersion();
    }

    /**
     * Revokes the leases of this client's sessions (releasing their locks at once), ends every wait with
     * {@link ClientClosedException}, and closes the connection. Returns within a few seconds even when etcd is
     * unreachable; leases that could not be revoked then expire after their TTL. Closing twice does nothing.
     */
    @Override
    public void close() {
        engine.close();
    }

    /** True after {@link #close()}. */
    public boolean isClosed() {
        return engine.isClosed();
    }

    @Override
    public String toString() {
        return "EtcdLockClient" + endpoints + (isClosed() ? " (closed)" : "");
    }

    /**
     * Settings of a client. Every setter checks its argument at once; the certificate and key files are read and
     * checked by {@link #build()}, before it connects.
     */
    public static final class Builder {
        private final List<String> endpoints = new ArrayList<>();
        private Duration connectTimeout = Duration.ofSeconds(5);
        private Duration requestTimeout = Duration.ofSeconds(10);
        private dev.etcdlock.internal.transport.Credentials credentials;
        private Path trustedCertificates;
        private Path clientCertificate;
        private Path clientKey;
        private LockListener listener;

        private Builder() {
        }

        /**
         * Authenticates as this etcd user (for clusters with {@code etcdctl auth enable}). The token etcd hands out
         * is renewed by itself when it expires. The password is kept in memory only and never printed.
         *
         * @throws IllegalArgumentException when the user name is empty
         * @throws NullPointerException when either is null
         */
        public Builder credentials(String user, String password) {
            this.credentials = new dev.etcdlock.internal.transport.Credentials(user, password);
            return this;
        }

        /**
         * Verifies etcd's server certificate against the CA certificates in this PEM file, instead of the JVM's
         * trusted CAs (what etcdctl's {@code --cacert} does). For {@code https://} endpoints only. The server
         * certificate must also be issued for the endpoint's host: its subject alternative names must hold the
         * host name or IP address used in the endpoint.
         *
         * <p>On failure: {@link #build()} throws {@link IllegalArgumentException} when the file does not exist,
         * cannot be read or holds no PEM certificate, or when the endpoints are {@code http://}; it throws
         * {@link EtcdUnavailableException} at once when etcd's certificate is not signed by this CA or not issued for
         * the endpoint's host, the message saying which.
         *
         * @throws NullPointerException when {@code caPemFile} is null
         */
        public Builder trustedCertificates(Path caPemFile) {
            this.trustedCertificates = Objects.requireNonNull(caPemFile, "caPemFile");
            return this;
        }

        /**
         * Mutual TLS: presents this client certificate to etcd (for etcd's {@code --client-cert-auth}; etcdctl's
         * {@code --cert} and {@code --key}). For {@code https://} endpoints only. The certificate file is PEM
         * ({@code -----BEGIN CERTIFICATE-----}, intermediates may follow); the key file must be an unencrypted
         * PKCS#8 PEM key ({@code -----BEGIN PRIVATE KEY-----}, RSA or EC), the one format gRPC's TLS reads. Keys in
         * OpenSSL's traditional formats ({@code BEGIN RSA PRIVATE KEY}, {@code BEGIN EC PRIVATE KEY}) or encrypted
         * with a passphrase are refused, with the {@code openssl pkey} command that converts them. The key's
         * contents never appear in messages, logs or {@code toString()}; its path does.
         *
         * <p>On failure: {@link #build()} throws {@link IllegalArgumentException} when a file does not exist, cannot
         * be read, is not PEM, when the key is in a format gRPC cannot read or is not the certificate's key, or when
         * the endpoints are {@code http://}; it throws {@link EtcdUnavailableException} at once when etcd refuses
         * the certificate (not signed by a CA in etcd's {@code --trusted-ca-file}).
         *
         * @throws NullPointerException when either is null (a certificate is no use without its key)
         */
        public Builder clientCertificate(Path certPemFile, Path privateKeyPemFile) {
            Objects.requireNonNull(certPemFile, "certPemFile");
            Objects.requireNonNull(privateKeyPemFile,
                    "privateKeyPemFile: a client certificate needs the private key it was issued for");
            this.clientCertificate = certPemFile;
            this.clientKey = privateKeyPemFile;
            return this;
        }

        /**
         * The etcd members' client URLs, e.g. {@code http://10.0.0.1:2379}; each argument may be a comma separated
         * list, as in {@code ETCD_ENDPOINTS}. Replaces earlier endpoints.
         *
         * @throws IllegalArgumentException when empty or when one is not a valid http(s) URL with a port
         */
        public Builder endpoints(String... endpoints) {
            Objects.requireNonNull(endpoints, "endpoints");
            return endpoints(List.of(endpoints));
        }

        /** Like {@link #endpoints(String...)}. */
        public Builder endpoints(List<String> endpoints) {
            Objects.requireNonNull(endpoints, "endpoints");
            dev.etcdlock.internal.transport.Endpoint.parseAll(endpoints); // fail here, naming the bad one
            this.endpoints.clear();
            this.endpoints.addAll(endpoints);
            return this;
        }

        /**
         * How long {@link #build()} waits for the first member to answer (default 5 s).
         *
         * @throws IllegalArgumentException when not positive
         */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = positive(timeout, "connectTimeout");
            return this;
        }

        /**
         * Deadline of each call to etcd, retries of reads included (default 10 s). Lock waits have their own
         * timeouts; this bounds the single round trips inside them.
         *
         * @throws IllegalArgumentException when not positive
         */
        public Builder requestTimeout(Duration timeout) {
            this.requestTimeout = positive(timeout, "requestTimeout");
            return this;
        }

        /**
         * Tells {@code listener} of every acquisition, release and loss of a lock, permit or leadership term taken
         * through this client's sessions, to feed the application's own metrics. Its calls run on a thread of
         * etcd-lock's listener pool, one at a time and in order, never on the thread that locks: a slow or blocked
         * listener delays only its own later calls, and an exception it throws is logged and changes nothing (see
         * {@link LockListener}). Independent of this, the client records JFR events ({@code dev.etcdlock.*}) when a
         * flight recording enables them.
         *
         * @param listener told of the client's lock events; implement only the methods you need
         * @return this builder
         * @throws NullPointerException when {@code listener} is null
         * @throws IllegalStateException when a listener was already set (combine them in one listener)
         */
        public Builder listener(LockListener listener) {
            Objects.requireNonNull(listener, "listener");
            if (this.listener != null) {
                throw new IllegalStateException("listener was already set to " + this.listener
                        + "; a client takes one listener: combine them in one that calls each");
            }
            this.listener = listener;
            return this;
        }

        /**
         * Reads the certificate files, if any, connects and checks that a member answers.
         *
         * @throws IllegalArgumentException when no endpoints were set, a host is unknown, a certificate or key file
         *                                  is missing, unreadable or not usable PEM, or certificates are given for
         *                                  {@code http://} endpoints
         * @throws EtcdUnavailableException when no member answers within the connect timeout, or at once when the
         *                                  TLS handshake fails over a certificate (the message says which and what
         *                                  to do)
         * @throws EtcdRequestException when etcd refuses the credentials
         */
        public EtcdLockClient build() {
            if (endpoints.isEmpty()) {
                throw new IllegalArgumentException(
                        "no etcd endpoints given: call endpoints(\"http://127.0.0.1:2379\") before build()");
            }
            Engine engine = Engine.connect(Engine.Settings.of(endpoints)
                    .withConnectTimeout(connectTimeout)
                    .withRequestTimeout(requestTimeout)
                    .withCredentials(credentials)
                    .withTls(trustedCertificates == null && clientCertificate == null ? null
                            : new dev.etcdlock.internal.transport.TlsFiles(trustedCertificates, clientCertificate,
                                    clientKey)));
            return new EtcdLockClient(engine, List.copyOf(endpoints), listener);
        }

        private static Duration positive(Duration d, String name) {
            Objects.requireNonNull(d, name);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be positive, was " + d);
            }
            return d;
        }
    }
}

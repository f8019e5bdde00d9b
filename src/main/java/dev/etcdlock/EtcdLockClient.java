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
 *
 * <p>Calls to etcd are bounded by the {@linkplain Builder#requestTimeout request timeout}: reads and requests that
 * are safe to repeat are retried on other members until it passes, other writes are sent once (see
 * {@link EtcdUnavailableException}). After {@link #close()}, every method that would talk to etcd throws
 * {@link ClientClosedException}. See the <a href="package-summary.html">package overview</a> for the threading model
 * and the exceptions.
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
     * Connects with default settings to the given members ({@code http://host:port}, or comma separated lists):
     * {@code builder().endpoints(endpoints).build()}. Blocks until a member answers; not interruptible.
     *
     * @param endpoints the members' client URLs; each may be a comma separated list
     * @return the connected client; close it when done
     * @throws IllegalArgumentException when no endpoint is given, one is malformed or its host is unknown
     * @throws EtcdUnavailableException when no member answers within 5 seconds
     */
    public static EtcdLockClient connect(String... endpoints) {
        return builder().endpoints(endpoints).build();
    }

    /**
     * Starts the settings of a client; nothing is checked against etcd until {@link Builder#build()}.
     *
     * @return a new builder with the defaults (connect timeout 5 s, request timeout 10 s, no TLS files, no
     *     credentials)
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Opens a session with the default TTL of 60 s (as Go's concurrency package); see {@link #newSession(Duration)}.
     *
     * @return the new session; close it to release its locks at once
     * @throws EtcdUnavailableException when etcd cannot grant the lease within the request timeout
     * @throws EtcdRequestException when etcd refuses to grant it
     * @throws ClientClosedException when the client is closed
     */
    public Session newSession() {
        return newSession(Duration.ofSeconds(60));
    }

    /**
     * Opens a session whose lease has the given TTL (whole seconds, rounded up). A crashed holder's locks are freed
     * that long after its last keep-alive; a longer TTL survives longer etcd outages without losing the locks.
     *
     * <p>One LeaseGrant request, bounded by the request timeout. It is a write, so it is not re-sent when its outcome
     * is unknown: etcd may then have granted a lease nobody keeps alive, which it deletes after the TTL. Blocks
     * until answered; not interruptible.
     *
     * @param ttl the lease's time to live; etcd raises one below its minimum (2 s with default settings)
     * @return the new session; close it to release its locks at once
     * @throws IllegalArgumentException when the TTL is not positive or beyond etcd's maximum
     * @throws EtcdUnavailableException when etcd cannot grant the lease within the request timeout
     * @throws EtcdRequestException when etcd refuses to grant it
     * @throws ClientClosedException when the client is closed
     */
    public Session newSession(Duration ttl) {
        LeaseManager.ttlSecondsOf(ttl);
        checkOpen();
        return openSession(engine.leases().grant(ttl), "granting a session lease");
    }

    /**
     * Takes over keeping an existing lease alive (granted by another process or an earlier client) and opens a
     * session on it, so locks taken through it use that lease's key under each name. One read of the lease's
     * remaining TTL, retried on other members within the request timeout; not interruptible. Do not attach one
     * lease in two clients at once: their waiter keys would be the same key.
     *
     * @param leaseId the etcd lease id, as {@link Session#leaseId()} returns it
     * @return a session on that lease; closing it revokes the lease
     * @throws LeaseLostException when etcd does not know the lease (expired or revoked)
     * @throws IllegalStateException when this client keeps the lease alive already, for another session: use that
     *     session (two sessions on one lease would take turns on nothing, and split its keep-alives)
     * @throws EtcdUnavailableException when etcd cannot be reached within the request timeout
     * @throws ClientClosedException when the client is closed
     */
    public Session attachSession(long leaseId) {
        checkOpen();
        return openSession(engine.leases().adopt(leaseId), "attaching lease " + Long.toHexString(leaseId));
    }

    private Session openSession(CompletableFuture<Lease> lease, String what) {
        try {
            return new Session(engine, new SessionLocks(lockQueue, lease.join(), events));
        } catch (RuntimeException e) {
            if (EtcdErrors.unwrap(e) instanceof IllegalStateException misuse) {
                throw misuse; // the lease is already this client's: see attachSession
            }
            throw EtcdErrors.toException(e, what, true);
        }
    }

    private void checkOpen() {
        if (engine.isClosed()) {
            throw new ClientClosedException("the etcd-lock client is closed; create a new one");
        }
    }

    /**
     * A transaction of writes guarded by held locks ({@link Txn#ifHeld(LockHandle)}) or leaderships
     * ({@link Txn#ifLeader(Leadership)}). No I/O until {@link Txn#commit()}.
     *
     * @return a new, empty transaction
     * @throws ClientClosedException when the client is closed
     */
    public Txn txn() {
        checkOpen();
        return new Txn(engine.kv());
    }

    /**
     * The endpoints this client was built with, as given.
     *
     * @return an unmodifiable list
     */
    public List<String> endpoints() {
        return endpoints;
    }

    /**
     * The etcd version of the member that answered first when connecting, such as {@code 3.5.30}. No I/O: read
     * once at connect time, so it works on a closed client too. It needs no permission: where the user may not call
     * etcd's {@code Maintenance.Status} (which etcd 3.5.28 to 3.5.31 allow only to admins), it is read from the
     * member's HTTP {@code /version} endpoint.
     *
     * @return the version string etcd reported, or {@code "unknown"} when neither source answered
     */
    public String serverVersion() {
        return engine.server().version();
    }

    /**
     * Revokes the leases of this client's sessions (releasing their locks at once), ends every wait with
     * {@link ClientClosedException}, and closes the connection. Returns within a few seconds even when etcd is
     * unreachable; leases that could not be revoked then expire after their TTL. Closing twice does nothing. Never
     * throws; an interrupt while it waits for the revocations cuts the wait short and is kept in the thread's flag.
     *
     * <p>Afterwards, sessions' {@link Session#lost()} complete normally (on the common pool, a moment later; at once
     * when the session's own {@code close()} follows), handles' {@code isHeld()} return false, and
     * calls that need etcd throw {@link ClientClosedException}. Closing what is still open is safe and sends
     * nothing: {@link Session#close()}, {@link LockHandle#close()} and {@link Leadership#close()} do nothing, while
     * {@link LockHandle#unlock()} and {@link Leadership#resign()} throw {@link LockNotHeldException}, as this close
     * released the lock or ended the term.
     */
    @Override
    public void close() {
        engine.close();
    }

    /**
     * Whether {@link #close()} was called. No I/O.
     *
     * @return true after {@link #close()}
     */
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
         * (simple or JWT) is renewed by itself when it expires or goes stale after a user or role change, for calls
         * and for the keep-alive and watch streams alike. The password is kept in memory only and never printed.
         * Wrong credentials fail {@link #build()} with {@link EtcdRequestException}. The user needs no rights beyond
         * read and write on its locks' prefixes: no admin role, not even for {@link EtcdLockClient#serverVersion()}.
         * Without credentials, a client certificate whose common name is an etcd user logs in as that user on etcd
         * started with {@code --client-cert-auth}.
         *
         * @param user the etcd user name
         * @param password the user's password
         * @return this builder
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
         * @param caPemFile a PEM file of one or more CA certificates
         * @return this builder
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
         * @param certPemFile the client certificate, PEM
         * @param privateKeyPemFile its private key, unencrypted PKCS#8 PEM
         * @return this builder
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
         * list, as in {@code ETCD_ENDPOINTS}. Replaces earlier endpoints. Checked at once; host names are resolved by
         * {@link #build()}.
         *
         * @param endpoints the members' client URLs
         * @return this builder
         * @throws IllegalArgumentException when empty or when one is not a valid http(s) URL with a port
         * @throws NullPointerException when the array or one of its elements is null
         */
        public Builder endpoints(String... endpoints) {
            Objects.requireNonNull(endpoints, "endpoints");
            return endpoints(List.of(endpoints));
        }

        /**
         * Like {@link #endpoints(String...)}.
         *
         * @param endpoints the members' client URLs; each may be a comma separated list
         * @return this builder
         * @throws IllegalArgumentException when empty, when an element is null, or when one is not a valid http(s)
         *     URL with a port
         * @throws NullPointerException when the list is null
         */
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
         * @param timeout the connect timeout
         * @return this builder
         * @throws IllegalArgumentException when not positive
         * @throws NullPointerException when null
         */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = positive(timeout, "connectTimeout");
            return this;
        }

        /**
         * Deadline of each call to etcd, retries of reads included (default 10 s). Lock waits have their own
         * timeouts; this bounds the single round trips inside them. A call that is not answered by then fails with
         * {@link EtcdUnavailableException}.
         *
         * @param timeout the deadline of each call to etcd
         * @return this builder
         * @throws IllegalArgumentException when not positive
         * @throws NullPointerException when null
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
         * Reads the certificate files, if any, connects and checks that the cluster answers: with credentials it
         * authenticates first, then reads one key through consensus, as {@code etcdctl endpoint health} does (a
         * refusal by etcd's permission check counts as an answer, so a role-limited user needs no extra right).
         * Blocks for about the connect timeout at most; not interruptible. The builder may be used again to build
         * another client.
         *
         * @return the connected client; close it when done
         * @throws IllegalArgumentException when no endpoints were set, a host is unknown, a certificate or key file
         *                                  is missing, unreadable or not usable PEM, or certificates are given for
         *                                  {@code http://} endpoints
         * @throws EtcdUnavailableException when no member answers within the connect timeout, or at once when the
         *                                  TLS handshake fails over a certificate (the message says which and what
         *                                  to do)
         * @throws EtcdRequestException when etcd refuses the credentials, or has authentication enabled and was
         *                                  given neither credentials nor a client certificate
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

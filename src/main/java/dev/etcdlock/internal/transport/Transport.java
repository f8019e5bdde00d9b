package dev.etcdlock.internal.transport;

import dev.etcdlock.EtcdRequestException;
import dev.etcdlock.EtcdUnavailableException;
import dev.etcdlock.internal.SerialContext;
import dev.etcdlock.internal.proto.AuthGrpc;
import dev.etcdlock.internal.proto.AuthenticateRequest;
import dev.etcdlock.internal.proto.KVGrpc;
import dev.etcdlock.internal.proto.MaintenanceGrpc;
import dev.etcdlock.internal.proto.RangeRequest;
import dev.etcdlock.internal.proto.StatusRequest;
import dev.etcdlock.internal.proto.StatusResponse;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.Deadline;
import io.grpc.ForwardingClientCall;
import io.grpc.Grpc;
import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import io.grpc.stub.ClientCallStreamObserver;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The client's one gRPC channel to the etcd members, and the only class that makes calls on it.
 *
 * <p>gRPC delivers callbacks on its Netty threads; the lease manager and the watch multiplexer move them into the
 * client's {@link SerialContext}, which keeps their state without locks. Unary calls come back as
 * {@link CompletableFuture}s; reads are retried on other members until their deadline, a write only when etcd
 * certainly did not execute it (see {@link EtcdErrors}).
 */
public final class Transport {
    private static final System.Logger LOG = System.getLogger(Transport.class.getName());

    /**
     * How long one attempt of an idempotent call may wait for a member before it is retried: a healthy member
     * answers a lock's calls in milliseconds, and one silent for this long is as good as gone for a lock whose
     * lease may be only a few seconds long.
     */
    static final Duration ATTEMPT_TIMEOUT = Duration.ofSeconds(2);
    /**
     * How long a member that let an attempt time out gets no new calls. Short is cheap: a member put back while still
     * frozen is not used until it answers a new connection's handshake (see {@link StaticNameResolver}).
     */
    static final Duration BENCH_TIME = Duration.ofSeconds(5);

    /**
     * Asks each member to refuse a call while it has no leader, instead of holding it until "request timed out".
     * A refused write was not executed and may be retried elsewhere; a timed-out one has an unknown outcome.
     */
    private static final Metadata.Key<String> HAS_LEADER =
            Metadata.Key.of("hasleader", Metadata.ASCII_STRING_MARSHALLER);

    private final List<Endpoint> endpoints;
    private final ManagedChannel managedChannel;
    private final StaticNameResolver.Factory members;
    private final AtomicLong abandonedAttempts = new AtomicLong();
    private final Channel channel;
    private final SerialContext executor;
    private final Duration requestTimeout;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Calls not finished yet: close() fails them, since their callbacks cannot run once the engine stops. */
    private final Set<UnaryCall<?, ?>> live = ConcurrentHashMap.newKeySet();

    private static final Metadata.Key<String> TOKEN = Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER);

    private final Credentials credentials; // null: etcd without authentication
    private final TlsFiles tls; // null: plaintext, or TLS verified against the JVM's trusted CAs
    private final AtomicReference<String> token = new AtomicReference<>();
    private final AtomicReference<CompletableFuture<String>> refreshing = new AtomicReference<>();

    public Transport(List<Endpoint> endpoints, SerialContext executor, Duration requestTimeout) {
        this(endpoints, executor, requestTimeout, null);
    }

    public Transport(List<Endpoint> endpoints, SerialContext executor, Duration requestTimeout,
            Credentials credentials) {
        this(endpoints, executor, requestTimeout, credentials, null);
    }

    /**
     * @param tls for https:// endpoints, the CA and client certificate files; null for the JVM's trusted CAs
     * @throws IllegalArgumentException when {@code tls} is given for http:// endpoints or one of its files is bad
     */
    public Transport(List<Endpoint> endpoints, SerialContext executor, Duration requestTimeout,
            Credentials credentials, TlsFiles tls) {
        this.credentials = credentials;
        this.tls = tls;
        this.endpoints = List.copyOf(endpoints);
        this.members = StaticNameResolver.factory(this.endpoints);
        this.executor = executor;
        this.requestTimeout = requestTimeout;
        ChannelCredentials transportSecurity = TransportSecurity.channelCredentials(this.endpoints, tls);
        this.managedChannel = newChannel(transportSecurity);
        this.channel = ClientInterceptors.intercept(managedChannel, new Headers());
    }

    private Transport(Channel channel, SerialContext executor, Duration requestTimeout) {
        this.credentials = null;
        this.tls = null;
        this.endpoints = List.of(); // no other member to retry a silent attempt on: attempts get the whole deadline
        this.members = null;
        this.executor = executor;
        this.requestTimeout = requestTimeout;
        this.managedChannel = null;
        this.channel = ClientInterceptors.intercept(channel, new Headers());
    }

    /**
     * A transport whose calls and streams all go to {@code channel}, owned by the caller, with no credentials: for
     * tests that answer the lease and watch engines' calls themselves, on a fake channel, without etcd.
     */
    public static Transport over(Channel channel, SerialContext executor, Duration requestTimeout) {
        return new Transport(channel, executor, requestTimeout);
    }

    private ManagedChannel newChannel(ChannelCredentials transportSecurity) {
        try {
            return channelBuilder(transportSecurity).build();
        } catch (RuntimeException e) {
            if (tls == null) {
                throw e;
            }
            // Netty makes its SSL context here, and may refuse what our checks let through
            throw new IllegalArgumentException("gRPC could not set up TLS with " + tls + ": " + e.getMessage(), e);
        }
    }

    private io.grpc.ManagedChannelBuilder<?> channelBuilder(ChannelCredentials transportSecurity) {
        return Grpc.newChannelBuilder(StaticNameResolver.SCHEME + ":///etcd", transportSecurity)
                .nameResolverFactory(members)
                .defaultLoadBalancingPolicy("round_robin")
                .directExecutor() // callbacks run on the Netty thread that read the answer; see SerialContext
                .proxyDetector(address -> null)
                .keepAliveTime(10, TimeUnit.SECONDS)
                .keepAliveTimeout(5, TimeUnit.SECONDS)
                .maxInboundMessageSize(64 << 20)
                .disableRetry(); // retries are decided here, by what etcd's answer means
    }

    /**
     * How many attempts were given up on a silent member so far. Such a member may still execute the request when
     * it wakes, after the call was retried elsewhere and completed: callers whose request creates keys compare this
     * before and after to know when to watch for such a late execution.
     */
    public long abandonedAttempts() {
        return abandonedAttempts.get();
    }

    public List<Endpoint> endpoints() {
        return endpoints;
    }

    public SerialContext executor() {
        return executor;
    }

    public Duration requestTimeout() {
        return requestTimeout;
    }

    public boolean isClosed() {
        return closed.get();
    }

    /**
     * Checks that etcd answers, so that wrong or unreachable endpoints and wrong credentials fail when the client is
     * built rather than at the first lock, and reads etcd's version. With credentials it authenticates first: etcd
     * with authentication refuses every other call without a token. Then it reads a key through consensus, as
     * {@code etcdctl endpoint health} does; a refusal by etcd's permission check comes after consensus, so it shows
     * the cluster works as well as an answer does, and a lock user needs no right beyond its own keys. The version
     * comes from {@code Maintenance.Status}, or where the user may not call it (etcd 3.5.28 and later) from the
     * HTTP {@code /version} endpoint.
     *
     * @throws EtcdUnavailableException when no member answers within {@code timeout}, or the TLS handshake fails
     * @throws dev.etcdlock.EtcdRequestException when etcd refuses the credentials, or wants some and has none
     */
    public ServerInfo connect(Duration timeout) {
        Deadline deadline = Deadline.after(timeout.toNanos(), TimeUnit.NANOSECONDS);
        if (credentials != null) {
            try {
                authenticate(deadline).join();
            } catch (RuntimeException e) {
                if (EtcdErrors.kind(e) == EtcdErrors.Kind.UNAVAILABLE) {
                    throw unreachable(e, timeout);
                }
                throw EtcdErrors.toException(e, "authenticating as etcd user '" + credentials.user() + "'", false);
            }
        }
        try {
            start(new UnaryCall<>(KVGrpc.getRangeMethod(), PROBE, true, deadline, true)).join();
        } catch (RuntimeException e) {
            EtcdErrors.Kind kind = EtcdErrors.kind(e);
            if (kind == EtcdErrors.Kind.USER_EMPTY) {
                throw new EtcdRequestException("etcd at " + endpoints + " has authentication enabled: give the "
                        + "client credentials(user, password), or a client certificate whose common name is an etcd "
                        + "user", EtcdErrors.unwrap(e));
            }
            if (kind != EtcdErrors.Kind.PERMISSION_DENIED) {
                throw unreachable(e, timeout);
            }
        }
        // etcd answered: the version may take a little longer than the timeout left, but not much
        Deadline versionDeadline = Deadline.after(Math.max(deadline.timeRemaining(TimeUnit.NANOSECONDS),
                ATTEMPT_TIMEOUT.toNanos()), TimeUnit.NANOSECONDS);
        try {
            StatusResponse status = start(new UnaryCall<>(MaintenanceGrpc.getStatusMethod(),
                    StatusRequest.getDefaultInstance(), true, versionDeadline, false)).join();
            return new ServerInfo(status.getVersion(), status.getLeader());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "Maintenance.Status refused (" + EtcdErrors.unwrap(e)
                    + "); reading the version from /version");
            long left = Math.max(versionDeadline.timeRemaining(TimeUnit.NANOSECONDS), 0);
            return new ServerInfo(ServerVersion.overHttp(endpoints, tls, Duration.ofNanos(left))
                    .orElse(ServerInfo.UNKNOWN), 0);
        }
    }

    /** A read of one key, count only: cheap, and refused only by the permission check. */
    private static final RangeRequest PROBE = RangeRequest.newBuilder()
            .setKey(com.google.protobuf.ByteString.copyFromUtf8("health")).setCountOnly(true).build();

    private EtcdUnavailableException unreachable(RuntimeException e, Duration timeout) {
        Throwable cause = EtcdErrors.unwrap(e);
        Status s = EtcdErrors.statusOf(cause.getCause() != null ? cause.getCause() : cause);
        String reason = s == null ? String.valueOf(cause) : describe(s);
        TransportSecurity.Diagnosis diagnosis = s == null ? null : TransportSecurity.diagnose(s, endpoints, tls);
        if (diagnosis != null && diagnosis.permanent()) {
            return new EtcdUnavailableException("the TLS handshake with etcd at " + endpoints + " failed: "
                    + diagnosis.hint() + " (error: " + reason + ")", false, cause);
        }
        return new EtcdUnavailableException("could not reach any etcd endpoint of " + endpoints + " within "
                + timeout.toMillis() + " ms (last error: " + reason + "); "
                + (diagnosis != null ? diagnosis.hint() : "check that etcd runs there and the endpoints are right"),
                false, cause);
    }

    /**
     * Runs {@code reopen} in the serial context once a stream that ended with {@code failure} may be opened again:
     * at once, or, when etcd refused the stream's token (a JWT token past its {@code ttl} or older than the last
     * user or role change, a simple token unused for {@code --auth-token-ttl}), after a new token was obtained, since a new stream carries the token of its
     * opening. Without that, a stream reopened with the old token is refused again, for good.
     */
    public void whenStreamMayReopen(Throwable failure, Runnable reopen) {
        if (credentials == null || EtcdErrors.kind(failure) != EtcdErrors.Kind.INVALID_AUTH_TOKEN) {
            reopen.run();
            return;
        }
        refreshToken().whenComplete((t, e) -> {
            if (e != null) {
                LOG.log(System.Logger.Level.WARNING, () -> "could not renew the auth token for a stream: " + e);
            }
            executor.execute(reopen); // after a failure too: the reopen's backoff paces the retries
        });
    }

    /** True when calls carry an auth token (the client was given credentials). */
    public boolean authenticates() {
        return credentials != null;
    }

    /**
     * Gets a new auth token (etcd's simple tokens expire after {@code --auth-token-ttl} of disuse, JWT tokens after
     * their {@code ttl}). Concurrent callers share one Authenticate call.
     */
    public CompletableFuture<String> refreshToken() {
        return authenticate(Deadline.after(requestTimeout.toNanos(), TimeUnit.NANOSECONDS));
    }

    private CompletableFuture<String> authenticate(Deadline deadline) {
        if (credentials == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("no credentials"));
        }
        while (true) {
            CompletableFuture<String> current = refreshing.get();
            if (current != null && !current.isDone()) {
                return current;
            }
            CompletableFuture<String> mine = new CompletableFuture<>();
            if (refreshing.compareAndSet(current, mine)) {
                start(new UnaryCall<>(AuthGrpc.getAuthenticateMethod(), AuthenticateRequest.newBuilder()
                        .setName(credentials.user()).setPassword(credentials.password()).build(), true, deadline,
                        true)).whenComplete((r, t) -> {
                            if (t != null) {
                                mine.completeExceptionally(t);
                            } else {
                                token.set(r.getToken());
                                mine.complete(r.getToken());
                            }
                        });
                return mine;
            }
        }
    }

    /** The status and the messages along its cause chain: the root cause is often the one that explains. */
    private static String describe(Status status) {
        StringBuilder b = new StringBuilder(status.getCode().toString());
        if (status.getDescription() != null) {
            b.append(" (").append(firstLine(status.getDescription())).append(')');
        }
        for (Throwable c = status.getCause(); c != null; c = c.getCause()) {
            b.append("; ").append(c.getClass().getSimpleName());
            if (c.getMessage() != null) {
                b.append(": ").append(firstLine(c.getMessage()));
            }
        }
        return b.toString();
    }

    private static String firstLine(String text) {
        int newline = text.indexOf('\n');
        String line = newline < 0 ? text : text.substring(0, newline);
        return line.length() > 200 ? line.substring(0, 200) + "..." : line;
    }

    /**
     * One unary call with the client's request timeout. {@code idempotent} calls (reads, keep-alives, revokes) are
     * retried after transport failures until the deadline; others only when etcd did not execute them.
     */
    public <Q, R> CompletableFuture<R> call(MethodDescriptor<Q, R> method, Q request, boolean idempotent) {
        return call(method, request, idempotent, requestTimeout);
    }

    public <Q, R> CompletableFuture<R> call(MethodDescriptor<Q, R> method, Q request, boolean idempotent,
            Duration timeout) {
        return start(new UnaryCall<>(method, request, idempotent,
                Deadline.after(timeout.toNanos(), TimeUnit.NANOSECONDS), false));
    }

    /**
     * An idempotent call's answer, and whether an earlier attempt of the same call may have been executed too (it
     * failed after it may have reached etcd, and was retried): a guarded delete that finds its key gone then cannot
     * tell its own first attempt from somebody else's delete.
     */
    public record Answer<R>(R response, boolean mayHaveRunBefore) {
    }

    /** As {@link #call(MethodDescriptor, Object, boolean)} for an idempotent call, telling of earlier attempts. */
    public <Q, R> CompletableFuture<Answer<R>> callTellingRetries(MethodDescriptor<Q, R> method, Q request) {
        UnaryCall<Q, R> call = new UnaryCall<>(method, request, true,
                Deadline.after(requestTimeout.toNanos(), TimeUnit.NANOSECONDS), false);
        return start(call).thenApply(r -> new Answer<>(r, call.mayHaveRunBefore));
    }

    private <Q, R> CompletableFuture<R> start(UnaryCall<Q, R> call) {
        live.add(call);
        call.result.whenComplete((r, t) -> live.remove(call));
        if (closed.get()) {
            call.result.completeExceptionally(EtcdErrors.closed(call.method.getBareMethodName()));
        } else {
            call.attempt();
        }
        return call.result;
    }

    /**
     * Opens a bidirectional stream whose messages and end are handled by {@code onMessage} and {@code onClosed} in
     * the serial context. Call from the serial context.
     */
    public <Q, R> ContextStream<Q> openStream(MethodDescriptor<Q, R> method, Consumer<R> onMessage,
            Consumer<Throwable> onClosed) {
        return ContextStream.open(this, method, onMessage, onClosed);
    }

    <Q, R> ClientCallStreamObserver<Q> startStream(MethodDescriptor<Q, R> method, StreamObserver<R> responses) {
        ClientCall<Q, R> call = channel.newCall(method, CallOptions.DEFAULT);
        return (ClientCallStreamObserver<Q>) ClientCalls.asyncBidiStreamingCall(call, responses);
    }

    /**
     * Stops the channel and fails every unfinished call with {@link dev.etcdlock.ClientClosedException}. Streams
     * end with a CANCELLED error. Idempotent.
     */
    public void close() {
        if (closed.compareAndSet(false, true)) {
            for (UnaryCall<?, ?> call : live) { // first, so they end as "closed", not as the cancels below
                call.result.completeExceptionally(EtcdErrors.closed(call.method.getBareMethodName()));
            }
            if (managedChannel != null) {
                managedChannel.shutdownNow();
            }
        }
    }

    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return managedChannel == null || managedChannel.awaitTermination(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** A unary call and its retries; its callbacks come on gRPC's Netty threads, one at a time. */
    private final class UnaryCall<Q, R> implements StreamObserver<R> {
        final CompletableFuture<R> result = new CompletableFuture<>();
        private final MethodDescriptor<Q, R> method;
        private final Q request;
        private final boolean idempotent;
        private final Deadline deadline;
        private Backoff backoff;
        private boolean refreshedToken;
        /** For the connect check: a refused certificate will be refused again, so retrying only delays. */
        private final boolean endOnPermanentTlsFailure;
        private R value;
        private volatile ClientCall<Q, R> current;

        private boolean shortAttempt;
        private int silentAttempts;
        /** An attempt failed in a way that leaves open whether etcd executed it, and the call went on. */
        private volatile boolean mayHaveRunBefore;

        UnaryCall(MethodDescriptor<Q, R> method, Q request, boolean idempotent, Deadline deadline,
                boolean endOnPermanentTlsFailure) {
            this.endOnPermanentTlsFailure = endOnPermanentTlsFailure;
            this.method = method;
            this.request = request;
            this.idempotent = idempotent;
            this.deadline = deadline;
            result.whenComplete((r, t) -> {
                ClientCall<Q, R> c = current;
                if (result.isCancelled() && c != null) {
                    c.cancel("cancelled by etcd-lock", null);
                }
            });
        }

        void attempt() {
            if (closed.get()) {
                result.completeExceptionally(EtcdErrors.closed(method.getBareMethodName()));
                return;
            }
            value = null;
            // A member that is frozen or cut off keeps its connection open and answers nothing until the deadline;
            // an idempotent call gives up on it early and is retried, and round_robin sends the retry elsewhere.
            // Only while another member may still answer: with one member, or once as many attempts went unanswered
            // as there are other members, the attempt gets the whole remaining deadline, so that a cluster slower
            // than the attempt timeout (slow disks, a distant region) is slow rather than unusable.
            shortAttempt = idempotent && !endOnPermanentTlsFailure && method != AuthGrpc.getAuthenticateMethod()
                    && silentAttempts < endpoints.size() - 1;
            Deadline attemptDeadline = shortAttempt
                    ? deadline.minimum(Deadline.after(ATTEMPT_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS)) : deadline;
            ClientCall<Q, R> call = channel.newCall(method, CallOptions.DEFAULT.withDeadline(attemptDeadline));
            current = call;
            ClientCalls.asyncUnaryCall(call, request, this);
        }

        @Override
        public void onNext(R v) {
            value = v;
        }

        @Override
        public void onCompleted() {
            result.complete(value);
        }

        @Override
        public void onError(Throwable t) {
            if (result.isDone()) {
                return;
            }
            if (closed.get()) {
                result.completeExceptionally(EtcdErrors.closed(method.getBareMethodName()));
                return;
            }
            if (credentials != null && !refreshedToken && EtcdErrors.kind(t) == EtcdErrors.Kind.INVALID_AUTH_TOKEN
                    && method != AuthGrpc.getAuthenticateMethod()) {
                refreshedToken = true; // etcd refused it before executing it: get a new token and send it again
                refreshToken().whenComplete((newToken, failure) -> {
                    if (failure != null) {
                        result.completeExceptionally(EtcdErrors.toException(failure, "authenticating as etcd user '"
                                + credentials.user() + "'", false));
                    } else {
                        attempt();
                    }
                });
                return;
            }
            if (shortAttempt && !deadline.isExpired()
                    && Status.fromThrowable(t).getCode() == Status.Code.DEADLINE_EXCEEDED) {
                silentAttempts++; // the attempt's own deadline, not the call's: a silent member
                abandonedAttempts.incrementAndGet();
                ClientCall<Q, R> c = current;
                members.bench(c == null ? null : c.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR), BENCH_TIME);
            }
            if (EtcdErrors.retryable(t, idempotent) && !(endOnPermanentTlsFailure && isPermanentTlsFailure(t))) {
                if (backoff == null) {
                    backoff = new Backoff(TimeUnit.MILLISECONDS.toNanos(20), TimeUnit.MILLISECONDS.toNanos(500));
                }
                long delay = backoff.nextDelayNanos();
                if (deadline.timeRemaining(TimeUnit.NANOSECONDS) > delay) {
                    if (EtcdErrors.kind(t) != EtcdErrors.Kind.NOT_EXECUTED) {
                        mayHaveRunBefore = true;
                    }
                    LOG.log(System.Logger.Level.DEBUG, () -> method.getBareMethodName() + " failed (" + t
                            + "), retrying");
                    executor.schedule(this::attempt, delay, TimeUnit.NANOSECONDS); // attempt() checks closed
                    return;
                }
            }
            boolean write = !idempotent;
            result.completeExceptionally(EtcdErrors.toException(t, "etcd " + method.getBareMethodName(), write));
        }
    }

    private boolean isPermanentTlsFailure(Throwable failure) {
        TransportSecurity.Diagnosis diagnosis = TransportSecurity.diagnose(Status.fromThrowable(failure), endpoints,
                tls);
        return diagnosis != null && diagnosis.permanent();
    }

    /** Adds {@code hasleader: true} to every call, and the auth token once there is one. */
    private final class Headers implements ClientInterceptor {
        @Override
        public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options,
                Channel next) {
            return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
                @Override
                public void start(Listener<R> listener, Metadata headers) {
                    headers.put(HAS_LEADER, "true");
                    String current = token.get();
                    // never on Authenticate itself: etcd would refuse it for the very token it is to replace
                    if (current != null && !method.getFullMethodName().equals(
                            AuthGrpc.getAuthenticateMethod().getFullMethodName())) {
                        headers.put(TOKEN, current);
                    }
                    super.start(listener, headers);
                }
            };
        }
    }
}
